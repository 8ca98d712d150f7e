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


SOLVERS: dict[str, Any] = {"ga": genetic_fleet, "ls": local_search, "ortools": ortools, "insertion": insertion}


def warm_up(instance: PVRPInstance) -> None:
    """Compile the fleet kernels (insertion, the checker, the GA's Split and local search, for both
    objectives) on a reloading ``instance`` (the default preset's), where insertion always finds a solution:
    without this the first call in a process compiled inside its time limit (0.7 s measured for insertion,
    most of a minute for the GA)."""
    insertion(instance, time_limit=60.0)
    for objective in ("min-sum", "min-max"):
        twin = dataclasses.replace(instance, objective=objective)
        genetic_fleet(twin, time_limit=60.0, max_iterations=1, params=Params(mu=2, lam=2))
