"""What every classical solver shares: argument checks, kernel-ready arrays, the wall clock."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np

from nco.data import Instance, Solution, SolverError, make_solution, to_sequence
from nco.data.instances import FleetInstance
from nco.kernels.fleet import cheapest_insertion


def check_time_limit(time_limit: float) -> float:
    """A positive, finite number of seconds, or a :class:`SolverError`."""
    try:
        value = float(time_limit)
    except (TypeError, ValueError):
        raise SolverError(f"time_limit: expected seconds > 0, got {time_limit!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise SolverError(f"time_limit: expected seconds > 0, got {time_limit!r}")
    return value


def check_seed(seed: object) -> int:
    """A seed every solver and NumPy take: an integer from 0 to 2**63 - 1, or a :class:`SolverError`."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**63:
        raise SolverError(f"seed: expected an integer from 0 to 2**63 - 1, got {seed!r}")
    return int(seed)


def initial_sequence(instance: Instance, initial: Solution | None) -> np.ndarray | None:
    """The giant sequence of a caller's starting solution, after checking it fits the instance."""
    if initial is None:
        return None
    make_solution(instance, initial.routes)  # raises SolutionError if it does not fit
    return to_sequence(initial.routes)


@dataclass
class Clock:
    """Wall-clock budget of one solve, and the anytime curve of best costs."""

    time_limit: float
    start: float = field(default_factory=time.perf_counter)
    history: list[tuple[float, float]] = field(default_factory=list)

    @property
    def deadline(self) -> float:
        """The ``time.perf_counter()`` value at which the budget runs out."""
        return self.start + self.time_limit

    def elapsed(self) -> float:
        """Seconds since the solve started."""
        return time.perf_counter() - self.start

    def remaining(self) -> float:
        """Seconds left in the budget (never negative)."""
        return max(0.0, self.deadline - time.perf_counter())

    def record(self, cost: float) -> None:
        """Note ``cost`` on the anytime curve if it improves on the best so far."""
        if not self.history or cost < self.history[-1][1]:
            self.history.append((self.elapsed(), float(cost)))

    def finish(self, instance: Instance | FleetInstance, routes, solver: str, vehicles=()) -> Solution:
        """The checker-verified :class:`Solution` with this clock's runtime and curve (``vehicles``: the
        vehicle of each route, for fleets whose vehicles differ)."""
        solution = make_solution(instance, routes, solver=solver, runtime=self.elapsed(), vehicles=vehicles)
        self.record(solution.cost)
        return replace(solution, history=tuple(self.history))


def vehicle_kinds(instance: FleetInstance) -> np.ndarray:
    """``[m]``: the kind of each vehicle, numbered from 0 in order of first appearance; vehicles of one kind
    are identical (capacity, speed, costs, preferences, allowed customers)."""
    kinds: dict[bytes, int] = {}
    out = np.zeros(instance.num_vehicles, dtype=np.int64)
    for v in range(instance.num_vehicles):
        key = np.concatenate([[instance.capacity[v], instance.speed[v], instance.fixed_cost[v],
                               instance.unit_cost[v]], instance.preference[v], instance.allowed[v]]).tobytes()
        out[v] = kinds.setdefault(key, len(kinds))
    return out


def fleet_start(instance: FleetInstance, start: Solution) -> tuple[np.ndarray, np.ndarray]:
    """A caller's starting solution of a fleet as the kernels take it, ``(giant sequence, vehicle of each
    trip)``, after the fleet checker accepted it (a :class:`SolutionError` when it does not fit)."""
    instance.cost_of(start.routes, start.vehicles)
    return to_sequence(start.routes), np.asarray(start.vehicles, dtype=np.int64)


def fleet_insertion(instance: FleetInstance, order: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cheapest insertion of the customers in ``order`` (by default by decreasing demand;
    :func:`nco.kernels.fleet.cheapest_insertion`): ``(giant sequence, vehicle of each trip)``, the sequence
    empty when a customer fits nowhere."""
    if order is None:
        order = np.argsort(-instance.demand[1:], kind="stable") + 1
    preference = np.concatenate([np.zeros((instance.num_vehicles, 1)), instance.preference], 1)
    return cheapest_insertion(instance.distance, instance.demand, instance.capacity, instance.speed,
                              instance.fixed_cost, instance.unit_cost, preference, instance.node_mask(),
                              instance.multi_trip, instance.objective == "min-max", instance.time_weight,
                              instance.preference_weight, order)
