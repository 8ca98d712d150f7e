"""Real cities: distance and duration matrices built with OSRM from OpenStreetMap, and instances sampled from them.

A city file (``.npz``) holds ``coords`` (lon, lat), ``distance`` (metres) and
``duration`` (seconds) between every ordered pair of its points (asymmetric:
one-way streets, turn restrictions), and ``metadata`` (JSON: OSRM version,
profile, source extract and its sha256, date, attribution). Monaco and
Helsinki ship with the package, so loading them needs no OSRM.

Points are chosen as RRNCO does: spread over the city (a grid over the road
network's extent, one road node per cell drawn at random), snapped to the
routable network by OSRM, and kept only when they reach and are reached from a
central hub, so every pair has a route (one strongly connected component).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .errors import InstanceError
from .generate import NumpySampler, take
from .osrm import OsrmError, OsrmServer, prepare, version
from .problems import DEFAULT_PROBLEM, get_problem
from .roadgraph import road_segments

BUNDLED_DIR = Path(__file__).resolve().parent / "cities"
ATTRIBUTION = "Map data © OpenStreetMap contributors, ODbL 1.0 (https://www.openstreetmap.org/copyright)"
OBJECTIVES = ("distance", "duration")
BLOCK = 100  # points per side of one /table query


def bundled_cities() -> list[str]:
    """Names of the cities shipped with the package."""
    return sorted(p.stem for p in BUNDLED_DIR.glob("*.npz"))


@dataclass(frozen=True)
class City:
    """Points of a real road network and the travel distance and duration between every ordered pair."""

    name: str
    coords: np.ndarray  # [n, 2] lon, lat
    distance: np.ndarray  # [n, n] metres
    duration: np.ndarray  # [n, n] seconds
    metadata: dict = field(default_factory=dict)
    roads: np.ndarray | None = None  # [m, 4] drivable street pieces (lon1, lat1, lon2, lat2), for maps

    @property
    def size(self) -> int:
        """Number of points."""
        return int(self.coords.shape[0])

    def sample(self, num_nodes: int, problem: str = DEFAULT_PROBLEM, objective: str = "distance",
               batch: int | None = None,
               seed: int = 0, capacity: int | None = None):
        """Asymmetric instance(s) of ``problem`` on random points: ``num_nodes`` cities, or a depot and
        ``num_nodes`` customers.

        ``objective`` picks the matrix (distance in metres or duration in
        seconds). What the problem adds to the points (CVRP: demands 1..9 and
        the Kool capacity for that many customers unless given) is drawn by
        its own generator. One instance, or a list of ``batch``.
        """
        spec = get_problem(problem)
        if objective not in OBJECTIVES:
            raise InstanceError(f"expected one of {', '.join(OBJECTIVES)}, got {objective!r}", field="objective")
        nodes = num_nodes + spec.depot
        if num_nodes < 2 or nodes > self.size:
            raise InstanceError(f"expected 2 to {self.size - spec.depot} nodes for {self.name} "
                                f"({self.size} points), got {num_nodes}", field="num_nodes")
        matrix = self.distance if objective == "distance" else self.duration
        rng = np.random.default_rng(seed)
        out = []
        for k in range(batch or 1):
            pick = rng.choice(self.size, nodes, replace=False)
            dist = matrix[np.ix_(pick, pick)].astype(np.float64)
            extra = take(spec.data.features(NumpySampler(rng), 1, num_nodes, capacity=capacity), 0)
            name = f"{self.name}-{problem}{num_nodes}-{objective}-{seed}-{k}"
            out.append(spec.data.instance_from(dist, self.coords[pick], extra, name))
        return out if batch is not None else out[0]


def load_city(name_or_path: str | Path) -> City:
    """A bundled city by name (see :func:`bundled_cities`), a city ``.npz`` written by :func:`build_city`, or
    an RRNCO file.

    RRNCO's per-city files (``{City}/{City}_data.npz`` of their dataset) hold
    ``points`` as (lat, lon), ``distance`` in km and ``duration`` in minutes;
    they are converted to this module's (lon, lat), metres and seconds.
    """
    path = Path(name_or_path)
    if not path.suffix and (BUNDLED_DIR / f"{path.name}.npz").exists():
        path = BUNDLED_DIR / f"{path.name}.npz"
    if not path.is_file():
        raise InstanceError(f"no such city: expected one of {', '.join(bundled_cities())} or a .npz file "
                            "written by `nco data build-city`", path=name_or_path)
    try:
        with np.load(path, allow_pickle=False) as data:
            if "points" in data and "coords" not in data:
                arrays = _from_rrnco(data, path)
            else:
                arrays = {key: data[key] for key in ("coords", "distance", "duration", "metadata")}
                arrays["roads"] = data["roads"] if "roads" in data else None
    except KeyError as exc:
        raise InstanceError(f"missing array {exc}", path=path) from None
    except (OSError, ValueError) as exc:
        raise InstanceError(f"not a city file ({exc})", path=path) from None
    n = arrays["coords"].shape[0]
    if arrays["coords"].shape != (n, 2):
        raise InstanceError(f"expected shape (n, 2), got {arrays['coords'].shape}", field="coords", path=path)
    for key in ("distance", "duration"):
        matrix = arrays[key]
        if matrix.shape != (n, n):
            raise InstanceError(f"expected shape ({n}, {n}), got {matrix.shape}", field=key, path=path)
        if not np.all(np.isfinite(matrix)) or np.any(matrix < 0):
            raise InstanceError("expected finite, non-negative entries", field=key, path=path)
    metadata = json.loads(str(arrays["metadata"]))
    return City(metadata.get("name", path.stem), arrays["coords"].astype(np.float64), arrays["distance"],
                arrays["duration"], metadata, arrays.get("roads"))


def _from_rrnco(data, path: Path) -> dict[str, np.ndarray]:
    """RRNCO's arrays in this module's layout and units."""
    points = data["points"]
    name = path.stem.removesuffix("_data")
    metadata = {"name": name, "source": path.name, "format": "RRNCO (points lat/lon, km, minutes)",
                "units": {"distance": "m", "duration": "s"}, "attribution": ATTRIBUTION}
    return {"coords": points[:, ::-1] if points.ndim == 2 else points,
            "distance": (data["distance"] * 1000.0).astype(np.float32),
            "duration": (data["duration"] * 60.0).astype(np.float32),
            "metadata": np.array(json.dumps(metadata))}


# ----------------------------------------------------------------------------- building


def road_points(pbf: Path) -> np.ndarray:
    """(lon, lat) of every node on a way tagged ``highway`` in the extract (unique)."""
    import osmium

    points = []
    try:
        for obj in osmium.FileProcessor(str(pbf), osmium.osm.NODE | osmium.osm.WAY).with_locations():
            if obj.is_way() and obj.tags.get("highway"):
                points += [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
    except RuntimeError as exc:
        raise OsrmError(f"{pbf}: cannot read the extract ({exc})") from None
    if not points:
        raise OsrmError(f"{pbf}: no roads in the extract")
    return np.unique(np.array(points), axis=0)


def spread_sample(points: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` of ``points`` spread over their extent: grid cells drawn in random order, one point from each."""
    side = int(np.ceil(np.sqrt(2 * count)))
    low, high = points.min(0), points.max(0)
    cell = np.floor((points - low) / np.maximum(high - low, 1e-12) * (side - 1e-9)).astype(np.int64)
    keys = cell[:, 0] * side + cell[:, 1]
    members = {k: np.flatnonzero(keys == k) for k in np.unique(keys)}
    chosen: list[int] = []
    taken = set()
    while len(chosen) < min(count, len(points)):
        for k in rng.permutation(list(members)):
            free = [i for i in members[k] if i not in taken]
            if free:
                i = int(rng.choice(free))
                taken.add(i)
                chosen.append(i)
                if len(chosen) == count:
                    break
    return points[chosen]


def _snap(server: OsrmServer, points: np.ndarray) -> np.ndarray:
    """The points moved onto the routable network; of points that land within about a metre, one is kept."""
    snapped = server.snap(points)
    _, first = np.unique(np.round(snapped, 5), axis=0, return_index=True)
    return snapped[np.sort(first)]


def _connected(server: OsrmServer, points: np.ndarray) -> np.ndarray:
    """The points that reach, and are reached from, the one nearest the centre."""
    hub = int(np.argmin(((points - np.median(points, 0)) ** 2).sum(1)))
    keep = np.ones(len(points), dtype=bool)
    for start in range(0, len(points), BLOCK):
        chunk = np.arange(start, min(start + BLOCK, len(points)))
        there, _ = server.table(points, np.array([hub]), chunk)
        back, _ = server.table(points, chunk, np.array([hub]))
        keep[chunk] = np.isfinite(there[0]) & np.isfinite(back[:, 0])
    return points[keep]


def _matrices(server: OsrmServer, points: np.ndarray, progress: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The points OSRM routes between (a few may be dropped, see below), and their distance and duration matrices."""
    from rich.progress import Progress

    n = len(points)
    distance = np.full((n, n), np.nan)
    duration = np.full((n, n), np.nan)
    blocks = [(a, b) for a in range(0, n, BLOCK) for b in range(0, n, BLOCK)]
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("OSRM /table", total=len(blocks))
        for a, b in blocks:
            rows = np.arange(a, min(a + BLOCK, n))
            cols = np.arange(b, min(b + BLOCK, n))
            dist, dur = server.table(points, rows, cols)
            distance[np.ix_(rows, cols)] = dist
            duration[np.ix_(rows, cols)] = dur
            bar.advance(task)
    # OSRM's /table (MLD) answers 0, or even -0.1 m, between two points on one road segment; /route
    # gets those right, so they are asked again, as are pairs without a route. Where /route fails
    # too, one point of each such pair is dropped, the one in most such pairs first.
    off = ~np.eye(n, dtype=bool)
    failed = np.zeros((n, n), dtype=bool)
    for i, j in np.argwhere(~((distance > 0) & (duration > 0)) & off):
        try:
            distance[i, j], duration[i, j] = server.route(points[i], points[j])
        except OsrmError:
            pass
        failed[i, j] = not (distance[i, j] > 0 and duration[i, j] > 0)
    keep = np.ones(n, dtype=bool)
    while failed[np.ix_(keep, keep)].any():
        counts = (failed & keep[None, :]).sum(1) + (failed & keep[:, None]).sum(0)
        keep[np.argmax(np.where(keep, counts, -1))] = False
    points, distance, duration = points[keep], distance[np.ix_(keep, keep)], duration[np.ix_(keep, keep)]
    off = ~np.eye(len(points), dtype=bool)
    if not (np.all(distance[off] > 0) and np.all(duration[off] > 0)):
        raise OsrmError("OSRM left pairs of distinct points without a positive travel cost; nothing written")
    np.fill_diagonal(distance, 0.0)
    np.fill_diagonal(duration, 0.0)
    return points, distance, duration


def build_city(pbf: str | Path, name: str, points: int, out: str | Path, profile: str = "car", seed: int = 0,
               port: int | None = None, progress: bool = True) -> City:
    """Build a city file from an OpenStreetMap extract with OSRM (see the module docstring); return the city.

    Runs extract, partition and customize in a temporary folder, serves the
    result on 127.0.0.1 (a free port unless ``port``), picks ``points``
    locations, queries the full distance and duration matrices in blocks and
    writes ``out`` atomically. The server is stopped whatever happens.
    """
    pbf = Path(pbf)
    if points < 2:
        raise InstanceError(f"expected at least 2 points, got {points}", field="points")
    if not pbf.is_file():
        raise OsrmError(f"{pbf}: no such file")
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory(prefix="nco-osrm-") as work:
        base = prepare(pbf, profile, Path(work))
        roads = road_points(pbf)
        with OsrmServer(base, port=port, profile=profile, max_table=2 * BLOCK) as server:
            chosen = np.zeros((0, 2))
            for attempt in range(6):
                wanted = int((points * 1.2 - len(chosen)) * 1.3) + 10
                fresh = _connected(server, _snap(server, spread_sample(roads, wanted, rng)))
                merged = np.concatenate([chosen, fresh])
                _, first = np.unique(np.round(merged, 5), axis=0, return_index=True)
                chosen = merged[np.sort(first)]
                if len(chosen) >= points * 1.2:
                    break
            if len(chosen) < points:
                raise OsrmError(f"{pbf}: only {len(chosen)} distinct connected road points, {points} asked")
            spare = min(len(chosen), points + points // 5 + 5)  # room for points OSRM cannot route
            chosen = chosen[rng.permutation(len(chosen))[:spare]]
            chosen, distance, duration = _matrices(server, chosen, progress)
            if len(chosen) < points:
                raise OsrmError(f"{pbf}: only {len(chosen)} road points with routes between all of them, "
                                f"{points} asked")
            chosen = chosen[:points]
            distance, duration = distance[:points, :points], duration[:points, :points]
    metadata = {
        "name": name, "points": points, "profile": profile, "seed": seed, "osrm": version(),
        "source": pbf.name, "source_sha256": hashlib.sha256(pbf.read_bytes()).hexdigest(),
        "created": datetime.date.today().isoformat(), "units": {"distance": "m", "duration": "s"},
        "attribution": ATTRIBUTION,
    }
    roads = road_segments(pbf)
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, coords=chosen, distance=distance.astype(np.float32),
                            duration=duration.astype(np.float32), metadata=np.array(json.dumps(metadata)),
                            roads=roads)
    return City(name, chosen, distance.astype(np.float32), duration.astype(np.float32), metadata, roads)
