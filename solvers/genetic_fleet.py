"""The genetic search on fleets whose vehicles differ (:class:`nco.data.instances.FleetInstance`).

The population and survivor selection are :mod:`nco.solvers.genetic`'s; what changes is what an
individual is (trips and the vehicle of each), how a giant tour becomes one (the fleet Split of
:mod:`nco.kernels.fleet_split`), the crossovers (half the children from giant tours, half by exchanging
trips; on a fleet filled nearly to capacity, all by SREX) and the education
(:mod:`nco.kernels.fleet_search`: every move priced with its vehicles' rates, fixed costs, capacities,
credits and zones, and moves that give trips to other vehicles). Capacity is soft during the search as
in HGS; a customer on a vehicle barred from it makes an individual infeasible (it counts as a full load
over capacity). Min-max is searched as the longest time plus ``BALANCE`` times the sum of times and
ranked by the longest alone.
"""

from __future__ import annotations

import numpy as np

from nco.data import Solution, SolverError, from_sequence, to_sequence
from nco.data.instances import FleetInstance
from nco.kernels import neighbour_lists, prepared_matrix
from nco.kernels.fleet_reinsert import reinsert
from nco.kernels.fleet_search import fleet_search, fleet_value
from nco.kernels.fleet_split import fleet_split
from nco.kernels.search import default_spare

from .common import Clock, check_time_limit, fleet_insertion, fleet_start, vehicle_kinds
from .genetic import GeneticSearch, Individual, Params, Routes

BALANCE = 0.01  # min-max: weight of the sum of times beside the longest time in the search's objective
# A smaller population than the CVRP's: at 10 s it did better on 5 of 6 HFVRP files (X139-HD 17875 against
# 18197 with mu 25, lambda 40; X214-HVRP 17438 against 17942), where an education costs 10-30 ms.
FLEET_PARAMS = Params(mu=12, lam=20)
ROUTE_CROSSOVER = 0.5  # share of the children made by route crossover rather than by giant tours and Split
# A fleet without reloads whose capacity is under TIGHT x the demand (the limited HFVRP files fill theirs to
# 84-99%) makes every child by SREX: at 10 s on six such files, mean gap 3.06% against 3.80% for half the
# children by route crossover; on two unlimited fleets it did worse (3.67 against 2.15).
TIGHT = 2.0


class FleetSearch(GeneticSearch):
    """One run of the genetic search on a fleet instance (see the module docstring)."""

    instance: FleetInstance  # type: ignore[assignment]
    mutates = False  # _mutation reinserts into one capacity; a fleet's children come from its crossovers

    def __init__(self, instance: FleetInstance, seed: int, params: Params):
        super().__init__(instance, seed, params)  # type: ignore[arg-type]  # the base reads what fleets have too

    def _prepare(self, instance, params: Params) -> float:
        self.min_max = instance.objective == "min-max"
        self.multi_trip = bool(instance.multi_trip)
        self.dist = prepared_matrix(instance.distance)
        self.demand = np.asarray(instance.demand, dtype=np.int64)
        m, n = instance.num_vehicles, instance.num_nodes
        speed = np.asarray(instance.speed, dtype=np.float64)
        credit = np.zeros((m, n))
        if self.min_max:
            rate, fixed = 1.0 / speed, np.zeros(m)
        else:
            rate = np.asarray(instance.unit_cost, dtype=np.float64) + instance.time_weight / speed
            fixed = np.asarray(instance.fixed_cost, dtype=np.float64)
            credit[:, 1:] = instance.preference_weight * np.asarray(instance.preference)
        kinds = vehicle_kinds(instance)
        allowed = instance.node_mask()
        zoned = bool(credit.any() or not allowed.all())
        self.fleet = (np.asarray(instance.capacity, dtype=np.int64), rate, fixed, credit, allowed, kinds, zoned)
        self.kinds = np.array([int(np.flatnonzero(kinds == k)[0]) for k in range(kinds.max() + 1)], dtype=np.int64)
        self.neighbours = neighbour_lists(self.dist, params.granular)
        arc = float(self.dist.max()) * float(rate.max())
        # A barred customer costs more than any trip could gain by keeping it there.
        self.barred = 10.0 * (2.0 * arc + float(fixed.max()) + float(np.abs(credit).max())) + 1.0
        self.eps = 1e-9 * max(1.0, arc)
        self.capacity = int(self.fleet[0].max())
        self.tight = not self.multi_trip and int(self.fleet[0].sum()) < TIGHT * int(self.demand.sum())
        # HGS's first penalty (the longest arc per unit of the largest demand), and at least twice the fixed
        # cost a unit of load over capacity saves: at 13.3 against 11.8 the first children of X280-FSMF put its
        # 279 customers on 5 vehicles, 2,308 units over, and no child was feasible in 10 s.
        saved = float((fixed / self.fleet[0]).max())
        return float(np.clip(max(arc / max(1.0, float(self.demand.max())), 2.0 * saved), 0.1, 1000.0))

    def _make(self, routes: Routes) -> Individual:
        seq, vehicles = routes
        value, excess, barred = fleet_value(self.dist, self.demand, self.fleet, self.min_max, seq, vehicles)
        return self._individual(seq, value, int(excess) + int(barred) * self.capacity, vehicles)

    def _routes(self, ind: Individual) -> Routes:
        return ind.seq, ind.vehicles

    def _as_routes(self, seed: Routes) -> Routes:
        seq, vehicles = seed
        return np.asarray(seq, dtype=np.int64), np.asarray(vehicles, dtype=np.int64)

    def _crossover(self, a: Individual, b: Individual) -> Routes:
        """Every child by SREX (:meth:`_route_crossover`) on a tight fleet without reloads; else half by the
        giant-tour crossover and Split, half by the route crossover."""
        if self.tight:
            return self._route_crossover(a, b, srex=True)
        if self.rng.random() < ROUTE_CROSSOVER:
            return self._route_crossover(a, b)
        return super()._crossover(a, b)

    def _route_crossover(self, a: Individual, b: Individual, srex: bool = False) -> Routes:
        """Route crossover after PyVRP's SREX: ``a``'s trips around a random customer (those holding it or
        one of its nearest, up to the granular count) with their vehicles, then ``b``'s trips without those
        customers. Without reloads, a ``b`` trip whose vehicle ``a``'s part already drives takes a free
        vehicle of the same kind, else the largest free one, else joins the child's emptiest trip.

        ``srex``: as PyVRP has it, ``a``'s trips replace as many of ``b``'s, those that share the most
        customers with them, and the customers of the replaced trips that ``a``'s part lacks are inserted
        where they cost least: the child keeps ``b``'s number of trips, which a fleet filled to 99% (the
        limited HFVRP files) needs."""
        assert a.vehicles is not None and b.vehicles is not None
        trips_a, trips_b = ([np.asarray(t, dtype=np.int64) for t in from_sequence(p.seq)] for p in (a, b))
        chosen = self._around(trips_a)
        trips = [trips_a[t] for t in chosen]
        vehicles = [int(a.vehicles[t]) for t in chosen]
        taken = np.zeros(self.n, dtype=np.bool_)
        for trip in trips:
            taken[trip] = True
        replaced: set[int] = set()
        if srex:
            shared = np.array([taken[trip].sum() for trip in trips_b])
            replaced = set(np.argsort(-shared, kind="stable")[:len(chosen)].tolist())
        missing: list[int] = []
        for k, (trip, v) in enumerate(zip(trips_b, b.vehicles)):
            rest = trip[~taken[trip]]
            if k in replaced:
                missing.extend(rest.tolist())
            elif rest.size:
                self._place(trips, vehicles, rest, int(v))
        seq, owners = to_sequence([t.tolist() for t in trips]), np.asarray(vehicles, dtype=np.int64)
        if not srex:
            return seq, owners
        order = self.rng.permutation(np.asarray(missing, dtype=np.int64))
        capacity, rate, allowed = self.fleet[0], self.fleet[1], self.fleet[4]
        return reinsert(self.dist, self.demand, capacity, rate, allowed, seq, owners, order, float(self.penalty))

    def _around(self, trips: list[np.ndarray]) -> list[int]:
        """The trips (indices) holding a random customer or one of its nearest, up to the granular count."""
        c = int(self.rng.integers(1, self.n))
        near = self.neighbours[c, :int(self.rng.integers(1, self.neighbours.shape[1] + 1))]
        where = np.zeros(self.n, dtype=np.int64)
        for t, trip in enumerate(trips):
            where[trip] = t
        return sorted({int(where[c]), *(int(where[v]) for v in near)})

    def _place(self, trips: list[np.ndarray], vehicles: list[int], trip: np.ndarray, v: int) -> None:
        """Add ``trip`` to the child on vehicle ``v``, or (without reloads, ``v`` taken) as the docstring of
        :meth:`_route_crossover` says."""
        if self.multi_trip or v not in vehicles:
            trips.append(trip)
            vehicles.append(v)
            return
        capacity, kinds = self.fleet[0], self.fleet[5]
        free = np.ones(len(capacity), dtype=np.bool_)
        free[vehicles] = False
        same = np.flatnonzero(free & (kinds == kinds[v]))
        if same.size or free.any():
            w = int(same[0]) if same.size else int(np.flatnonzero(free)[np.argmax(capacity[free])])
            trips.append(trip)
            vehicles.append(w)
            return
        room = [capacity[u] - self.demand[t].sum() for t, u in zip(trips, vehicles)]
        k = int(np.argmax(room))
        trips[k] = np.concatenate([trips[k], trip])

    def _routes_of(self, giant: np.ndarray, penalty: float) -> Routes:
        return fleet_split(self.dist, self.demand, self.fleet, self.kinds, self.multi_trip, self.min_max,
                           giant, penalty, self.barred)

    def _educate(self, routes: Routes, penalty: float, deadline: float | None,
                 focus: np.ndarray | None = None) -> Individual:
        seq, vehicles = routes  # no focus here: the fleet search's first pass tries every pair
        # Empty rows for new trips: HGS's spare routes, and one more per kind of vehicle.
        spare = default_spare(seq) + len(self.kinds)
        out = fleet_search(self.dist, self.demand, self.fleet, self.neighbours, seq, vehicles, spare,
                           self.multi_trip, self.min_max, int(self.rng.integers(2**31)),
                           -1.0 if deadline is None else float(deadline), self.eps, float(penalty), self.barred,
                           BALANCE)
        return self._make(out)

    def _overloaded(self, ind: Individual) -> None:
        return None  # the fleet search takes no focus

    def split(self, order: np.ndarray) -> Individual:
        """The customers ``order`` cut into trips and given vehicles by the fleet Split, overloads and barred
        customers priced as dearly as a customer no vehicle may serve (``excess`` > 0: none could be avoided)."""
        return self._make(self._routes_of(np.asarray(order, dtype=np.int64), self.barred))

    def improved(self, routes: Routes, deadline: float | None) -> Individual:
        """``routes`` (a feasible ``(sequence, vehicles)``) after the local search with hard capacities."""
        return self._educate(self._as_routes(routes), -1.0, deadline)

    def _fallback(self, deadline: float) -> Individual:
        """Cheapest insertion (customers by decreasing demand), educated with hard capacities."""
        seq, vehicles = fleet_insertion(self.instance)
        if not seq.size:
            raise SolverError(f"ga: no feasible solution of {self.instance.name} within the time limit; give it "
                              "more time")
        return self.improved((seq, vehicles), deadline)


def genetic_fleet(instance: FleetInstance, time_limit: float = 10.0, seed: int = 0, initial: Solution | None = None,
                  seeds: list[Solution] | None = None, max_iterations: int | None = None,
                  params: Params | None = None) -> Solution:
    """The hybrid genetic search on a fleet instance, to the wall-clock limit (or ``max_iterations``).

    ``initial`` and ``seeds`` (checked solutions of this instance, with their
    vehicles) enter the first population. Without either, cheapest insertion's
    solution does (when it finds one), as it does for OR-Tools here.
    """
    clock = Clock(check_time_limit(time_limit))
    starts = ([initial] if initial is not None else []) + list(seeds or [])
    sequences: list[Routes] = [fleet_start(instance, s) for s in starts]
    if not sequences:
        seq, vehicles = fleet_insertion(instance)
        if seq.size:
            sequences.append((seq, vehicles))
    search = FleetSearch(instance, seed, params or FLEET_PARAMS)
    best = search.run(clock, sequences, max_iterations)
    return clock.finish(instance, from_sequence(best.seq), "ga", vehicles=best.vehicles)
