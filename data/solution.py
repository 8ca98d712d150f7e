"""Solutions: routes of customer indices (depot implicit) with a verified cost."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from nco.kernels import MESSAGES, OK, check_sequence

from .errors import SolutionError
from .instances import FleetInstance, Instance


@dataclass(frozen=True)
class Solution:
    """Routes (tuples of node indices, depot 0 implicit at both ends) and their cost.

    A TSP solution is one route: the tour is ``(0, *routes[0])``. Solvers fill
    ``solver``, ``runtime`` (seconds) and ``history`` (the anytime curve,
    ``(seconds, best cost)`` pairs) where they have them. ``vehicles``: the
    vehicle of each route where the fleet's vehicles differ (``nco.data.pvrp``;
    a vehicle that reloads has several routes), empty otherwise.
    """

    routes: tuple[tuple[int, ...], ...]
    cost: float
    problem: str
    solver: str = ""
    runtime: float = 0.0
    history: tuple[tuple[float, float], ...] = field(default=(), repr=False)
    vehicles: tuple[int, ...] = ()

    @property
    def num_routes(self) -> int:
        """Number of routes (1 for a TSP tour)."""
        return len(self.routes)

    @property
    def tour(self) -> list[int]:
        """The giant sequence without its last depot visit: a TSP's tour from node 0."""
        return [int(node) for node in to_sequence(self.routes)[:-1]]


def to_sequence(routes: Sequence[Sequence[int]]) -> np.ndarray:
    """Join routes into a giant sequence ``[0, r1..., 0, r2..., 0]`` (the kernels' format)."""
    seq = [0]
    for route in routes:
        seq.extend(int(c) for c in route)
        seq.append(0)
    return np.asarray(seq, dtype=np.int64)


def from_sequence(seq: Sequence[int] | np.ndarray) -> tuple[tuple[int, ...], ...]:
    """Split a giant sequence at depot visits into routes (empty ones dropped)."""
    routes: list[tuple[int, ...]] = []
    current: list[int] = []
    for node in np.asarray(seq).tolist():
        if node == 0:
            if current:
                routes.append(tuple(current))
            current = []
        else:
            current.append(int(node))
    if current:
        routes.append(tuple(current))
    return tuple(routes)


def tour_to_routes(tour: Sequence[int]) -> tuple[tuple[int, ...], ...]:
    """Rotate a TSP tour (a permutation of ``0..n-1``) to start at node 0; return it as one route."""
    tour = [int(t) for t in tour]
    if 0 not in tour:
        raise SolutionError("a tour must visit node 0")
    k = tour.index(0)
    return (tuple(tour[k + 1:] + tour[:k]),)


def evaluate(instance: Instance | FleetInstance, routes: Sequence[Sequence[int]],
             vehicles: Sequence[int] = ()) -> float:
    """Check ``routes`` against ``instance`` and return their recomputed cost.

    Raises :class:`SolutionError` naming the first violation: a customer missed
    or repeated, an unknown node, capacity exceeded, an empty route, or (TSP)
    more routes than the problem allows (a TSP tour is one). A fleet whose
    vehicles differ (:class:`FleetInstance`) needs the vehicle of each route
    and checks what its vehicles allow (see its ``cost_of``).
    """
    if isinstance(instance, FleetInstance):
        if len(routes) != len(vehicles):
            raise SolutionError(f"{instance.name}: {len(vehicles)} vehicles given for {len(routes)} routes")
        return float(instance.cost_of(routes, vehicles).objective)
    if len(vehicles):
        raise SolutionError(f"{instance.name}: its vehicles are all alike; expected no vehicle per route")
    seq = to_sequence(routes)
    distance, demand, capacity = instance.kernel_arrays()
    max_routes = -1 if instance.max_routes is None else instance.max_routes
    code, detail, cost = check_sequence(distance, demand, capacity, max_routes, seq)
    if code != OK:
        raise SolutionError(f"{instance.name}: {MESSAGES[code].format(detail=detail)}")
    return float(cost)


def make_solution(instance: Instance | FleetInstance, routes: Sequence[Sequence[int]], solver: str = "",
                  runtime: float = 0.0, history: Sequence[tuple[float, float]] = (),
                  vehicles: Sequence[int] = ()) -> Solution:
    """Build a :class:`Solution` whose cost is recomputed and verified by the checker (empty routes dropped,
    with their vehicles: ``vehicles`` holds the vehicle of each route where the fleet's vehicles differ)."""
    pairs = list(zip(routes, vehicles)) if len(vehicles) == len(routes) and len(vehicles) else None
    if pairs is None:
        checked = tuple(tuple(int(c) for c in r) for r in routes if len(r) > 0)
        chosen: tuple[int, ...] = tuple(int(v) for v in vehicles)
    else:
        kept = [(tuple(int(c) for c in r), int(v)) for r, v in pairs if len(r) > 0]
        checked, chosen = tuple(r for r, _ in kept), tuple(v for _, v in kept)
    cost = evaluate(instance, checked, chosen)
    return Solution(routes=checked, cost=cost, problem=instance.problem, solver=solver,
                    runtime=float(runtime), history=tuple((float(t), float(c)) for t, c in history),
                    vehicles=chosen)
