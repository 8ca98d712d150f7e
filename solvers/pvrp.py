"""The classical solvers of profiled fleets (the registry's ``solvers`` module for ``nco.data.pvrp``).

Same signature as every solver, ``solver(instance, time_limit, seed,
initial) -> Solution``, with each route's vehicle in ``Solution.vehicles``.
"""

from __future__ import annotations

from typing import Any

from nco.data.pvrp import PVRPInstance
from nco.data.solution import make_solution

from .ortools_fleet import ortools_fleet

SOLVERS: dict[str, Any] = {"ortools": ortools_fleet}


def warm_up(instance: PVRPInstance) -> None:
    """Compile the fleet checker on a reloading ``instance`` (the default preset's): each customer a trip of
    its own, on the vehicle with the most room for it."""
    routes = [[c] for c in range(1, instance.num_nodes)]
    vehicles = [int((instance.allowed[:, c - 1] * instance.capacity).argmax()) for c in range(1, instance.num_nodes)]
    make_solution(instance, routes, vehicles=vehicles)
