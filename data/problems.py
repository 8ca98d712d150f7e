"""The registry of problems: each name maps to the problem's module in every layer.

This is the one place that lists the problems. Code outside a problem's own
modules asks the registry (:func:`get_problem`, :func:`problem_of`) and never
compares problem names; an unknown name is one :class:`InstanceError` that
lists the registered ones. The recipe for adding a problem is in
``ADDING_A_PROBLEM.md`` at the repository root.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable

from . import cvrp, paths, pvrp, tsp
from .errors import InstanceError


@dataclass(frozen=True)
class Problem:
    """One problem's spec: its name, its instance type and the module of each layer that knows it.

    ``data`` is the problem's module in ``nco.data`` (instance class,
    ``draw``/``features`` generators, ``kool_arrays``, file reading and
    writing, ``routes_of``); ``env`` and ``policy`` name its modules in
    ``nco.envs`` and ``nco.policies`` (imported on first use, so that the
    classical side never loads torch); ``gym_id`` is its Gymnasium id;
    ``depot`` says whether node 0 is a depot (not a customer, not a start);
    ``policies`` are the policy presets that solve it; ``reference`` is
    Kool et al.'s published mean test-set cost by size, from ``reference_solver``;
    ``random(size, batch=None, seed=0, distribution="uniform")`` draws seeded instances.
    ``gym_entry`` maps a Gymnasium id to the problem's own adapter class (``module:Class``) where the routing
    adapters do not fit (one-step path selection); ``cli`` names a module whose ``add_parser(subparsers)``
    adds the problem's own commands (``nco solve-network``). A problem without its learned half yet has no
    ``env``, ``policy`` or ``gym_id``; ``solvers`` names its own module of classical solvers (None:
    the common ones); ``presets`` are the names ``nco solve --problem`` also
    takes for it (each a generator's preset, passed to ``random``).
    """

    name: str
    title: str
    instance_type: type
    random: Callable[..., Any]
    data: ModuleType
    env: str | None
    policy: str | None
    gym_id: str | None
    depot: bool
    policies: tuple[str, ...] = ()
    reference: dict[int, float] = field(default_factory=dict)
    reference_solver: str = ""
    solvers: str | None = None
    presets: tuple[str, ...] = ()
    gym_presets: dict[str, str] = field(default_factory=dict)
    compare: str = ""
    gym_entry: dict[str, str] = field(default_factory=dict)
    cli: str | None = None

    @property
    def learned(self) -> bool:
        """Whether the problem has its learned half (an environment and policies)."""
        return self.env is not None

    def env_module(self) -> ModuleType:
        """The problem's batched MDP module in ``nco.envs`` (loads torch)."""
        if self.env is None:
            raise InstanceError(f"the {self.title} has no environment or policy yet; solve it with its classical "
                                "solvers (nco solve --solver ...)", field="problem")
        return importlib.import_module(self.env)

    def policy_module(self) -> ModuleType:
        """The problem's policy-context module in ``nco.policies`` (loads torch)."""
        if self.policy is None:
            self.env_module()  # the same error
        return importlib.import_module(str(self.policy))



PROBLEMS: dict[str, Problem] = {
    "tsp": Problem("tsp", "TSP", tsp.TSPInstance, tsp.random_tsp, tsp, "nco.envs.tsp", "nco.policies.tsp", "nco/TSP-v0",
                   depot=False,
                   policies=("am", "pomo", "matrix", "ptrnet"),
                   reference={20: 3.84, 50: 5.70, 100: 7.76}, reference_solver="Concorde"),
    "cvrp": Problem("cvrp", "CVRP", cvrp.CVRPInstance, cvrp.random_cvrp, cvrp, "nco.envs.cvrp", "nco.policies.cvrp",
                    "nco/CVRP-v0", depot=True,
                    policies=("am", "pomo", "matrix"),
                    reference={20: 6.14, 50: 10.38, 100: 15.65}, reference_solver="LKH3"),
    "pvrp": Problem("pvrp", "PVRP", pvrp.PVRPInstance, pvrp.random_fleet, pvrp, "nco.envs.pvrp", "nco.policies.pvrp",
                    "nco/PVRP-v0", depot=True, policies=("camp",), solvers="nco.solvers.pvrp", presets=pvrp.PRESETS,
                    gym_presets={"nco/HCVRP-v0": "hcvrp"}, compare="ortools,ga"),
    "paths": Problem("paths", "network path selection", paths.PathsInstance, paths.random_paths, paths,
                     "nco.envs.paths", "nco.policies.paths", "nco/PathSplit-v0", depot=False, policies=("gnn",),
                     solvers="nco.solvers.paths",
                     gym_entry={"nco/PathSplit-v0": "nco.envs.paths:PathSplitGym",
                                "nco/FlowArrival-v0": "nco.envs.paths_online:FlowArrivalGym"},
                     cli="nco.paths"),
}

DEFAULT_PROBLEM = "cvrp"  # what `nco solve` generates when given no instance: the main job


def get_problem(name: str) -> Problem:
    """The registered problem ``name``, or an :class:`InstanceError` that lists the registered ones."""
    try:
        return PROBLEMS[name]
    except (KeyError, TypeError):
        raise InstanceError(f"unknown problem {name!r}; expected one of {', '.join(PROBLEMS)}",
                            field="problem") from None


def problem_for(name: str) -> tuple[Problem, str | None]:
    """The problem that ``name`` names, itself or as one of its presets, and the preset (or None)."""
    for problem in PROBLEMS.values():
        if name in problem.presets:
            return problem, name
    return get_problem(name), None


def problem_of(instance: Any) -> Problem:
    """The problem of an instance (or of anything with a ``problem`` name: a batch, a solution)."""
    name = getattr(instance, "problem", None)
    if not isinstance(name, str):
        raise InstanceError(f"expected an instance of one of {', '.join(PROBLEMS)}, got {type(instance).__name__}",
                            field="problem")
    return get_problem(name)


def problem_for_file_type(kind: str, path: str) -> Problem:
    """The problem whose files carry ``TYPE : kind`` (TSPLIB/VRPLIB), or an error listing the known types."""
    for problem in PROBLEMS.values():
        if kind in getattr(problem.data, "FILE_TYPES", ()):
            return problem
    known = [t for p in PROBLEMS.values() for t in getattr(p.data, "FILE_TYPES", ())]
    raise InstanceError(f"unsupported problem type {kind!r}; expected {', '.join(known)}", field="TYPE", path=path)


def file_type_of(fields: dict[str, Any]) -> str:
    """The TYPE of a parsed file that has no TYPE line: the problem whose marker field it has, else the
    first problem without a marker (TSPLIB's plain tour files)."""
    for problem in PROBLEMS.values():
        marker = getattr(problem.data, "FILE_MARKER", None)
        if marker is not None and marker in fields:
            return problem.data.FILE_TYPES[0]
    return next(p.data.FILE_TYPES[0] for p in PROBLEMS.values() if getattr(p.data, "FILE_MARKER", None) is None)
