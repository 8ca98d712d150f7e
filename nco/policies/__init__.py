"""Neural policies (``nco.policies``): the Attention Model, POMO, matrix-aware POMO, the Pointer Network and
CAMP for fleets.

Every policy has ``encode(batch) -> cache`` and ``logits(cache, state) ->
[B, S, N]`` (the :class:`~nco.policies.contracts.Policy` protocol);
:mod:`nco.policies.decoding` turns them into solutions.
"""

from __future__ import annotations

from nco.data import InstanceError, SolverError, get_problem

from .attention import AttentionPolicy
from .camp import CAMPPolicy
from .contracts import Policy, PolicyModule
from .matrix import MatrixPolicy
from .pointer import PointerNetwork

# Hyperparameters of each named policy as published (embedding 128, 8 heads, FF 512).
PRESETS: dict[str, dict] = {
    "am": {"cls": "attention", "num_layers": 3, "norm": "batch", "graph_context": True},
    "pomo": {"cls": "attention", "num_layers": 6, "norm": "instance", "graph_context": False},
    "matrix": {"cls": "matrix"},  # POMO's shape, attention biased by the distance matrix
    "ptrnet": {"cls": "pointer"},
    "camp": {"cls": "camp"},  # fleets: vehicles' profiles and nodes attend to each other (CAMP, AAMAS 2025)
    "gnn": {"cls": "gnn"},  # network paths: message passing over links and paths (TEAL's FlowGNN, HARP's rounds)
}

# Policies decoded from every start node at once (POMO's multiple starts).
MULTISTART = ("pomo", "matrix")

# What each policy trains with unless told otherwise.
DEFAULT_BASELINE = {"am": "rollout", "pomo": "shared", "matrix": "shared", "ptrnet": "exponential", "camp": "shared",
                    "gnn": "shared"}


def make_policy(name: str, problem: str, **overrides) -> PolicyModule:
    """A fresh policy ``am``, ``pomo``, ``matrix``, ``ptrnet``, ``camp`` or ``gnn`` for ``problem``, with published
    hyperparameters."""
    if name not in PRESETS:
        raise SolverError(f"unknown policy {name!r}; expected one of {', '.join(PRESETS)}")
    spec = get_problem(problem)
    if name not in spec.policies:
        raise InstanceError(f"the {name} policy does not solve the {spec.title}; expected one of "
                            f"{', '.join(spec.policies)}", field="problem")
    config = {k: v for k, v in PRESETS[name].items() if k != "cls"} | overrides
    if PRESETS[name]["cls"] == "pointer":
        return PointerNetwork(problem, **config)
    if PRESETS[name]["cls"] == "matrix":
        return MatrixPolicy(problem, **config)
    if PRESETS[name]["cls"] == "camp":
        return CAMPPolicy(problem, **config)
    if PRESETS[name]["cls"] == "gnn":  # torch-geometric loads with it only
        from .paths import FlowGNN

        return FlowGNN(problem, **config)
    return AttentionPolicy(problem, **config)


__all__ = ["AttentionPolicy", "CAMPPolicy", "MatrixPolicy", "PointerNetwork", "Policy", "PolicyModule", "PRESETS",
           "DEFAULT_BASELINE", "MULTISTART", "make_policy"]
