"""Batched PyTorch environments and Gymnasium adapters (``nco.envs``).

One module per problem holds its MDP (``nco.envs.<problem>``; :func:`make_env`
finds it through the registry). The torch modules load on first use, so that
``import nco`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .contracts import Env

_LAZY = {
    "Batch": "batch", "random_batch": "batch", "from_instances": "batch", "kool_batch": "batch",
    "Env": "contracts", "State": "contracts",
}


def make_env(problem: str, **options: Any) -> Env:
    """The batched environment of a registered problem (see ``nco.data.problems``), made with ``options``
    (a fleet's decoding ``mode``)."""
    from nco.data import get_problem

    return get_problem(problem).env_module().ENV(**options)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [*_LAZY, "make_env"]
