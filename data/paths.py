"""Networks for path selection: a directed graph with capacities, weights and delays, and its traffic.

A :class:`Network` holds directed edges ``src -> dst`` with a capacity
(> 0), an IGP weight (> 0: what shortest paths and ECMP follow) and a
propagation delay in seconds (>= 0). A :class:`PathsInstance` adds one or
more traffic matrices ``[T, V, V]`` (volume from node i to node j, in the
capacities' unit) over time. Readers for the shared real topologies:

- REPETITA ``.graph`` / ``.demands`` (:func:`read_repetita`): directed
  edges with weight, bandwidth (Kbps) and delay (microseconds);
- SNDlib network XML and demand-matrix XMLs (:func:`read_sndlib`): its links
  are undirected, so each becomes two directed edges with the link's
  capacity each way (the traffic-engineering reading); the capacity is the
  pre-installed module's, or, where the file has none (GEANT), the largest
  module on offer when asked (``capacity="largest-module"``);
- Topology Zoo GraphML (:func:`read_graphml`): ``LinkSpeedRaw`` (bit/s) as
  the capacity, delays from the great-circle distance at 2/3 the speed of
  light (the files have none).

:func:`gravity` draws a gravity traffic matrix for any network (each node's
weight its outgoing capacity). Bad input is one :class:`InstanceError` that
names the file and the field.
"""

from __future__ import annotations

import functools
import itertools
import math
import tarfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .errors import InstanceError

NETWORKS = True  # traffic is routed over networks (training may draw it on given topologies)
WEIGHTS = ("hop", "weight", "inverse-capacity", "delay")
DISTRIBUTIONS = ("gravity", "uniform")
Paths = list[list[np.ndarray]]  # per demand, its candidate paths as arrays of edge indices
LIGHT_IN_FIBRE = 2e8  # m/s, 2/3 of c: the delay of a kilometre of fibre is 5 microseconds
EARTH_RADIUS = 6_371_000.0  # m


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, copy=True)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class Network:
    """A directed network: node labels, and per edge its ends, capacity, weight and delay (see the module)."""

    nodes: tuple[str, ...]
    src: np.ndarray  # [E] int
    dst: np.ndarray  # [E] int
    capacity: np.ndarray  # [E] > 0
    weight: np.ndarray  # [E] > 0
    delay: np.ndarray  # [E] seconds >= 0
    coords: np.ndarray | None = None  # [V, 2] longitude, latitude (or the file's x, y)
    name: str = "network"
    path: str | None = None

    def __post_init__(self) -> None:
        v = len(self.nodes)
        if v < 2:
            raise InstanceError(f"expected at least 2 nodes, got {v}", field="nodes", path=self.path)
        src, dst = (np.asarray(a, dtype=np.int64) for a in (self.src, self.dst))
        if src.shape != dst.shape or src.ndim != 1 or src.size == 0:
            raise InstanceError("expected one source and one destination per edge (at least one edge)",
                                field="edges", path=self.path)
        bad = np.flatnonzero((src < 0) | (src >= v) | (dst < 0) | (dst >= v) | (src == dst))
        if bad.size:
            raise InstanceError(f"edge {bad[0]} joins {src[bad[0]]} to {dst[bad[0]]}: expected two different "
                                f"nodes of 0..{v - 1}", field="edges", path=self.path)
        object.__setattr__(self, "src", _frozen(src))
        object.__setattr__(self, "dst", _frozen(dst))
        for name, positive in (("capacity", True), ("weight", True), ("delay", False)):
            values = np.asarray(getattr(self, name), dtype=np.float64)
            if values.shape != src.shape:
                raise InstanceError(f"expected one value per edge ({src.size}), got shape {values.shape}",
                                    field=name, path=self.path)
            wrong = np.flatnonzero(~np.isfinite(values) | ((values <= 0) if positive else (values < 0)))
            if wrong.size:
                e = int(wrong[0])
                raise InstanceError(f"edge {e} ({self.nodes[src[e]]} -> {self.nodes[dst[e]]}) has {name} "
                                    f"{values[e]}; expected a finite number {'> 0' if positive else '>= 0'}",
                                    field=name, path=self.path)
            object.__setattr__(self, name, _frozen(values))
        if self.coords is not None:
            object.__setattr__(self, "coords", _frozen(np.asarray(self.coords, dtype=np.float64)))

    @property
    def num_nodes(self) -> int:
        """Nodes V."""
        return len(self.nodes)

    @property
    def num_edges(self) -> int:
        """Directed edges E."""
        return int(self.src.size)

    def graph(self) -> Any:
        """The network as a ``networkx.MultiDiGraph``; edge ``key`` is the edge's index here."""
        import networkx as nx

        g = nx.MultiDiGraph()
        g.add_nodes_from(range(self.num_nodes))
        for e in range(self.num_edges):
            g.add_edge(int(self.src[e]), int(self.dst[e]), key=e, capacity=float(self.capacity[e]),
                       weight=float(self.weight[e]), delay=float(self.delay[e]))
        return g


@dataclass(frozen=True, eq=False)
class PathsInstance:
    """A network and its traffic: ``traffic [T, V, V]``, one matrix per time step (volume i -> j)."""

    network: Network
    traffic: np.ndarray
    name: str = ""
    path: str | None = None
    problem: str = field(default="paths", init=False)

    def __post_init__(self) -> None:
        v = self.network.num_nodes
        traffic = np.asarray(self.traffic, dtype=np.float64)
        if traffic.ndim == 2:
            traffic = traffic[None]
        if traffic.ndim != 3 or traffic.shape[1:] != (v, v) or traffic.shape[0] < 1:
            raise InstanceError(f"expected traffic matrices of shape [T, {v}, {v}], got {np.shape(self.traffic)}",
                                field="traffic", path=self.path)
        if not np.isfinite(traffic).all() or (traffic < 0).any():
            raise InstanceError("expected finite volumes >= 0", field="traffic", path=self.path)
        traffic = traffic.copy()
        traffic[:, np.arange(v), np.arange(v)] = 0.0  # a node's traffic to itself crosses no link
        object.__setattr__(self, "traffic", _frozen(traffic))
        object.__setattr__(self, "name", self.name or self.network.name)
        self._check_reachable()

    @property
    def num_matrices(self) -> int:
        """Traffic matrices T."""
        return int(self.traffic.shape[0])

    @property
    def size(self) -> int:
        """Nodes of the network (the number the problem is named by)."""
        return self.network.num_nodes

    def demands(self, t: int | None = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The demands of matrix ``t``: sources, destinations and volumes of its positive entries (``t`` None:
        of every pair with traffic in some matrix, with its total volume)."""
        table = self.traffic.sum(0) if t is None else self.traffic[t]
        s, d = np.nonzero(table)
        return s, d, table[s, d]

    def _check_reachable(self) -> None:
        """Every pair with traffic in some matrix has a directed path."""
        import networkx as nx

        wanted = np.argwhere(self.traffic.sum(0) > 0)
        if not wanted.size:
            return
        g = nx.DiGraph()
        g.add_nodes_from(range(self.network.num_nodes))
        g.add_edges_from(zip(self.network.src.tolist(), self.network.dst.tolist()))
        reach = {s: nx.descendants(g, s) for s in np.unique(wanted[:, 0]).tolist()}
        for s, d in wanted.tolist():
            if d not in reach[s]:
                nodes = self.network.nodes
                raise InstanceError(f"a demand from {nodes[s]} to {nodes[d]}, which no path joins",
                                    field="traffic", path=self.path)


# -- REPETITA ---------------------------------------------------------------------------------------
def _sections(text: str, path: str) -> dict[str, list[list[str]]]:
    """REPETITA's ``NAME count`` sections: the rows after each one's header line."""
    out: dict[str, list[list[str]]] = {}
    lines = [ln.split() for ln in text.splitlines()]
    k = 0
    while k < len(lines):
        head = lines[k]
        if len(head) == 2 and head[0].isupper() and head[1].isdigit():
            count = int(head[1])
            rows = lines[k + 2:k + 2 + count]
            if len(rows) != count or any(not r for r in rows):
                raise InstanceError(f"expected {count} rows after '{head[0]} {count}'", field=head[0], path=path)
            out[head[0]] = rows
            k += 2 + count
        else:
            k += 1
    return out


def _numbers(rows: list[list[str]], columns: slice, section: str, path: str) -> np.ndarray:
    try:
        return np.array([[float(x) for x in r[columns]] for r in rows])
    except (ValueError, IndexError):
        raise InstanceError("expected numbers in every row", field=section, path=path) from None


def _read_text(path: str | Path) -> str:
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InstanceError(f"cannot read the file ({exc})", path=str(path)) from None


def read_repetita(graph: str | Path, demands: str | Path | None = None) -> PathsInstance:
    """A REPETITA graph (``NODES`` with labels and x y, ``EDGES`` with src dest weight bw delay; bw in Kbps,
    delay in microseconds) and its ``.demands`` (src dest bw); ``demands`` may also be a ``.tar.gz`` holding
    ``<graph stem>.0000.demands``, or None for no traffic. Capacities and volumes are in Kbps."""
    text = _read_text(graph)
    parts = _sections(text, str(graph))
    for section in ("NODES", "EDGES"):
        if section not in parts:
            raise InstanceError("missing section", field=section, path=str(graph))
    nodes = tuple(r[0] for r in parts["NODES"])
    xy = _numbers(parts["NODES"], slice(1, 3), "NODES", str(graph))
    edges = _numbers(parts["EDGES"], slice(1, 6), "EDGES", str(graph))
    edges = edges[edges[:, 0] != edges[:, 1]]  # a self-loop carries no traffic between nodes (Interoute has one)
    network = Network(nodes, edges[:, 0].astype(np.int64), edges[:, 1].astype(np.int64), capacity=edges[:, 3],
                      weight=edges[:, 2], delay=edges[:, 4] * 1e-6, coords=xy, name=Path(graph).stem,
                      path=str(graph))
    traffic = np.zeros((network.num_nodes,) * 2)
    if demands is not None:
        body = _demand_text(demands, Path(graph).stem)
        rows = _sections(body, str(demands)).get("DEMANDS")
        if rows is None:
            raise InstanceError("missing section", field="DEMANDS", path=str(demands))
        values = _numbers(rows, slice(1, 4), "DEMANDS", str(demands))
        s, d = values[:, 0].astype(np.int64), values[:, 1].astype(np.int64)
        bad = np.flatnonzero((s < 0) | (s >= network.num_nodes) | (d < 0) | (d >= network.num_nodes))
        if bad.size:
            raise InstanceError(f"demand {bad[0]} names node {max(s[bad[0]], d[bad[0]])}, not one of "
                                f"0..{network.num_nodes - 1}", field="DEMANDS", path=str(demands))
        np.add.at(traffic, (s, d), values[:, 2])
    return PathsInstance(network, traffic, path=str(graph))


def _demand_text(demands: str | Path, stem: str) -> str:
    """A ``.demands`` file's text, or that of ``<stem>.0000.demands`` inside a ``.tar.gz``."""
    if not str(demands).endswith(".tar.gz"):
        return _read_text(demands)
    try:
        with tarfile.open(demands) as archive:
            member = next((m for m in archive.getmembers() if Path(m.name).name.startswith(stem + ".")), None)
            if member is None:
                raise InstanceError(f"no demands for {stem} in the archive", field="DEMANDS", path=str(demands))
            handle = archive.extractfile(member)
            assert handle is not None  # a regular file
            return handle.read().decode()
    except (OSError, tarfile.TarError) as exc:
        raise InstanceError(f"cannot read the archive ({exc})", path=str(demands)) from None


# -- SNDlib -----------------------------------------------------------------------------------------
CAPACITIES = ("installed", "largest-module")


def _xml(path: str | Path) -> ET.Element:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise InstanceError(f"not a readable SNDlib XML file ({exc})", path=str(path)) from None
    for element in root.iter():  # drop the namespace: {http://sndlib.zib.de/network}node -> node
        element.tag = element.tag.rsplit("}", 1)[-1]
    return root


def _float(element: ET.Element | None, field_name: str, path: str) -> float:
    try:
        return float((element.text if element is not None else "") or "")
    except ValueError:
        raise InstanceError("expected a number", field=field_name, path=path) from None


def read_sndlib(network: str | Path, matrices: Sequence[str | Path] = (), capacity: str = "installed",
                include_network_demands: bool | None = None) -> PathsInstance:
    """An SNDlib network XML with one traffic matrix per file of ``matrices`` (SNDlib demand-matrix XMLs), or,
    without them, the network file's own demands (``include_network_demands`` says otherwise). Each link is two
    directed edges of its capacity (``installed``: the pre-installed module's; ``largest-module``: the largest
    module on offer, for files without installed capacities); weights 1 (hops), delays from the coordinates
    when they are geographical."""
    if capacity not in CAPACITIES:
        raise InstanceError(f"expected one of {', '.join(CAPACITIES)}, got {capacity!r}", field="capacity")
    where = str(network)
    root = _xml(network)
    nodes_el = root.find(".//nodes")
    if nodes_el is None:
        raise InstanceError("missing <nodes>", field="nodes", path=where)
    labels = [n.get("id", "") for n in nodes_el.findall("node")]
    index = {label: k for k, label in enumerate(labels)}
    coords = np.array([[_float(n.find("coordinates/x"), "x", where), _float(n.find("coordinates/y"), "y", where)]
                       for n in nodes_el.findall("node")])
    src, dst, caps = [], [], []
    for link in root.findall(".//links/link"):
        ends = [(link.findtext(tag) or "").strip() for tag in ("source", "target")]
        unknown = [e for e in ends if e not in index]
        if unknown:
            raise InstanceError(f"link {link.get('id')} names unknown node {unknown[0]!r}", field="links", path=where)
        installed = link.find("preInstalledModule/capacity")
        if capacity == "installed":
            if installed is None:
                raise InstanceError(f"link {link.get('id')} has no pre-installed capacity; read with "
                                    "capacity='largest-module' to take the largest module on offer",
                                    field="capacity", path=where)
            value = _float(installed, "capacity", where)
        else:
            options = [_float(m, "capacity", where) for m in link.findall(".//capacity")]
            if not options:
                raise InstanceError(f"link {link.get('id')} has no module capacities", field="capacity", path=where)
            value = max(options)
        a, b = index[ends[0]], index[ends[1]]
        src += [a, b]
        dst += [b, a]
        caps += [value, value]
    geographic = nodes_el.get("coordinatesType") == "geographical"
    delay = _great_circle(coords, np.array(src), np.array(dst)) / LIGHT_IN_FIBRE if geographic else np.zeros(len(src))
    net = Network(tuple(labels), np.array(src), np.array(dst), np.array(caps), np.ones(len(src)), delay, coords,
                  Path(network).stem, where)
    own = not matrices if include_network_demands is None else include_network_demands
    tables = ([_sndlib_demands(root, index, where)] if own else []) + [
        _sndlib_demands(_xml(m), index, str(m)) for m in matrices]
    if not tables:
        tables = [np.zeros((len(labels), len(labels)))]
    return PathsInstance(net, np.stack(tables), path=where)


def _sndlib_demands(root: ET.Element, index: dict[str, int], path: str) -> np.ndarray:
    """The ``<demands>`` of an SNDlib XML as a matrix over ``index``'s nodes."""
    table = np.zeros((len(index), len(index)))
    for demand in root.findall(".//demands/demand"):
        ends = [(demand.findtext(tag) or "").strip() for tag in ("source", "target")]
        unknown = [e for e in ends if e not in index]
        if unknown:
            raise InstanceError(f"demand {demand.get('id')} names unknown node {unknown[0]!r}", field="demands",
                                path=path)
        table[index[ends[0]], index[ends[1]]] += _float(demand.find("demandValue"), "demandValue", path)
    return table


# -- Topology Zoo -----------------------------------------------------------------------------------
def read_graphml(path: str | Path, default_capacity: float | None = None) -> PathsInstance:
    """A Topology Zoo GraphML file (undirected: each edge becomes two directed ones) without traffic (draw some
    with :func:`gravity`): ``LinkSpeedRaw`` (bit/s) as the capacity, ``default_capacity`` where an edge has none
    (else an error naming the edge), weights 1, delays from the great-circle distance of the nodes'
    Latitude/Longitude (0 where a node has none)."""
    import networkx as nx

    where = str(path)
    try:
        g = nx.read_graphml(path)
    except (OSError, nx.NetworkXError, ET.ParseError, ValueError) as exc:
        raise InstanceError(f"not a readable GraphML file ({exc})", path=where) from None
    labels = [str(n) for n in g.nodes]
    index = {n: k for k, n in enumerate(g.nodes)}
    coords = np.array([[float(g.nodes[n].get("Longitude", math.nan)), float(g.nodes[n].get("Latitude", math.nan))]
                       for n in g.nodes])
    src, dst, caps = [], [], []
    for a, b, data in g.edges(data=True):
        if a == b:
            continue  # a self-loop carries no traffic between nodes
        raw = data.get("LinkSpeedRaw", default_capacity)
        if raw is None:
            raise InstanceError(f"edge {a} - {b} has no LinkSpeedRaw; give a default capacity (default_capacity, "
                                "nco solve-network --default-capacity)", field="LinkSpeedRaw", path=where)
        src += [index[a], index[b]]
        dst += [index[b], index[a]]
        caps += [float(raw)] * 2
    delay = np.nan_to_num(_great_circle(coords, np.array(src), np.array(dst)) / LIGHT_IN_FIBRE)
    names = [str(g.nodes[n].get("label", n)) for n in g.nodes]
    net = Network(tuple(names), np.array(src), np.array(dst), np.array(caps), np.ones(len(src)), delay,
                  coords, Path(path).stem, where)
    return PathsInstance(net, np.zeros((len(labels),) * 2), path=where)


def _great_circle(lonlat: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Metres between the ends of each edge (haversine on a sphere)."""
    lon, lat = np.radians(lonlat[:, 0]), np.radians(lonlat[:, 1])
    dlat, dlon = lat[dst] - lat[src], lon[dst] - lon[src]
    h = np.sin(dlat / 2) ** 2 + np.cos(lat[src]) * np.cos(lat[dst]) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def read_network(path: str | Path, traffic: Sequence[str | Path] = (), **options: Any) -> PathsInstance:
    """A network file of any of the readers' formats, by its suffix (``.graph``, ``.xml``, ``.graphml``), with
    its ``traffic`` files (REPETITA: one ``.demands`` or ``.tar.gz``; SNDlib: demand-matrix XMLs)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".graph":
        if len(traffic) > 1:
            raise InstanceError("a REPETITA graph takes one demands file", field="traffic", path=str(path))
        return read_repetita(path, traffic[0] if traffic else None)
    if suffix == ".xml":
        return read_sndlib(path, traffic, **options)
    if suffix == ".graphml":
        return read_graphml(path, **options)
    raise InstanceError(f"unknown network file type {suffix!r}; expected .graph (REPETITA), .xml (SNDlib) or "
                        ".graphml (Topology Zoo)", path=str(path))


def gravity(network: Network, total: float | None = None, rng: np.random.Generator | None = None,
            noise: float = 0.0) -> np.ndarray:
    """A gravity traffic matrix ``[V, V]``: volume i -> j proportional to the outgoing capacity of i times the
    incoming capacity of j (times a log-normal factor of spread ``noise`` when given), scaled to ``total`` (by
    default, a tenth of the total capacity)."""
    v = network.num_nodes
    out = np.bincount(network.src, network.capacity, v)
    into = np.bincount(network.dst, network.capacity, v)
    table: np.ndarray = np.outer(out, into).astype(np.float64)
    if noise:
        table = table * (rng or np.random.default_rng()).lognormal(0.0, noise, (v, v))
    np.fill_diagonal(table, 0.0)
    scale = (0.1 * network.capacity.sum() if total is None else total) / max(table.sum(), 1e-300)
    return table * scale


def edge_weights(network: Network, weight: str) -> np.ndarray:
    """``[E]`` the length of each edge for shortest paths by ``weight`` (one of :data:`WEIGHTS`)."""
    if weight == "hop":
        return np.ones(network.num_edges)
    if weight == "weight":
        return network.weight.copy()
    if weight == "inverse-capacity":
        return network.capacity.max() / network.capacity
    if weight == "delay":
        return network.delay + 1e-9  # a path of zero-delay edges still prefers fewer of them
    raise InstanceError(f"expected one of {', '.join(WEIGHTS)}, got {weight!r}", field="weight")


def _simple_graph(network: Network, lengths: np.ndarray) -> Any:
    """A ``networkx.DiGraph`` keeping, between two nodes, the shortest of their parallel edges (its index)."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(range(network.num_nodes))
    for e in np.argsort(-lengths, kind="stable").tolist():  # the shortest written last, so kept
        g.add_edge(int(network.src[e]), int(network.dst[e]), length=float(lengths[e]), edge=e)
    return g


def candidate_paths(instance: PathsInstance, k: int = 4, weight: str = "hop", t: int | None = 0) -> Paths:
    """The ``k`` shortest simple paths (fewer where there are fewer) of every demand of matrix ``t`` (None:
    of every pair with traffic in some matrix), in the order of :meth:`PathsInstance.demands`, each as the
    indices of its edges. One path each is one Dijkstra per source; more are Yen's algorithm per demand."""
    import networkx as nx

    if k < 1:
        raise InstanceError(f"expected at least 1 path per demand, got {k}", field="k")
    network = instance.network
    g = _simple_graph(network, edge_weights(network, weight))
    sources, targets, _ = instance.demands(t)
    out: Paths = []
    trees: dict[int, dict] = {}
    for s, d in zip(sources.tolist(), targets.tolist()):
        if k == 1:
            if s not in trees:
                trees[s] = nx.single_source_dijkstra_path(g, s, weight="length")
            found = [trees[s][d]]
        else:
            found = list(itertools.islice(nx.shortest_simple_paths(g, s, d, weight="length"), k))
        out.append([np.array([g.edges[a, b]["edge"] for a, b in zip(p, p[1:])], dtype=np.int64) for p in found])
    return out


def random_network(rng: np.random.Generator, nodes: int, degree: float = 3.0) -> Network:
    """A random backbone of ``nodes`` nodes: a Waxman-like graph on the unit square (near nodes linked more
    often) made connected by a spanning tree, each link both ways with a capacity of 1, 2.5 or 10 (the usual
    mix of 1/2.5/10G links) and OSPF's default weight, the inverse capacity."""
    if nodes < 3:
        raise InstanceError(f"expected a network of at least 3 nodes, got {nodes}", field="size")
    xy = rng.uniform(size=(nodes, 2))
    far = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    links = set()
    order = rng.permutation(nodes)
    for i in range(1, nodes):  # a random tree, each node joined to its nearest earlier one
        earlier = order[:i]
        j = earlier[np.argmin(far[order[i], earlier])]
        links.add((min(order[i], j), max(order[i], j)))
    for i in range(nodes):  # no node hangs on one link, whose cut would fix every routing's MLU
        if sum(i in link for link in links) < 2:
            j = next(int(j) for j in np.argsort(far[i])[1:] if (min(i, j), max(i, j)) not in links)
            links.add((min(i, j), max(i, j)))
    p = np.exp(-far / 0.25)
    p *= (degree * nodes / 2 - len(links)) / max(p[np.triu_indices(nodes, 1)].sum(), 1e-9)
    for a, b in zip(*np.triu_indices(nodes, 1)):
        if rng.uniform() < p[a, b]:
            links.add((int(a), int(b)))
    pairs = np.array(sorted(links))
    speed = rng.choice([1.0, 2.5, 10.0], size=len(pairs), p=[0.3, 0.3, 0.4])
    src, dst = np.r_[pairs[:, 0], pairs[:, 1]], np.r_[pairs[:, 1], pairs[:, 0]]
    capacity = np.r_[speed, speed]
    delay = far[src, dst] * 1e-2  # a unit square 2,000 km across: 10 ms
    return Network(tuple(str(i) for i in range(nodes)), src, dst, capacity, capacity.max() / capacity, delay, xy,
                   f"random-{nodes}")


def traffic(rng: np.random.Generator, network: Network, count: int, distribution: str = "gravity",
            noise: float = 1.0) -> np.ndarray:
    """``[count, V, V]`` traffic matrices: a gravity matrix times a log-normal factor of spread ``noise`` per
    entry (``gravity``), or volumes uniform in [0, 1) (``uniform``); each scaled to a tenth of the total
    capacity (routing's ratios to the optimum do not depend on the scale)."""
    if distribution not in DISTRIBUTIONS:
        raise InstanceError(f"expected one of {', '.join(DISTRIBUTIONS)}, got {distribution!r}", field="distribution")
    v = network.num_nodes
    if distribution == "gravity":
        tables = gravity(network)[None] * rng.lognormal(0.0, noise, (count, v, v))
    else:
        tables = rng.uniform(size=(count, v, v))
    tables[:, np.arange(v), np.arange(v)] = 0.0
    return tables * (0.1 * network.capacity.sum() / tables.sum((1, 2), keepdims=True))


@functools.lru_cache(maxsize=256)
def all_pairs_paths(network: Network, k: int, weight: str) -> tuple[tuple[np.ndarray, np.ndarray], Paths]:
    """Every ordered pair of ``network`` and its candidate paths (computed once per network: Yen's algorithm
    on every pair of a 20-node network takes about a second)."""
    everyone = PathsInstance(network, np.ones((network.num_nodes,) * 2))
    return everyone.demands(None)[:2], candidate_paths(everyone, k, weight, None)


@functools.lru_cache(maxsize=16)
def load_networks(files: tuple[str, ...]) -> tuple[Network, ...]:
    """The networks of these files (any format :func:`read_network` reads), read once per process."""
    if not files:
        raise InstanceError("expected at least one network file", field="topologies")
    return tuple(read_network(f).network for f in files)


@functools.lru_cache(maxsize=64)
def random_pool(size: int, count: int = 16, seed: int = 0) -> tuple[Network, ...]:
    """``count`` random networks of ``size`` nodes (:func:`random_network`), the same for a seed: what
    training draws traffic on when given no topologies."""
    rng = np.random.default_rng([seed, size])
    return tuple(random_network(rng, size) for _ in range(count))


def draw(sampler: Any, count: int, size: int, distribution: str = "gravity",
         networks: Sequence[Network] = (), k: int = 4, weight: str = "weight") -> dict[str, Any]:
    """``count`` traffic matrices on one network, one of ``networks`` (by default :func:`random_pool`'s of
    ``size`` nodes) chosen by ``sampler``, with every ordered pair's ``k`` candidate paths by ``weight``.
    Returns ``network``, ``traffic [count, V, V]`` (NumPy), ``pairs`` (sources, destinations) and ``paths``
    (see :func:`candidate_paths`). The sampler (NumPy or torch, see :class:`nco.data.generate.Sampler`) gives
    the seed, so that a seeded torch generator draws the same."""
    seed = int(sampler.integers(0, 2**31 - 1, (1,))[0])
    rng = np.random.default_rng(seed)
    networks = networks or random_pool(size)
    network = networks[int(rng.integers(len(networks)))]
    pairs, paths = all_pairs_paths(network, k, weight)
    return {"network": network, "traffic": traffic(rng, network, count, distribution), "pairs": pairs,
            "paths": paths}


def random_paths(size: int, batch: int | None = None, seed: int = 0,
                 distribution: str = "gravity") -> PathsInstance | list[PathsInstance]:
    """Seeded random instances: a random network of ``size`` nodes with one traffic matrix (``batch`` of them,
    each on its own network, when given)."""
    rng = np.random.default_rng(seed)
    made = []
    for _ in range(batch or 1):
        network = random_network(rng, size)
        made.append(PathsInstance(network, traffic(rng, network, 1, distribution)))
    return made if batch is not None else made[0]
