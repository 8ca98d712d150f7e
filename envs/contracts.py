"""What every batched environment and its state provide, as :class:`typing.Protocol` s.

The decoding loop (:func:`nco.policies.decoding.rollout`), the policies and the
Gymnasium adapters rely on these names and nothing else of a problem's env
module, so a new problem's env is complete when its classes satisfy them
(``tests/test_problems.py`` checks every registered one).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch

from .batch import Batch


@runtime_checkable
class State(Protocol):
    """Where every rollout of a batch stands; tensors are ``[B, S, ...]`` (S rollouts per instance)."""

    batch: Batch
    current: torch.Tensor  # [B, S] long: the node each rollout is at
    visited: torch.Tensor  # [B, S, N] bool
    length: torch.Tensor  # [B, S] the cost so far
    rows: torch.Tensor  # [B, 1] instance index of every rollout
    cols: torch.Tensor  # [1, S] rollout index
    steps: int

    @property
    def min_steps(self) -> int:
        """No rollout can be done before this many steps."""
        ...

    @property
    def mask(self) -> torch.Tensor:
        """``[B, S, N]``: True where the next action is allowed."""
        ...

    @property
    def done(self) -> bool:
        """True once every rollout has a complete solution."""
        ...

    @property
    def reward(self) -> torch.Tensor:
        """``[B, S]`` minus the cost (valid once done)."""
        ...


@runtime_checkable
class Env(Protocol):
    """A batched MDP over a :class:`Batch`: reset, then step every rollout at once until done."""

    problem: str

    def reset(self, batch: Batch, num_starts: int = 1) -> State:
        """A fresh state with ``num_starts`` rollouts per instance."""
        ...

    def start_actions(self, state: State, offset: int = 0) -> torch.Tensor:
        """POMO's forced first actions ``[B, S]``: rollout ``s`` starts at start node ``offset + s``."""
        ...

    def step(self, state: State, action: torch.Tensor) -> State:
        """Take ``action [B, S]`` (in place) and return the state."""
        ...


@runtime_checkable
class OneStepEnv(Protocol):
    """A batched MDP decided in one step (network paths): ``reset``, then one ``step`` with every decision."""

    problem: str
    mode: str
    one_step: bool

    def reset(self, batch: Any, num_starts: int = 1) -> Any:
        """A fresh state with ``num_starts`` rollouts per instance."""
        ...

    def step(self, state: Any, action: torch.Tensor) -> Any:
        """Take the whole ``action [B, S, ...]``; the state is then done, with its ``reward [B, S]``."""
        ...
