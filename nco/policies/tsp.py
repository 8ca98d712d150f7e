"""What the TSP adds to the attention policies: node features (x, y) and the decoder's context.

The context query is ``[first, current]``: the city the tour started from and
the city it stands on; before the first step a learned placeholder stands in
for both. The parameters are made on the policy itself (``embed``,
``context``, ``placeholder``), so checkpoints keep their names.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nco.envs.batch import Batch


class TSPContext:
    """The TSP's embedding and context query for :class:`nco.policies.attention.AttentionPolicy`."""

    matrix_features = 4  # row statistics of the matrix-aware policy (see nco.policies.matrix)

    def build(self, policy: Any, d: int) -> None:
        """Make the problem's layers on ``policy`` (in this order: initialisation draws depend on it)."""
        policy.embed = nn.Linear(2, d)
        policy.context = nn.Linear(2 * d, d, bias=False)  # [first, current]
        policy.placeholder = nn.Parameter(torch.empty(2 * d).uniform_(-1, 1))  # before the first step

    def embed(self, policy: Any, batch: Batch) -> torch.Tensor:
        """``[B, N, D]`` initial node embeddings."""
        return policy.embed(batch.coords)

    def project(self, policy: Any, h: torch.Tensor, graph: torch.Tensor) -> dict[str, torch.Tensor]:
        """The query part of each node as the current and as the first one, and the start query."""
        d = h.shape[-1]
        w = policy.context.weight  # [D, 2D]: first, current
        return {"first_q": F.linear(h, w[:, :d]), "current_q": graph + F.linear(h, w[:, d:]),
                "start_q": graph + F.linear(policy.placeholder.to(h.dtype), w)}

    def query(self, cache, state) -> torch.Tensor:
        """``[B, S, D]`` the step's query, gathered from the cached projections."""
        if state.steps == 0:
            b, s = state.current.shape
            return cache.start_q.expand(b, s, -1)
        return cache.first_q[state.rows, state.first] + cache.current_q[state.rows, state.current]

    def has_current(self, state) -> bool:
        """Whether the rollouts stand on a node yet (not before the first step)."""
        return state.steps > 0

    def depot_features(self, dist: torch.Tensor) -> list[torch.Tensor]:
        """Extra matrix features of the matrix-aware policy: none (no depot)."""
        return []


CONTEXT = TSPContext()
