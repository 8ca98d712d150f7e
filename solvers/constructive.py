"""Constructive heuristics: nearest neighbour and Clarke-Wright savings (instant; no time limit needed)."""

from __future__ import annotations

from nco import kernels
from nco.data import Instance, Solution, from_sequence

from .common import Clock, check_time_limit


def nearest_neighbour(instance: Instance, time_limit: float = 10.0, seed: int = 0,
                      initial: Solution | None = None) -> Solution:
    """Greedy nearest-neighbour routes from the depot (``time_limit``, ``seed``, ``initial`` are unused)."""
    clock = Clock(check_time_limit(time_limit))
    dist, demand, capacity = instance.kernel_arrays()
    seq = kernels.nearest_neighbour(dist, demand, capacity)
    return clock.finish(instance, from_sequence(seq), "nearest")


def savings(instance: Instance, time_limit: float = 10.0, seed: int = 0,
            initial: Solution | None = None) -> Solution:
    """Clarke-Wright parallel savings (``time_limit``, ``seed``, ``initial`` are unused).

    An instance of one route (a TSP) has zero demands and merges until one tour is left.
    """
    clock = Clock(check_time_limit(time_limit))
    dist, demand, capacity = instance.kernel_arrays()
    seq = kernels.savings(dist, demand, capacity, instance.symmetric, instance.max_routes == 1)
    return clock.finish(instance, from_sequence(seq), "savings")
