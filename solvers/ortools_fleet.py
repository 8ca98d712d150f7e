"""OR-Tools routing on profiled fleets (:class:`nco.data.instances.FleetInstance`): reloads, min-sum or min-max.

Each vehicle is one OR-Tools vehicle with its own capacity, arc costs (unit
cost x distance + time weight x distance / speed, and a preference credit on
arriving at a customer), fixed cost and allowed customers
(the others removed from its vehicle variable). A fleet that reloads gets optional copies of
the depot whose demand is minus the vehicle's capacity (OR-Tools' reload
recipe: the load dimension's slack refills the vehicle). Min-max puts a
global span cost on a time dimension. Costs are scaled to integers as in
:mod:`nco.solvers.ortools_routing`; the returned cost is the fleet checker's.
"""

from __future__ import annotations

import math

import numpy as np
from ortools.constraint_solver import pywrapcp

from nco.data import Solution, SolverError
from nco.data.instances import FleetInstance
from nco.data.solution import make_solution

from .common import Clock, check_time_limit, vehicle_kinds
from .ortools_routing import _SAFETY, _parameters

# With reload copies, cheapest arc finds no first solution (measured on HCVRP40); these two do.
FIRST_SOLUTIONS = ("PARALLEL_CHEAPEST_INSERTION", "SAVINGS", "PATH_CHEAPEST_ARC")
FIRST_SHARE = 0.2  # of the limit, at most, for each first-solution strategy
SPAN_WEIGHT = 100  # min-max: the longest time outweighs the sum of times, which still guides the search
COST_DIGITS = 1e6  # integer units per unit of the largest arc cost


def useful_vehicles(instance: FleetInstance) -> list[int]:
    """The vehicles the model keeps: of each group of identical vehicles (capacity, speed, costs,
    preferences, zones), at most twice as many as would carry all the demand they may serve, plus 2.
    Fleet-size-and-mix files offer 100 of each type where about 20 routes serve everyone; the spares
    only slow OR-Tools' search down. Min-max keeps every vehicle (each one more shortens the longest)."""
    if instance.objective == "min-max":
        return list(range(instance.num_vehicles))
    groups: dict[int, list[int]] = {}
    for v, kind in enumerate(vehicle_kinds(instance)):
        groups.setdefault(int(kind), []).append(v)
    kept = []
    for members in groups.values():
        v = members[0]
        demand = int(instance.demand[1:][instance.allowed[v]].sum())
        kept += members[:2 * math.ceil(demand / int(instance.capacity[v])) + 2]
    return sorted(kept)


def reload_copies(instance: FleetInstance) -> int:
    """Depot copies a reloading fleet may visit: enough for every trip its smallest vehicle would need to
    carry the whole demand alone, less the first trips (no copies when it does not reload)."""
    if not instance.multi_trip:
        return 0
    trips = math.ceil(int(instance.demand.sum()) / int(instance.capacity.min()))
    return max(0, trips - 1)


class _FleetModel:
    """The OR-Tools model of one instance: nodes 0..n (depot, customers) then the depot's reload copies."""

    def __init__(self, instance: FleetInstance):
        self.instance = instance
        self.fleet = useful_vehicles(instance)  # model vehicle j is the instance's vehicle fleet[j]
        self.copies = reload_copies(instance)
        self.nodes = instance.num_nodes + self.copies
        self.manager = pywrapcp.RoutingIndexManager(self.nodes, len(self.fleet), 0)
        self.routing = pywrapcp.RoutingModel(self.manager)
        d = instance.distance
        self.place = np.concatenate([np.arange(instance.num_nodes), np.zeros(self.copies, dtype=np.int64)])
        self.dist = d[np.ix_(self.place, self.place)]  # [nodes, nodes] a copy is where the depot is
        self._arc_costs()
        self._load()
        if instance.objective == "min-max":
            self._span()
        for c in range(1, instance.num_nodes):  # zones: the vehicles barred from each customer
            barred = [j for j, v in enumerate(self.fleet) if not instance.allowed[v, c - 1]]
            if barred:  # (SetAllowedVehiclesForIndex takes no Python list in OR-Tools 9.15)
                self.routing.VehicleVar(self.manager.NodeToIndex(c)).RemoveValues(barred)
        for k in range(self.copies):  # a copy is optional and free to skip
            self.routing.AddDisjunction([self.manager.NodeToIndex(instance.num_nodes + k)], 0)

    def _arc_costs(self) -> None:
        inst = self.instance
        credit = np.zeros((inst.num_vehicles, self.nodes))  # per instance vehicle: the preference credit, >= 0
        if inst.objective == "min-sum" and inst.preference_weight:
            top = float(inst.preference.max())
            credit[:, 1:inst.num_nodes] = inst.preference_weight * (top - inst.preference)
        time_weight = inst.time_weight if inst.objective == "min-sum" else 1.0
        per_vehicle = [(inst.unit_cost[k] if inst.objective == "min-sum" else 0.0) * self.dist
                       + time_weight * self.dist / inst.speed[k] + credit[k][None, :]
                       for k in self.fleet]
        top = max(float(m.max()) for m in per_vehicle) or 1.0
        self.scale = COST_DIGITS / top
        self.arcs = []  # each model vehicle's arc-cost callback (for min-max: its travel times)
        for j, (k, matrix) in enumerate(zip(self.fleet, per_vehicle)):
            arcs = np.rint(matrix * self.scale).astype(np.int64)
            np.fill_diagonal(arcs, 0)
            callback = self.routing.RegisterTransitMatrix(arcs.tolist())
            self.arcs.append(callback)
            self.routing.SetArcCostEvaluatorOfVehicle(callback, j)
            if inst.objective == "min-sum" and inst.fixed_cost[k]:
                self.routing.SetFixedCostOfVehicle(int(round(inst.fixed_cost[k] * self.scale)), j)

    def _load(self) -> None:
        inst = self.instance
        base = np.concatenate([inst.demand, np.zeros(self.copies, dtype=np.int64)])
        callbacks = []
        for k in self.fleet:
            demand = base.copy()
            demand[inst.num_nodes:] = -int(inst.capacity[k])  # a reload empties the vehicle
            callbacks.append(self.routing.RegisterUnaryTransitVector(demand.tolist()))
        slack = int(inst.capacity.max()) if self.copies else 0
        self.routing.AddDimensionWithVehicleTransitAndCapacity(callbacks, slack, inst.capacity[self.fleet].tolist(),
                                                              True, "load")
        load = self.routing.GetDimensionOrDie("load")
        for node in range(1, inst.num_nodes):  # only a reload refills
            load.SlackVar(self.manager.NodeToIndex(node)).SetValue(0)

    def _span(self) -> None:
        """Min-max: a time dimension over the arc-cost callbacks (for min-max they are the travel times,
        scaled), whose global span is the longest vehicle time."""
        inst = self.instance
        horizon = int(np.rint(self.dist.sum(0).max() / inst.speed.min() * self.scale)) * 2 + 1
        self.routing.AddDimensionWithVehicleTransits(self.arcs, 0, horizon, True, "time")
        self.routing.GetDimensionOrDie("time").SetGlobalSpanCostCoefficient(SPAN_WEIGHT)

    def read(self, solution: Solution):
        """``solution``'s trips as an assignment of this model (a vehicle's trips joined by reload copies),
        or None when the model rejects them (more trips than copies, say)."""
        copies = iter(range(self.instance.num_nodes, self.nodes))
        routes: list[list[int]] = [[] for _ in self.fleet]
        model_vehicle = {v: j for j, v in enumerate(self.fleet)}
        for trip, chosen in zip(solution.routes, solution.vehicles):
            if chosen not in model_vehicle:
                return None
            vehicle = model_vehicle[chosen]
            if routes[vehicle]:
                copy = next(copies, None)
                if copy is None:
                    return None
                routes[vehicle].append(copy)
            routes[vehicle].extend(trip)
        return self.routing.ReadAssignmentFromRoutes([[self.manager.NodeToIndex(c) for c in r] for r in routes],
                                                     True)

    def trips(self, assignment=None) -> tuple[list[list[int]], list[int]]:
        """Each vehicle's route cut at its reload visits into trips, with the vehicle of each trip (of
        ``assignment``, or of the solution being reported inside a solution callback)."""
        trips, vehicles = [], []
        n = self.instance.num_nodes
        value = (lambda var: var.Value()) if assignment is None else assignment.Value
        for j, v in enumerate(self.fleet):
            index = value(self.routing.NextVar(self.routing.Start(j)))
            trip: list[int] = []
            while not self.routing.IsEnd(index):
                node = self.manager.IndexToNode(index)
                if node >= n and trip:  # a reload ends a trip
                    trips.append(trip)
                    vehicles.append(v)
                    trip = []
                elif node < n:
                    trip.append(node)
                index = value(self.routing.NextVar(index))
            if trip:
                trips.append(trip)
                vehicles.append(v)
        return trips, vehicles


def ortools_fleet(instance: FleetInstance, time_limit: float = 10.0, seed: int = 0,
                  initial: Solution | None = None, fallback: Solution | None = None) -> Solution:
    """Solve a profiled-fleet instance with OR-Tools' routing library: from ``initial`` (a solution of
    this instance with its vehicles), else a first solution by each of :data:`FIRST_SOLUTIONS` in turn,
    else ``fallback``, then guided local search to the limit (see the module docstring). ``seed`` is
    accepted for a uniform interface (OR-Tools' search has no seed)."""
    clock = Clock(check_time_limit(time_limit))
    model = _FleetModel(instance)
    routing = model.routing
    # the curve in the instance's own terms: the model's cost mixes span, arc and shifted preference costs
    routing.AddAtSolutionCallback(lambda: clock.record(instance.cost_of(*model.trips()).objective))
    start, spare = None, None
    if initial is not None or fallback is not None:
        routing.CloseModelWithParameters(_parameters(time_limit))
    if initial is not None:
        make_solution(instance, initial.routes, vehicles=initial.vehicles)  # it fits this instance
        start = model.read(initial)
    elif fallback is not None:  # read before any search: after one that timed out, reading fails too
        read = model.read(fallback)
        spare = None if read is None else routing.solver().Assignment(read)  # a copy the searches keep
    for strategy in FIRST_SOLUTIONS if start is None else ():
        seconds = min(FIRST_SHARE * clock.time_limit, clock.remaining())
        start = routing.SolveWithParameters(_parameters(seconds, strategy, first_only=True))
        if start is not None:
            break
    start = start or spare
    if start is None:
        raise SolverError(f"ortools: no first solution of {instance.name} in {time_limit:g} s by "
                          f"{', '.join(FIRST_SOLUTIONS)}")
    params = _parameters(max(clock.remaining() - _SAFETY * clock.time_limit, 0.05 * clock.time_limit))
    assignment = routing.SolveFromAssignmentWithParameters(start, params) or start
    trips, vehicles = model.trips(assignment)
    return clock.finish(instance, trips, "ortools", vehicles=vehicles)
