"""Batched PyTorch environments and Gymnasium adapters (``nco.envs``).

The torch modules load on first use, so that ``import nco`` stays light.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "Batch": "batch", "random_batch": "batch", "from_instances": "batch",
    "TSPEnv": "tsp", "TSPState": "tsp", "CVRPEnv": "cvrp", "CVRPState": "cvrp",
}


def make_env(problem: str):
    """The batched environment for ``tsp`` or ``cvrp``."""
    from .cvrp import CVRPEnv
    from .tsp import TSPEnv

    envs = {"tsp": TSPEnv, "cvrp": CVRPEnv}
    if problem not in envs:
        from nco.data import InstanceError

        raise InstanceError(f"unknown problem {problem!r}; expected 'tsp' or 'cvrp'", field="problem")
    return envs[problem]()


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [*_LAZY, "make_env"]
