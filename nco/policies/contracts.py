"""What every policy provides to the decoding loop, as a :class:`typing.Protocol`.

A policy encodes a batch once and then scores the next action of every
rollout at each step; :mod:`nco.policies.decoding` turns the scores into
greedy, sampled or multi-start solutions, so a new policy needs only these two
methods (and to be a ``torch.nn.Module`` for training and checkpoints).
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, runtime_checkable

import torch
from torch import nn

from nco.envs.batch import Batch
from nco.envs.contracts import State


Pace = Callable[[int, int], None]  # (layers done, layers in all), called after each encoder layer


@runtime_checkable
class Policy(Protocol):
    """Scores the next action of every rollout: ``encode`` once per batch, ``logits`` once per step."""

    problem: str

    def encode(self, batch: Batch, pace: Pace | None = None) -> Any:
        """What the decoder reuses at every step (node embeddings and their projections). ``pace(done,
        total)`` after each of the encoder's layers lets a caller with a deadline stop it (by raising)."""
        ...

    def logits(self, cache: Any, state: State) -> torch.Tensor:
        """``[B, S, N]`` scores of the next node, ``-inf`` where ``state.mask`` forbids it."""
        ...


class PolicyModule(nn.Module):
    """The base of nco's policies: a torch module (parameters, training, checkpoints) that keeps the
    :class:`Policy` contract; subclasses define ``encode`` and ``logits``."""

    problem: str

    def encode(self, batch: Batch, pace: Pace | None = None) -> Any:
        """What the decoder reuses at every step; ``pace`` as in :meth:`Policy.encode`."""
        raise NotImplementedError

    def logits(self, cache: Any, state: State) -> torch.Tensor:
        """``[B, S, N]`` scores of the next node."""
        raise NotImplementedError

    def act(self, cache: Any, num_samples: int, greedy: bool, mode: str = "split",
            temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """A one-step problem's whole actions ``[B, S, ...]`` and their log-probabilities ``[B, S]`` (network
        paths: every demand's split at once); step-by-step policies use :meth:`logits` instead."""
        raise NotImplementedError
