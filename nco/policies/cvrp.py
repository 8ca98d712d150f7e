"""What the CVRP adds to the attention policies: node features (x, y, demand) and the decoder's context.

The depot has its own embedding of (x, y); customers embed (x, y, demand).
The context query is ``[current, free capacity]``. The parameters are made on
the policy itself (``embed_depot``, ``embed``, ``context``), so checkpoints
keep their names.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nco.envs.batch import Batch


class CVRPContext:
    """The CVRP's embedding and context query for :class:`nco.policies.attention.AttentionPolicy`."""

    matrix_features = 6  # row statistics of the matrix-aware policy, with the distances from and to the depot

    def build(self, policy: Any, d: int) -> None:
        """Make the problem's layers on ``policy`` (in this order: initialisation draws depend on it)."""
        policy.embed_depot = nn.Linear(2, d)
        policy.embed = nn.Linear(3, d)
        policy.context = nn.Linear(d + 1, d, bias=False)  # [current, remaining capacity]

    def embed(self, policy: Any, batch: Batch) -> torch.Tensor:
        """``[B, N, D]`` initial node embeddings, the depot's first."""
        coords, demand = batch.require("coords"), batch.require("demand")
        depot = policy.embed_depot(coords[:, :1])
        customers = policy.embed(torch.cat([coords[:, 1:], demand[:, 1:, None]], -1))
        return torch.cat([depot, customers], 1)

    def project(self, policy: Any, h: torch.Tensor, graph: torch.Tensor) -> dict[str, torch.Tensor]:
        """The query part of each node as the current one, and of a full vehicle's free capacity."""
        d = h.shape[-1]
        w = policy.context.weight  # [D, D+1]: current, remaining capacity
        # The capacity column is taken once: a column read at every step costs three backward operations.
        return {"current_q": graph + F.linear(h, w[:, :d]), "capacity_q": w[:, -1]}

    def query(self, cache, state) -> torch.Tensor:
        """``[B, S, D]`` the step's query, gathered from the cached projections."""
        return cache.current_q[state.rows, state.current] + state.free[..., None] * cache.capacity_q

    def has_current(self, state) -> bool:
        """Whether the rollouts stand on a node yet: always (they start at the depot)."""
        return True

    def depot_features(self, dist: torch.Tensor) -> list[torch.Tensor]:
        """Extra matrix features of the matrix-aware policy: the distance from and to the depot."""
        return [dist[:, 0, :], dist[:, :, 0]]


CONTEXT = CVRPContext()
