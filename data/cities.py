"""Real cities: the :class:`City` model, its file and its loader, and instances sampled from it.

A city file (``.npz``) holds ``coords`` (lon, lat), ``distance`` (metres) and
``duration`` (seconds) between every ordered pair of its points (asymmetric:
one-way streets, turn restrictions), and ``metadata`` (JSON: OSRM version,
profile, source extract and its sha256, date, attribution). Monaco and
Helsinki ship with the package, so loading them needs no OSRM; building one
is :mod:`nco.data.city_build`.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import InstanceError
from .generate import NumpySampler, take
from .problems import DEFAULT_PROBLEM, get_problem

BUNDLED_DIR = Path(__file__).resolve().parent / "cities"
ATTRIBUTION = "Map data © OpenStreetMap contributors, ODbL 1.0 (https://www.openstreetmap.org/copyright)"
OBJECTIVES = ("distance", "duration")


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
                if "roads" in data:
                    arrays["roads"] = data["roads"]
    except KeyError as exc:
        raise InstanceError(f"missing array {exc}", path=path) from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
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
    try:
        metadata = json.loads(str(arrays["metadata"]))
    except ValueError:
        metadata = None
    if not isinstance(metadata, dict):
        raise InstanceError("expected a JSON object (name, source, OSRM version, ...)", field="metadata", path=path)
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
