"""Classical solvers (``nco.solvers``): each takes an instance and returns a checker-verified ``Solution``.

Every solver has the signature ``solver(instance, time_limit=10.0, seed=0,
initial=None) -> Solution``. No torch here: classical solving stays light.
"""

from __future__ import annotations

import importlib
from typing import Callable

from nco.data import Problem, Solution, SolverError

from .constructive import nearest_neighbour, savings
from .genetic import genetic
from .improvement import local_search
from .ortools_routing import ortools

SolverFn = Callable[..., Solution]

SOLVERS: dict[str, SolverFn] = {
    "nearest": nearest_neighbour,
    "savings": savings,
    "ls": local_search,
    "ortools": ortools,
    "ga": genetic,
}


def solvers_for(problem: Problem) -> dict[str, SolverFn]:
    """The classical solvers that solve ``problem``: its own (``Problem.solvers``, a module in
    ``nco.solvers`` with a ``SOLVERS`` dict) or, by default, every one of :data:`SOLVERS`."""
    return importlib.import_module(problem.solvers).SOLVERS if problem.solvers else SOLVERS


def get_solver(name: str, problem: Problem | None = None) -> SolverFn:
    """The solver registered under ``name`` (for ``problem``: its own, see ``Problem.solvers``), or a
    :class:`SolverError` listing the names that solve it."""
    if problem is not None and problem.solvers:
        own = solvers_for(problem)
        if name not in own:
            raise SolverError(f"{name!r} does not solve the {problem.title} (yet); expected one of "
                              f"{', '.join(own)}")
        return own[name]
    try:
        return SOLVERS[name]
    except KeyError:
        raise SolverError(f"unknown solver {name!r}; expected one of neural, neural+ga, neural+ortools, "
                          f"{', '.join(SOLVERS)}") from None


__all__ = ["SOLVERS", "get_solver", "solvers_for", "nearest_neighbour", "savings", "local_search", "ortools", "genetic"]
