"""The street network of an OpenStreetMap extract: osmnx's graph to cross-check OSRM, segments to draw maps on.

osmnx reads OSM XML, so the extract's drivable ways (and their nodes) are
first written to XML with pyosmium; osmnx then adds speeds (from ``maxspeed``
tags, else the mean of the road class) and travel times. Its shortest travel
times are a second, independent opinion on OSRM's durations (OSRM's car
profile also slows turns and traffic signals, so it should come out slower).

A road class with fewer than ``MIN_TAGGED`` edges carrying a speed limit gets
the speed of OSRM's car profile for that class instead: osmnx would give it
the mean of the other classes' tagged edges, and in an extract where two
service roads are tagged 10 km/h (Moscow's) every street then drives at 10.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from .osrm import OsrmError

DRIVABLE = {"motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential",
            "living_street", "service", "road", "motorway_link", "trunk_link", "primary_link",
            "secondary_link", "tertiary_link"}


# OSRM car profile's speed (km/h) per highway class (share/profiles/car.lua, ``speeds``).
CLASS_SPEEDS = {"motorway": 90, "motorway_link": 45, "trunk": 85, "trunk_link": 40, "primary": 65,
                "primary_link": 30, "secondary": 55, "secondary_link": 25, "tertiary": 40, "tertiary_link": 20,
                "unclassified": 25, "residential": 25, "living_street": 10, "service": 15, "road": 25}
MIN_TAGGED = 5  # tagged edges a class needs before osmnx's mean of its speed limits is trusted


def _drivable(tags) -> bool:
    return tags.get("highway") in DRIVABLE and tags.get("access") not in ("no", "private") \
        and tags.get("motor_vehicle") not in ("no", "private")


def road_segments(pbf: str | Path) -> np.ndarray:
    """Every drivable street as straight pieces ``[m, 4]`` (lon1, lat1, lon2, lat2), float32, for map backgrounds."""
    import osmium

    pieces = []
    for way in osmium.FileProcessor(str(pbf), osmium.osm.NODE | osmium.osm.WAY).with_locations():
        if isinstance(way, osmium.osm.Way) and _drivable(way.tags):
            nodes = [(n.lon, n.lat) for n in way.nodes if n.location.valid()]
            pieces += [(*a, *b) for a, b in zip(nodes, nodes[1:])]
    return np.array(pieces, dtype=np.float32).reshape(-1, 4)


def road_graph(pbf: str | Path):
    """osmnx's directed street graph of the extract's drivable ways, with ``speed_kph`` and ``travel_time`` (s)."""
    import osmium
    import osmnx as ox

    present = {n.id for n in osmium.FileProcessor(str(pbf), osmium.osm.NODE)
               if isinstance(n, osmium.osm.Node) and n.location.valid()}
    ways = []  # (way, its longest run of nodes inside the extract): clipped ways lose their outside ends
    for way in osmium.FileProcessor(str(pbf), osmium.osm.WAY):
        if isinstance(way, osmium.osm.Way) and _drivable(way.tags):
            runs, run = [], []
            for ref in (n.ref for n in way.nodes):
                if ref in present:
                    run.append(ref)
                else:
                    runs.append(run)
                    run = []
            run = max(runs + [run], key=len)
            if len(run) >= 2:
                ways.append((way.id, dict(way.tags), run))
    wanted_nodes = {ref for _, _, run in ways for ref in run}
    with tempfile.TemporaryDirectory(prefix="nco-osm-") as tmp:
        xml = Path(tmp) / "roads.osm"
        with osmium.SimpleWriter(str(xml)) as writer:
            for node in osmium.FileProcessor(str(pbf), osmium.osm.NODE):
                if node.id in wanted_nodes:
                    writer.add_node(node)
            for way_id, tags, run in ways:
                writer.add_way(osmium.osm.mutable.Way(id=way_id, nodes=run, tags=tags))
        if not wanted_nodes:
            raise OsrmError(f"{pbf}: no drivable roads in the extract")
        graph = ox.graph_from_xml(xml, bidirectional=False, simplify=True, retain_all=False)
    graph = ox.routing.add_edge_speeds(graph, hwy_speeds=_sparse_class_speeds(graph))
    return ox.routing.add_edge_travel_times(graph)


def _sparse_class_speeds(graph) -> dict[str, float]:
    """OSRM's class speed for each road class with fewer than ``MIN_TAGGED`` edges tagged ``maxspeed``."""
    tagged: dict[str, int] = {}
    for _, _, data in graph.edges(data=True):
        classes = data.get("highway")
        for cls in classes if isinstance(classes, list) else [classes]:
            tagged[cls] = tagged.get(cls, 0) + ("maxspeed" in data)
    return {cls: CLASS_SPEEDS.get(cls, 25) for cls, count in tagged.items() if count < MIN_TAGGED}


def cross_check(city, pbf: str | Path, pairs: int = 100, seed: int = 0) -> dict[str, float]:
    """OSRM durations of ``pairs`` random city pairs against osmnx's shortest travel times on the same extract.

    Returns the median and 10th/90th percentiles of OSRM / osmnx, the Pearson
    correlation of the two, and how many pairs osmnx could route.
    """
    import networkx as nx
    from scipy.spatial import cKDTree

    graph = road_graph(pbf)
    ids = np.array(list(graph.nodes))
    where = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in ids])
    # Nearest graph node on a local flat projection (degrees of longitude shrink by cos(latitude)).
    squash = np.array([np.cos(np.radians(where[:, 1].mean())), 1.0])
    _, nearest = cKDTree(where * squash).query(city.coords * squash)
    nodes = ids[nearest]
    rng = np.random.default_rng(seed)
    osrm, osm = [], []
    for _ in range(pairs):
        i, j = rng.choice(city.size, 2, replace=False)
        try:
            seconds = nx.shortest_path_length(graph, nodes[i], nodes[j], weight="travel_time")
        except nx.NetworkXNoPath:
            continue
        if seconds > 0:
            osrm.append(float(city.duration[i, j]))
            osm.append(float(seconds))
    if len(osm) < 2:
        raise OsrmError(f"{pbf}: osmnx routed {len(osm)} of {pairs} pairs; nothing to compare")
    ratio = np.array(osrm) / np.array(osm)
    return {"pairs": float(len(osm)), "asked": float(pairs), "median_ratio": float(np.median(ratio)),
            "p10_ratio": float(np.percentile(ratio, 10)), "p90_ratio": float(np.percentile(ratio, 90)),
            "correlation": float(np.corrcoef(osrm, osm)[0, 1])}
