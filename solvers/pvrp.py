"""The classical solvers of profiled fleets (the registry's ``solvers`` module for ``nco.data.pvrp``).

Same signature as every solver, ``solver(instance, time_limit, seed,
initial) -> Solution``, with each route's vehicle in ``Solution.vehicles``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from nco.data import Solution, SolverError
from nco.data.pvrp import PVRPInstance
from nco.data.solution import from_sequence
from nco.kernels.construct import GRANULAR_FROM, GRANULAR_NEIGHBOURS
from nco.kernels.fleet_savings import fleet_savings
from nco.kernels.search import neighbour_lists

from .common import Clock, check_time_limit, fleet_insertion, fleet_start
from .genetic import Params
from .genetic_fleet import FLEET_PARAMS, FleetSearch, genetic_fleet
from .ortools_fleet import ortools_fleet

INSERTION_TRIES = 50  # orders tried before a tight fleet is declared unfillable by insertion


def insertion(instance: PVRPInstance, time_limit: float = 10.0, seed: int = 0,
              initial: Solution | None = None) -> Solution:
    """Cheapest insertion (:func:`nco.kernels.fleet.cheapest_insertion`): customers by decreasing demand, then,
    when that order leaves one that fits nowhere (a tight fleet without reloads), random orders drawn with
    ``seed`` until one fits or ``INSERTION_TRIES`` or the time limit are spent. ``initial`` is not used."""
    clock = Clock(check_time_limit(time_limit))
    rng = np.random.default_rng(seed)
    order = None  # first by decreasing demand
    for _ in range(INSERTION_TRIES):
        seq, vehicles = fleet_insertion(instance, order)
        if seq.size:
            return clock.finish(instance, from_sequence(seq), "insertion", vehicles=vehicles)
        if clock.remaining() <= 0:
            break
        order = rng.permutation(np.arange(1, instance.num_nodes))
    raise SolverError(f"insertion: no order of {instance.name}'s customers fits its fleet (tried "
                      f"{INSERTION_TRIES}); use ortools")


def savings(instance: PVRPInstance, time_limit: float = 10.0, seed: int = 0,
            initial: Solution | None = None) -> Solution:
    """Clarke-Wright savings for fleets (:func:`nco.kernels.fleet_savings.fleet_savings`: two routes merge only
    where some vehicle may serve both and the largest such one carries them), then the fleet Split on that
    order gives each trip its vehicle (cut for smaller ones where that is cheaper). ``seed`` and ``initial``
    are not used."""
    clock = Clock(check_time_limit(time_limit))
    search = FleetSearch(instance, seed, FLEET_PARAMS)
    n = instance.num_nodes
    near = neighbour_lists(search.dist, GRANULAR_NEIGHBOURS) if n >= GRANULAR_FROM else np.zeros((n, 0), np.int64)
    order, _ = fleet_savings(search.dist, search.demand, search.fleet[0], search.fleet[4], instance.symmetric, near)
    best = search.split(order)
    if best.excess:
        # Seen on 3 of the 43 HFVRP files (X115, X214, X247-HVRP: fleets 84-99% full, a packing problem).
        raise SolverError(f"savings: its routes of {instance.name} do not fit the fleet (a limited fleet without "
                          "reloads); use ga or ortools")
    return clock.finish(instance, from_sequence(best.seq), "savings", vehicles=best.vehicles)


def ortools(instance: PVRPInstance, time_limit: float = 10.0, seed: int = 0,
            initial: Solution | None = None) -> Solution:
    """OR-Tools (:func:`nco.solvers.ortools_fleet.ortools_fleet`) from ``initial``; for min-max without one,
    from :func:`insertion`, whose balanced trips are a far better start than OR-Tools' own (3 s on HCVRP
    40 x 3: 4.24 against 8.09; 100 x 5: 7.16 against 8.14). For min-sum OR-Tools' own start did better
    (PVRP-P 40: -0.64 against -0.33; X101-FSMFD: 43794 against 47424), so it keeps it, with insertion's as
    the fallback when OR-Tools finds none (X143-FSMF at 2 s)."""
    clock = Clock(check_time_limit(time_limit))
    start = None
    if initial is None:
        try:
            start = insertion(instance, time_limit=0.1 * clock.time_limit, seed=seed)
        except SolverError:
            start = None
        if instance.objective == "min-max":
            initial = start
    return ortools_fleet(instance, time_limit=max(clock.remaining(), 0.05 * clock.time_limit), seed=seed,
                         initial=initial, fallback=start)


def local_search(instance: PVRPInstance, time_limit: float = 10.0, seed: int = 0,
                 initial: Solution | None = None) -> Solution:
    """The fleet local search (:mod:`nco.kernels.fleet_search`, capacities hard) from ``initial`` or, without
    one, from :func:`insertion`'s solution (given at most half the limit), to a local optimum or the limit."""
    clock = Clock(check_time_limit(time_limit))
    start = initial or insertion(instance, time_limit=0.5 * clock.time_limit, seed=seed)
    search = FleetSearch(instance, seed, FLEET_PARAMS)
    best = search.improved(fleet_start(instance, start), clock.deadline)
    return clock.finish(instance, from_sequence(best.seq), "ls", vehicles=best.vehicles)


SOLVERS: dict[str, Any] = {"ga": genetic_fleet, "ls": local_search, "ortools": ortools, "insertion": insertion,
                           "savings": savings}


def warm_up(instance: PVRPInstance) -> None:
    """Compile the fleet kernels (insertion, the checker, the GA's Split and local search, for both
    objectives) on a reloading ``instance`` (the default preset's), where insertion always finds a solution:
    without this the first call in a process compiled inside its time limit (0.7 s measured for insertion,
    most of a minute for the GA)."""
    insertion(instance, time_limit=60.0)
    savings(instance, time_limit=60.0)
    for objective in ("min-sum", "min-max"):
        twin = dataclasses.replace(instance, objective=objective)
        genetic_fleet(twin, time_limit=60.0, max_iterations=1, params=Params(mu=2, lam=2))
