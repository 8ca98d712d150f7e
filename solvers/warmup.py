"""Compile the Numba kernels before any clock starts.

Numba compiles a kernel on its first call and caches the machine code on
disk. In a fresh install the first solve would spend about a minute (on a
2-core machine) compiling inside its time limit and return a worse solution
than the next call; :func:`warm_up` runs every kernel once on tiny instances
instead, outside any limit: a minute the first time, about a second in each
later process (loading from the cache). ``nco.solve`` and ``nco solve`` call
it before timing a solver.
"""

from __future__ import annotations

import functools
import importlib
import time


@functools.cache
def warm_up() -> float:
    """Compile (or load from Numba's disk cache) the kernels every solver uses; the seconds it took.
    Runs once per process."""
    from nco.data import PROBLEMS

    from . import SOLVERS

    started = time.perf_counter()
    for problem in PROBLEMS.values():  # each problem's own kernel signatures (a TSP has no demands)
        instance = problem.random(12, seed=0)
        if problem.solvers is not None:  # a problem with its own solvers warms them up itself
            importlib.import_module(problem.solvers).warm_up(instance)
            continue
        SOLVERS["ga"](instance, time_limit=60.0, max_iterations=3)
        for name in ("nearest", "savings", "ls"):
            SOLVERS[name](instance, time_limit=60.0)
    return time.perf_counter() - started
