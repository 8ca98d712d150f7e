"""OR-Tools routing (TSP and CVRP) from the distance matrix, with guided local search.

Costs are scaled to integers: integral matrices are passed as they are (exact),
others are multiplied by a power of ten chosen so that the largest entry keeps
about 12 significant digits. The returned cost is always recomputed by the
checker on the original matrix.
"""

from __future__ import annotations

import math

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from nco.data import Instance, Solution, SolverError

from .common import Clock, check_time_limit, initial_sequence

# Stop the search this much before the limit: model closing and reading the
# solution back take time that OR-Tools' own limit does not count.
_SAFETY = 0.03


def cost_scale(distance: np.ndarray) -> int:
    """The integer factor that turns ``distance`` into int64 costs without losing its precision."""
    top = float(np.max(distance)) if distance.size else 0.0
    if np.array_equal(distance, np.round(distance)) and top * distance.shape[0] < 2**62:
        return 1
    top = max(top, 1e-12)
    return 10 ** max(0, int(math.floor(math.log10(1e12 / top))))


def first_fit_bins(demand: np.ndarray, capacity: int) -> int:
    """Vehicles that first-fit decreasing packs the demands into: a fleet known to be feasible."""
    loads: list[int] = []
    for d in sorted((int(x) for x in demand[1:]), reverse=True):
        for k, load in enumerate(loads):
            if load + d <= capacity:
                loads[k] = load + d
                break
        else:
            loads.append(d)
    return max(1, len(loads))


def _fleet_size(instance: Instance, initial: Solution | None) -> int:
    if instance.problem == "tsp":
        return 1
    # Plain Python on purpose: a JIT kernel here would spend a fresh install's first seconds compiling.
    routes = initial.num_routes if initial is not None else first_fit_bins(instance.demand, instance.capacity)
    # A little slack over a known-feasible fleet lets the search trade routes for distance.
    return max(routes, instance.min_routes) + 2


def _model(instance: Instance, vehicles: int, scale: int):
    manager = pywrapcp.RoutingIndexManager(instance.num_nodes, vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)
    matrix = np.rint(np.asarray(instance.distance) * scale).astype(np.int64)
    np.fill_diagonal(matrix, 0)  # ATSP files put "infinity" on the diagonal; a tour never uses it
    transit = routing.RegisterTransitMatrix(matrix.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(transit)
    if instance.problem == "cvrp":
        demand = routing.RegisterUnaryTransitVector(instance.demand.astype(int).tolist())
        routing.AddDimensionWithVehicleCapacity(demand, 0, [instance.capacity] * vehicles, True, "load")
    return manager, routing


def _parameters(seconds: float):
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
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


def ortools(instance: Instance, time_limit: float = 10.0, seed: int = 0, initial: Solution | None = None) -> Solution:
    """Solve with OR-Tools' routing library: cheapest-arc start (or ``initial``), then guided local search.

    OR-Tools' search has no seed of its own; ``seed`` is accepted for a uniform
    interface. Raises :class:`SolverError` if no solution is found in time.
    """
    clock = Clock(check_time_limit(time_limit))
    initial_sequence(instance, initial)  # validates the routes against the instance
    scale = cost_scale(instance.distance)
    vehicles = max(_fleet_size(instance, initial), initial.num_routes if initial is not None else 0)
    manager, routing = _model(instance, vehicles, scale)
    routing.AddAtSolutionCallback(lambda: clock.record(routing.CostVar().Max() / scale))
    # Never hand OR-Tools a budget too small to find a first solution (a slow model build, say).
    params = _parameters(max(clock.remaining() - _SAFETY * clock.time_limit, 0.2 * clock.time_limit))
    if initial is not None:
        routing.CloseModelWithParameters(params)
        routes = [[manager.NodeToIndex(c) for c in r] for r in initial.routes]
        start = routing.ReadAssignmentFromRoutes(routes, True)
        if start is None:
            raise SolverError("ortools: the initial routes break a constraint of the model")
        assignment = routing.SolveFromAssignmentWithParameters(start, params)
    else:
        assignment = routing.SolveWithParameters(params)
    if assignment is None:
        raise SolverError(f"ortools: no solution found for {instance.name} within {time_limit} s")
    return clock.finish(instance, _routes(manager, routing, assignment, vehicles), "ortools")
