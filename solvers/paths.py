"""Routing demands over a capacitated network: candidate paths, the LP optimum and the classical baselines.

Every method returns a :class:`Routing`: each directed edge's load, the
maximum link utilisation (MLU = max load / capacity, what traffic
engineering minimises), the solver's name and its seconds.

- :func:`candidate_paths`: the ``k`` shortest simple paths of every demand
  (Yen's algorithm through networkx) by hops, IGP weight, inverse capacity
  or delay.
- :func:`optimal_mlu`: the multi-commodity-flow LP, over all paths (flows
  on edges aggregated by source) or over the candidate paths (split ratios),
  solved by HiGHS through SciPy (``backend="highs"``) or by OR-Tools' GLOP
  (simplex) or PDLP (first-order, to its default tolerances: about 1e-4
  relative) on the same sparse matrices. Capacities and volumes are divided by the
  mean capacity first: on raw REPETITA units (Kbps) HiGHS has reported
  "optimal" values above a restricted LP's, which cannot be. A status other
  than optimal is an error, never a number.
- :func:`max_satisfied_flow`: the other LP of traffic engineering, the
  most traffic carried with no link over its capacity (all paths, or the
  candidate paths).
- Baselines: :func:`shortest_path` (each demand on its shortest path),
  :func:`ecmp` (OSPF's equal-cost multipath over the IGP weights: at every
  node the traffic to a destination splits evenly over the edges on its
  shortest paths), :func:`uniform_split` (evenly over the candidate paths)
  and :func:`least_loaded` (demands by decreasing volume, each on the
  candidate path that keeps the MLU lowest).
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from nco.data import SolverError
from nco.data.paths import Network, Paths, PathsInstance, candidate_paths, edge_weights



@dataclass(frozen=True)
class Routing:
    """Edge loads ``[E]`` of a routing and its MLU; ``ratios`` the split over each demand's candidate paths
    where the method chose one."""

    load: np.ndarray
    mlu: float
    solver: str
    seconds: float
    ratios: list[np.ndarray] | None = field(default=None, repr=False)
    # the share of the traffic carried: by max_satisfied_flow's LP, or (every other routing) each path's flow cut
    # to its most loaded link (carried_share); NaN where a routing over capacity has no paths to cut (ECMP, lp)
    satisfied: float = 1.0


def _routing(network: Network, load: np.ndarray, solver: str, started: float,
             ratios: list[np.ndarray] | None = None, satisfied: float | None = None) -> Routing:
    mlu = float((load / network.capacity).max())
    if satisfied is None:
        satisfied = 1.0 if mlu <= 1 + 1e-9 else float("nan")
    return Routing(load, mlu, solver, time.perf_counter() - started, ratios, satisfied)


def carried_share(instance: PathsInstance, paths: Paths, ratios: list[np.ndarray], t: int = 0) -> float:
    """The share of matrix ``t`` carried when each demand sends ``ratios`` of its volume on its paths and a
    path's flow is cut by ``min(1, capacity / load)`` of its most loaded link (an overloaded link dropping its
    excess in proportion); what ``nco/PathSplit-v0`` rewards with ``objective="satisfied"``."""
    volume = instance.demands(t)[2]
    util = _path_loads(instance, paths, ratios, t) / instance.network.capacity
    carried = sum(v * r / max(1.0, float(util[p].max())) for own, share, v in zip(paths, ratios, volume)
                  for p, r in zip(own, share))
    return float(carried / volume.sum()) if volume.sum() > 0 else 1.0


def _path_routing(instance: PathsInstance, paths: Paths, ratios: list[np.ndarray], t: int, solver: str,
                  started: float) -> Routing:
    """A routing over candidate paths: its loads, MLU and carried share."""
    load = _path_loads(instance, paths, ratios, t)
    return _routing(instance.network, load, solver, started, ratios, carried_share(instance, paths, ratios, t))


def _scale(instance: PathsInstance) -> float:
    """The unit both capacities and volumes are divided by before an LP (the mean capacity)."""
    return float(instance.network.capacity.mean())


LP_BACKENDS = ("highs", "glop", "pdlp")


def _solve(c: np.ndarray, a_ub, b_ub, a_eq, b_eq, what: str, backend: str = "highs") -> np.ndarray:
    """``min c x`` s.t. ``a_ub x <= b_ub``, ``a_eq x = b_eq``, ``x >= 0`` by ``backend`` (one of
    :data:`LP_BACKENDS`); the optimal ``x``, or a :class:`SolverError` with the solver's status."""
    if backend not in LP_BACKENDS:
        raise SolverError(f"unknown LP backend {backend!r}; expected one of {', '.join(LP_BACKENDS)}")
    if backend != "highs":
        return _solve_ortools(c, a_ub, b_ub, a_eq, b_eq, what, backend.upper())
    result = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    if result.status != 0:
        raise SolverError(f"{what}: HiGHS ended with status {result.status} ({result.message}), not optimal")
    return result.x


def _solve_ortools(c: np.ndarray, a_ub, b_ub, a_eq, b_eq, what: str, name: str) -> np.ndarray:
    """The same LP through OR-Tools' model builder, filled from the sparse rows in one call."""
    from ortools.linear_solver.python import model_builder as mb

    rows = sp.vstack([a_ub, a_eq]).tocsr().astype(np.float64)
    lower = np.r_[np.full(a_ub.shape[0], -np.inf), b_eq].astype(np.float64)
    upper = np.r_[b_ub, b_eq].astype(np.float64)
    model = mb.Model()
    n = len(c)
    fill: Any = model.helper.fill_model_from_sparse_data  # its stubs misspell the float64 vectors' type
    fill(np.zeros(n), np.full(n, np.inf), np.asarray(c, dtype=np.float64), lower, upper, rows)
    solver = mb.Solver(name)
    status = solver.solve(model)
    if status != mb.SolveStatus.OPTIMAL:
        raise SolverError(f"{what}: {name} ended with status {status.name} ({solver.status_string}), not optimal")
    return solver.values(model.get_variables()).to_numpy()


def optimal_mlu(instance: PathsInstance, paths: Paths | None = None, t: int = 0, backend: str = "highs") -> Routing:
    """The least MLU of matrix ``t``: over all paths (``paths`` None: flows on edges, one commodity per source)
    or over the given candidate paths (split ratios per demand), by ``backend`` (:data:`LP_BACKENDS`)."""
    started = time.perf_counter()
    if paths is not None:
        return _path_lp(instance, paths, t, started, backend)
    network, unit = instance.network, _scale(instance)
    traffic = instance.traffic[t] / unit
    sources = np.flatnonzero(traffic.sum(1) > 0)
    v, e, s_count = network.num_nodes, network.num_edges, len(sources)
    if s_count == 0:
        return _routing(network, np.zeros(e), "lp", started)
    # variables: f[s, e] (s_count x e), then U; incidence B [v, e]: +1 out of a node, -1 into it
    incidence = sp.csr_matrix((np.r_[np.ones(e), -np.ones(e)], (np.r_[network.src, network.dst],
                                                                np.r_[np.arange(e), np.arange(e)])), shape=(v, e))
    a_eq = sp.hstack([sp.kron(sp.identity(s_count), incidence), sp.csr_matrix((s_count * v, 1))])
    supply = -traffic[sources].copy()  # [s, v]: what each node takes of source s's traffic ...
    supply[np.arange(s_count), sources] = traffic[sources].sum(1)  # ... and what the source sends
    capacity = network.capacity / unit
    a_ub = sp.hstack([sp.kron(np.ones((1, s_count)), sp.identity(e)), -sp.csr_matrix(capacity[:, None])])
    cost = np.zeros(s_count * e + 1)
    cost[-1] = 1.0
    x = _solve(cost, a_ub.tocsr(), np.zeros(e), a_eq.tocsr(), supply.reshape(-1), "lp", backend)
    load = np.clip(x[:-1], 0, None).reshape(s_count, e).sum(0) * unit
    return _routing(network, load, "lp", started)


def max_satisfied_flow(instance: PathsInstance, paths: Paths | None = None, t: int = 0,
                       backend: str = "highs") -> Routing:
    """The most traffic of matrix ``t`` that fits within the capacities (no link above 100%), each demand
    carried up to its volume: over all paths (``paths`` None: flows on edges per source, with what each
    destination receives as variables) or over the candidate paths (ratios: each path's share of its demand's
    volume; their sum is the share carried). ``satisfied``: the carried share of the total."""
    started = time.perf_counter()
    network, unit = instance.network, _scale(instance)
    capacity = network.capacity / unit
    sources, targets, volume = instance.demands(t)
    volume = volume / unit
    e = network.num_edges
    if not len(volume):
        return _routing(network, np.zeros(e), "max-flow", started)
    if paths is not None:
        cols, counts = _path_columns(paths, volume)
        n_x = sum(counts)
        a_ub = sp.vstack([sp.csr_matrix((np.ones(len(cols[0])), cols), shape=(e, n_x)), _demand_rows(counts)])
        x = _solve(-np.ones(n_x), a_ub.tocsr(), np.r_[capacity, volume], sp.csr_matrix((0, n_x)), np.zeros(0),
                   "max-flow lp", backend).clip(0, None)
        ratios = [share / v for share, v in zip(np.split(x, np.cumsum(counts)[:-1]), volume)]
        load = _path_loads(instance, paths, ratios, t)
        return _routing(network, load, "max-flow", started, ratios, float(x.sum() / volume.sum()))
    v = network.num_nodes
    own = np.unique(sources)
    s_count = len(own)
    row = {int(s): i for i, s in enumerate(own)}
    # variables: f[s, e] (s_count x e), then r[s, v] (s_count x v), what v receives of s's traffic
    incidence = sp.csr_matrix((np.r_[np.ones(e), -np.ones(e)], (np.r_[network.src, network.dst],
                                                                np.r_[np.arange(e), np.arange(e)])), shape=(v, e))
    # out - in of commodity s at node u: sum_w r[s, w] at u = s, -r[s, u] elsewhere
    receive = sp.block_diag([-sp.identity(v) + sp.csr_matrix((np.ones(v), (np.full(v, s), np.arange(v))),
                                                               shape=(v, v)) for s in own])
    a_eq = sp.hstack([sp.kron(sp.identity(s_count), incidence), -receive])
    a_ub = sp.vstack([sp.hstack([sp.kron(np.ones((1, s_count)), sp.identity(e)), sp.csr_matrix((e, s_count * v))]),
                      sp.hstack([sp.csr_matrix((s_count * v, s_count * e)), sp.identity(s_count * v)])])
    wanted = np.zeros((s_count, v))  # r[s, u] <= the traffic from s to u (0 at u = s)
    wanted[[row[int(s)] for s in sources], targets] = volume
    cost = np.r_[np.zeros(s_count * e), -np.ones(s_count * v)]
    x = _solve(cost, a_ub.tocsr(), np.r_[capacity, wanted.reshape(-1)], a_eq.tocsr(), np.zeros(s_count * v),
               "max-flow lp", backend).clip(0, None)
    load = x[:s_count * e].reshape(s_count, e).sum(0) * unit
    return _routing(network, load, "max-flow", started, None, float(x[s_count * e:].sum() / volume.sum()))


def _path_columns(paths: Paths, volume: np.ndarray) -> tuple[tuple[list[int], list[int]], list[int]]:
    """The (link, column) pairs of the candidate paths, one column per path of each demand, and each
    demand's count of paths."""
    if len(paths) != len(volume) or any(not p for p in paths):
        raise SolverError("paths: expected one non-empty list of paths per demand")
    rows: list[int] = []
    cols: list[int] = []
    column = 0
    for own in paths:
        for p in own:
            rows += p.tolist()
            cols += [column] * len(p)
            column += 1
    return (rows, cols), [len(own) for own in paths]


def _demand_rows(counts: list[int]) -> sp.csr_matrix:
    """``[D, columns]``: 1 where a column is one of demand d's paths."""
    n_x = sum(counts)
    return sp.csr_matrix((np.ones(n_x), (np.repeat(np.arange(len(counts)), counts), np.arange(n_x))),
                         shape=(len(counts), n_x))


def _path_lp(instance: PathsInstance, paths: Paths, t: int, started: float, backend: str) -> Routing:
    """The MLU LP over candidate paths: ratios x[d, p] >= 0 summing to 1 per demand."""
    network, unit = instance.network, _scale(instance)
    volume = instance.demands(t)[2] / unit
    (rows, cols), counts = _path_columns(paths, volume)
    e, n_x = network.num_edges, sum(counts)
    capacity = network.capacity / unit
    # load rows: edge e gets volume_d from column (d, p) when p uses e
    carried = sp.csr_matrix((volume[np.repeat(np.arange(len(counts)), counts)][cols], (rows, cols)), shape=(e, n_x))
    a_ub = sp.hstack([carried, -sp.csr_matrix(capacity[:, None])])
    a_eq = sp.hstack([_demand_rows(counts), sp.csr_matrix((len(paths), 1))])
    cost = np.zeros(n_x + 1)
    cost[-1] = 1.0
    x = np.clip(_solve(cost, a_ub.tocsr(), np.zeros(e), a_eq.tocsr(), np.ones(len(paths)), "path lp", backend)[:-1],
                0, None)
    ratios = np.split(x, np.cumsum(counts)[:-1])
    return _path_routing(instance, paths, ratios, t, "path-lp", started)


def _path_loads(instance: PathsInstance, paths: Paths, ratios: list[np.ndarray], t: int) -> np.ndarray:
    """``[E]`` the loads of demands split over their paths by ``ratios``."""
    load = np.zeros(instance.network.num_edges)
    for own, share, vol in zip(paths, ratios, instance.demands(t)[2]):
        for p, r in zip(own, share):
            np.add.at(load, p, vol * r)
    return load


def shortest_path(instance: PathsInstance, t: int = 0, weight: str = "weight") -> Routing:
    """Each demand on its one shortest path by ``weight``."""
    started = time.perf_counter()
    paths = candidate_paths(instance, 1, weight, t)
    return _path_routing(instance, paths, [np.ones(1)] * len(paths), t, "shortest", started)


def uniform_split(instance: PathsInstance, paths: Paths, t: int = 0) -> Routing:
    """Each demand split evenly over its candidate paths."""
    started = time.perf_counter()
    ratios = [np.full(len(own), 1 / len(own)) for own in paths]
    return _path_routing(instance, paths, ratios, t, "uniform", started)


def least_loaded(instance: PathsInstance, paths: Paths, t: int = 0) -> Routing:
    """Demands by decreasing volume, each on the candidate path whose fullest edge is emptiest after it."""
    started = time.perf_counter()
    network = instance.network
    volume = instance.demands(t)[2]
    load = np.zeros(network.num_edges)
    ratios = [np.zeros(len(own)) for own in paths]
    for d in np.argsort(-volume, kind="stable"):
        worst = [((load[p] + volume[d]) / network.capacity[p]).max() for p in paths[d]]
        best = int(np.argmin(worst))
        load[paths[d][best]] += volume[d]
        ratios[d][best] = 1.0
    return _path_routing(instance, paths, ratios, t, "least-loaded", started)


def ecmp(instance: PathsInstance, t: int = 0, weight: str = "weight") -> Routing:
    """OSPF's equal-cost multipath: per destination, every node splits the traffic it holds for it evenly over
    its edges on shortest paths (by ``weight``; lengths equal to within a relative 1e-9)."""
    started = time.perf_counter()
    network = instance.network
    lengths = edge_weights(network, weight)
    traffic = instance.traffic[t]
    load = np.zeros(network.num_edges)
    into: list[list[int]] = [[] for _ in range(network.num_nodes)]
    for e in range(network.num_edges):
        into[int(network.dst[e])].append(e)
    for dest in np.flatnonzero(traffic.sum(0) > 0).tolist():
        dist = _distances_to(network, lengths, into, dest)
        slack = 1e-9 * np.maximum(1.0, dist[network.src])
        on_dag = np.isfinite(dist[network.src]) & (np.abs(dist[network.src] - lengths - dist[network.dst]) <= slack)
        held = traffic[:, dest].astype(np.float64).copy()
        for u in np.argsort(-dist, kind="stable").tolist():  # farthest first: all its inflow has arrived
            if u == dest or held[u] == 0 or not np.isfinite(dist[u]):
                continue
            out = np.flatnonzero(on_dag & (network.src == u))
            share = held[u] / len(out)
            load[out] += share
            np.add.at(held, network.dst[out], share)
    return _routing(network, load, "ecmp", started)


def _distances_to(network: Network, lengths: np.ndarray, into: list[list[int]], dest: int) -> np.ndarray:
    """``[V]`` shortest distances to ``dest`` (Dijkstra over the reversed edges)."""
    dist = np.full(network.num_nodes, np.inf)
    dist[dest] = 0.0
    heap = [(0.0, dest)]
    while heap:
        d, v = heapq.heappop(heap)
        if d > dist[v]:
            continue
        for e in into[v]:
            u, nd = int(network.src[e]), d + lengths[e]
            if nd < dist[u]:
                dist[u] = nd
                heapq.heappush(heap, (nd, u))
    return dist


METHODS = ("lp", "path-lp", "ecmp", "shortest", "uniform", "least-loaded", "max-flow", "path-max-flow")


def solve_network(instance: PathsInstance, method: str = "lp", t: int = 0, k: int = 4,
                  weight: str = "weight", backend: str = "highs") -> Routing:
    """Route matrix ``t`` of ``instance`` by ``method`` (one of :data:`METHODS`); the path methods use the ``k``
    shortest paths by ``weight``, the LPs ``backend``."""
    if method not in METHODS:
        raise SolverError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    if not 0 <= t < instance.num_matrices:
        raise SolverError(f"matrix: expected 0..{instance.num_matrices - 1}, got {t}")
    if method == "lp":
        return optimal_mlu(instance, t=t, backend=backend)
    if method == "max-flow":
        return max_satisfied_flow(instance, t=t, backend=backend)
    if method == "ecmp":
        return ecmp(instance, t, weight)
    if method == "shortest":
        return shortest_path(instance, t, weight)
    paths = candidate_paths(instance, k, weight, t)
    if method == "path-lp":
        return optimal_mlu(instance, paths, t, backend)
    if method == "path-max-flow":
        return max_satisfied_flow(instance, paths, t, backend)
    return uniform_split(instance, paths, t) if method == "uniform" else least_loaded(instance, paths, t)


def _method(name: str) -> Callable[..., Routing]:
    def solve(instance: PathsInstance, time_limit: float = 10.0, seed: int = 0, initial: Any = None) -> Routing:
        """Route the first traffic matrix (deterministic: ``time_limit``, ``seed`` and ``initial`` unused)."""
        return solve_network(instance, name)

    solve.__name__ = name.replace("-", "_")
    return solve


# nco.solve's names: each method with the common solver signature (matrix 0, 4 paths by IGP weight)
SOLVERS: dict[str, Callable[..., Routing]] = {name: _method(name) for name in METHODS}


def warm_up(instance: PathsInstance) -> None:
    """Nothing to compile: the LP and the baselines are NumPy, SciPy and networkx."""
