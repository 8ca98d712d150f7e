"""Building a city file with OSRM from an OpenStreetMap extract (``nco data build-city``).

Points are chosen as RRNCO does: spread over the city (a grid over the road
network's extent, one road node per cell drawn at random), snapped to the
routable network by OSRM, and kept only when they reach and are reached from a
central hub, so every pair has a route (one strongly connected component).
The full distance and duration matrices are then queried from OSRM's /table
in blocks, and the file is written atomically (see :mod:`nco.data.cities`).
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from typing import Iterator

import numpy as np

from .atomic import atomic_path, check_destination
from .cities import ATTRIBUTION, City
from .errors import InstanceError
from .osrm import OsrmError, OsrmServer, check_port, prepare, version
from .roadgraph import road_segments

BLOCK = 100  # points per side of one /table query


def road_points(pbf: Path) -> np.ndarray:
    """(lon, lat) of every node on a way tagged ``highway`` in the extract (unique)."""
    import osmium

    points = []
    try:
        for obj in osmium.FileProcessor(str(pbf), osmium.osm.NODE | osmium.osm.WAY).with_locations():
            if isinstance(obj, osmium.osm.Way) and obj.tags.get("highway"):
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


def _remove_stale_work() -> None:
    """Delete the temporary folders of builds whose process is gone (killed with SIGKILL, which no clean-up
    survives); each folder is named after its build's process id."""
    for folder in Path(tempfile.gettempdir()).glob("nco-osrm-*-*"):
        pid = folder.name.split("-")[2]
        if not pid.isdigit() or Path(f"/proc/{pid}").exists() or not folder.is_dir():
            continue
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """Within the block, SIGTERM raises like Ctrl-C does, so that the server is stopped and the temporary
    folder removed (Python's default SIGTERM ends the process without running any clean-up)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
    check_destination(out, "--out")  # before minutes of OSRM work, not after
    if port is not None:
        check_port(port)
    rng = np.random.default_rng(seed)
    _remove_stale_work()
    with _terminate_cleanly(), tempfile.TemporaryDirectory(prefix=f"nco-osrm-{os.getpid()}-") as work:
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
