"""OR-Tools routing (TSP and CVRP) from the distance matrix, with guided local search.

Costs are scaled to integers: integral matrices are passed as they are (exact),
others are multiplied by a power of ten chosen so that the largest entry keeps
about 12 significant digits. The returned cost is always recomputed by the
checker on the original matrix.
"""

from __future__ import annotations

import math
import time

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from nco.data import Instance, Solution, SolverError

from .common import Clock, check_time_limit, initial_sequence

# Stop the search this much before the limit: model closing and reading the
# solution back take time that OR-Tools' own limit does not count.
_SAFETY = 0.03
# First-solution strategies tried in turn, each for at most FIRST_SHARE of the limit: cheapest arc is
# OR-Tools' default and usually the best start, savings copes with tight fleets where it fails.
FIRST_SOLUTIONS = ("PATH_CHEAPEST_ARC", "SAVINGS")
FIRST_SHARE = 0.1
FLEET_SLACK = 0.05  # vehicles over first-fit's count, as a share of it (at least 2)
ROWS_PER_CHECK = 256  # matrix rows converted between two looks at the clock
REGISTER_COST = 0.8  # registering the converted matrix takes this many times the conversion (n = 3000)


def cost_scale(distance: np.ndarray) -> int:
    """The integer factor that turns ``distance`` into int64 costs without losing its precision."""
    top = float(np.max(distance)) if distance.size else 0.0
    if np.array_equal(distance, np.round(distance)) and top * distance.shape[0] < 2**62:
        return 1
    top = max(top, 1e-12)
    return 10 ** max(0, int(math.floor(math.log10(1e12 / top))))


def first_fit_bins(demand: np.ndarray, capacity: int) -> list[list[int]]:
    """Customers packed by first-fit decreasing into vehicles of ``capacity``: a fleet known to be feasible.

    Plain Python on purpose: a JIT kernel here would spend a fresh install's first seconds compiling.
    """
    bins: list[list[int]] = []
    loads: list[int] = []
    for c in sorted(range(1, len(demand)), key=lambda c: -int(demand[c])):
        d = int(demand[c])
        for k, load in enumerate(loads):
            if load + d <= capacity:
                loads[k] = load + d
                bins[k].append(c)
                break
        else:
            loads.append(d)
            bins.append([c])
    return bins or [[]]


def _fleet_size(instance: Instance, initial: Solution | None, bins: int) -> int:
    if instance.max_routes is not None:
        return instance.max_routes
    routes = max(bins, instance.min_routes, initial.num_routes if initial is not None else 0)
    # Slack over a known-feasible fleet lets the search trade routes for distance; unused vehicles cost nothing.
    return routes + max(2, math.ceil(FLEET_SLACK * routes))


def fallback_routes(instance: Instance, bins: list[list[int]]) -> list[list[int]]:
    """A feasible first solution for when OR-Tools finds none: each first-fit bin as one route, its
    customers in nearest-neighbour order from the depot."""
    dist = instance.distance
    routes = []
    for members in bins:
        left, route, here = list(members), [], 0
        while left:
            here = left.pop(int(np.argmin(dist[here, left])))
            route.append(here)
        if route:
            routes.append(route)
    return routes


def _matrix_lists(instance: Instance, scale: int, clock: Clock) -> list[list[int]]:
    """The integer matrix as the nested lists OR-Tools takes (it refuses arrays), or a :class:`SolverError`
    as soon as the pace of the conversion says the model cannot be ready within the limit: at n = 3000 the
    conversion (0.47 s) and the registering (0.37 s more, measured) outlast a 1-s limit by themselves."""
    matrix = np.rint(np.asarray(instance.distance) * scale).astype(np.int64)
    np.fill_diagonal(matrix, 0)  # ATSP files put "infinity" on the diagonal; a tour never uses it
    n, rows = matrix.shape[0], []
    began = time.perf_counter()
    for low in range(0, n, ROWS_PER_CHECK):
        rows += matrix[low:low + ROWS_PER_CHECK].tolist()
        ready = began + (time.perf_counter() - began) * (n / len(rows)) * (1 + REGISTER_COST)
        if ready > clock.deadline:
            raise SolverError(f"time_limit: OR-Tools' model of {n} nodes takes about {ready - clock.start:.1f} s "
                              f"to build here (its matrix goes in as Python lists), more than the "
                              f"{clock.time_limit:g} s limit; give a longer limit or use ga or ls")
    return rows


def _model(instance: Instance, vehicles: int, scale: int, clock: Clock):
    manager = pywrapcp.RoutingIndexManager(instance.num_nodes, vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)
    transit = routing.RegisterTransitMatrix(_matrix_lists(instance, scale, clock))
    routing.SetArcCostEvaluatorOfAllVehicles(transit)
    _, demand, capacity = instance.kernel_arrays()
    if demand.any():
        load = routing.RegisterUnaryTransitVector(demand.astype(int).tolist())
        routing.AddDimensionWithVehicleCapacity(load, 0, [capacity] * vehicles, True, "load")
    return manager, routing


def _parameters(seconds: float, strategy: str = "PATH_CHEAPEST_ARC", first_only: bool = False):
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, strategy)
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    if first_only:
        params.solution_limit = 1
    params.time_limit.FromMilliseconds(max(1, int(seconds * 1000)))
    return params


def _routes(manager, routing, assignment, vehicles: int) -> list[list[int]]:
    routes = []
    for v in range(vehicles):
        index = assignment.Value(routing.NextVar(routing.Start(v)))
        route = []
        while not routing.IsEnd(index):
            route.append(manager.IndexToNode(index))
            index = assignment.Value(routing.NextVar(index))
        if route:
            routes.append(route)
    return routes


def _read_routes(manager, routing, routes) -> object:
    return routing.ReadAssignmentFromRoutes([[manager.NodeToIndex(c) for c in r] for r in routes], True)


def _first_solution(instance: Instance, manager, routing, clock: Clock, bins: list[list[int]]) -> tuple[object, str]:
    """A first solution and where it came from: OR-Tools' own by each of :data:`FIRST_SOLUTIONS` in turn
    (each given a share of the limit: a strategy that cannot place every customer searches until its
    time is up), else the first-fit routes, which always fit the fleet."""
    # Read before any search: after a search that timed out, reading routes fails as well.
    fallback = _read_routes(manager, routing, fallback_routes(instance, bins))
    if fallback is None:  # the routes fit the fleet and every capacity by construction
        raise SolverError(f"ortools: the model rejected the first-fit routes of {instance.name}")
    fallback = routing.solver().Assignment(fallback)  # a copy: the next search overwrites the model's own
    for strategy in FIRST_SOLUTIONS:
        seconds = min(FIRST_SHARE * clock.time_limit, clock.remaining())
        found = routing.SolveWithParameters(_parameters(seconds, strategy, first_only=True))
        if found is not None:
            return found, strategy
    return fallback, "first-fit"


def ortools(instance: Instance, time_limit: float = 10.0, seed: int = 0, initial: Solution | None = None) -> Solution:
    """Solve with OR-Tools' routing library: a first solution (``initial``, else OR-Tools' cheapest arc,
    else its savings, else first-fit routes), then guided local search to the limit.

    The fleet is first-fit decreasing's (feasible by construction) plus some
    slack, so a first solution always exists. OR-Tools' search has no seed
    of its own; ``seed`` is accepted for a uniform interface.
    """
    clock = Clock(check_time_limit(time_limit))
    initial_sequence(instance, initial)  # validates the routes against the instance
    scale = cost_scale(instance.distance)
    _, demand, capacity = instance.kernel_arrays()
    bins = first_fit_bins(demand, capacity)
    vehicles = _fleet_size(instance, initial, len(bins))
    manager, routing = _model(instance, vehicles, scale, clock)
    routing.AddAtSolutionCallback(lambda: clock.record(routing.CostVar().Max() / scale))
    routing.CloseModelWithParameters(_parameters(time_limit))
    if initial is not None:
        start = _read_routes(manager, routing, initial.routes)
        if start is None:
            raise SolverError("ortools: the initial routes break a constraint of the model")
    else:
        start, _ = _first_solution(instance, manager, routing, clock, bins)
    # Never hand OR-Tools a budget too small to search at all (a slow model build, say).
    params = _parameters(max(clock.remaining() - _SAFETY * clock.time_limit, 0.05 * clock.time_limit))
    assignment = routing.SolveFromAssignmentWithParameters(start, params) or start
    return clock.finish(instance, _routes(manager, routing, assignment, vehicles), "ortools")
