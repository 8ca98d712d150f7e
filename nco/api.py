"""The public Python API: ``nco.load`` and ``nco.solve``."""

from __future__ import annotations

import os

from nco.data import PROBLEMS, Instance, InstanceError, Solution, SolverError, problem_of, read_instance
from nco.solvers import get_solver, solvers_for
from nco.solvers.common import check_seed, check_time_limit
from nco.solvers.warmup import warm_up


HYBRIDS = ("neural+ga", "neural+ortools")


def load(path: str | os.PathLike) -> Instance:
    """Read a TSPLIB (``.tsp``, ``.atsp``) or VRPLIB (``.vrp``) instance file."""
    return read_instance(path)


def solve(instance: Instance | str | os.PathLike, solver: str = "ortools", time_limit: float = 10.0,
          seed: int = 0, initial: Solution | None = None) -> Solution:
    """Solve ``instance`` (or the instance file at that path) with the named solver.

    ``solver`` is ``neural`` (the shipped policy nearest in size), a hybrid
    (``neural+ga``, ``neural+ortools``: the policy's solutions seed the
    refiner) or one of ``nco.solvers.SOLVERS`` (``nearest``, ``savings``,
    ``ls``, ``ortools``, ``ga``); ``time_limit`` is wall-clock seconds; ``initial``
    seeds solvers that accept a starting solution. The returned solution has
    been verified by the checker (each customer once, capacity held, cost
    recomputed from the matrix). The first call in a process first loads the
    Numba kernels (compiling them in a fresh install, about a minute; see
    :mod:`nco.solvers.warmup`), outside the time limit.
    """
    if isinstance(instance, (str, os.PathLike)):
        instance = load(instance)
    types = tuple(p.instance_type for p in PROBLEMS.values())
    if not isinstance(instance, types):
        raise InstanceError(f"expected {', '.join(t.__name__ for t in types)} or a file path, "
                            f"got {type(instance).__name__}")
    time_limit, seed = check_time_limit(time_limit), check_seed(seed)
    if initial is not None and not isinstance(initial, Solution):
        raise SolverError(f"initial: expected a Solution (or None), got {type(initial).__name__}")
    problem = problem_of(instance)
    neural = solver == "neural" or solver in HYBRIDS
    classical = None if neural else get_solver(solver, problem)  # names checked first
    if neural and not problem.learned:
        raise SolverError(f"{solver!r} does not solve the {problem.title} (yet: no policy); expected one of "
                          f"{', '.join(solvers_for(problem))}")
    warm_up()  # Numba compiles outside the time limit (a minute in a fresh install, then cached)
    if solver == "neural":  # the neural side loads torch only when asked for
        from .neural import solve_neural

        return solve_neural(instance, time_limit=time_limit, seed=seed, initial=initial)
    if solver in HYBRIDS:
        from .hybrid import solve_hybrid

        return solve_hybrid(instance, solver.split("+")[1], time_limit=time_limit, seed=seed)
    assert classical is not None
    return classical(instance, time_limit=time_limit, seed=seed, initial=initial)
