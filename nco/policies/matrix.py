"""A matrix-aware POMO: attention biased by the (asymmetric) distance matrix and by bearings.

Coordinates alone cannot tell a one-way street from a two-way one, nor a
river from a bridge: on real road networks the matrix is the instance.
Following MatNet (Kwon et al. 2021) and RRNCO (Son et al. 2025), every
encoder layer adds a learned per-head bias to its attention scores, computed
from the pair features of nodes i and j: ``d(i, j)``, ``d(j, i)`` (both
directions, so asymmetry is seen) and the bearing from i to j (cos, sin;
zero without coordinates). Node embeddings add row statistics of the matrix
(mean and nearest distance out of and into each node, and for CVRP the
distance from and to the depot), and the decoder adds a learned multiple of
``d(current, j)`` to its logits. Distances are divided by the instance's mean
arc, so metres, seconds and unit-square lengths all look alike.

Every added weight starts at zero, so a fresh policy computes exactly what
POMO computes, and :meth:`MatrixPolicy.load_pomo` turns a trained POMO
checkpoint into the starting point of matrix-aware training.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from nco.data import get_problem
from nco.envs.batch import Batch, mean_scaled

from .attention import AttentionPolicy, Cache
from .contracts import Pace

PAIR_FEATURES = 4  # d(i, j), d(j, i), cos and sin of the bearing from i to j
PAIR_HIDDEN = 32


def pair_features(batch: Batch, dist: torch.Tensor) -> torch.Tensor:
    """``[B, N, N, 4]``: scaled d(i, j), d(j, i), and the bearing from i to j (zeros without coordinates)."""
    if batch.coords is None:
        bearing = dist.new_zeros(*dist.shape, 2)
    else:
        delta = batch.coords[:, None, :, :] - batch.coords[:, :, None, :]  # [B, N, N, 2]: j minus i
        bearing = delta / delta.norm(dim=-1, keepdim=True).clamp_min(1e-9)
    return torch.cat([dist[..., None], dist.transpose(1, 2)[..., None], bearing], -1)


def node_features(problem: str, dist: torch.Tensor) -> torch.Tensor:
    """``[B, N, F]`` row statistics of the scaled matrix, then the problem's own (CVRP: from and to the
    depot; F is its context's ``matrix_features``)."""
    n = dist.shape[1]
    off = dist + torch.diag(dist.new_full((n,), float("inf")))  # the diagonal never counts as nearest
    feats = [dist.sum(2) / (n - 1), dist.sum(1) / (n - 1), off.amin(2), off.amin(1)]
    feats += get_problem(problem).policy_module().CONTEXT.depot_features(dist)
    return torch.stack(feats, -1)


class MatrixPolicy(AttentionPolicy):
    """POMO (6 layers, instance norm by default) whose encoder and decoder also read the distance matrix."""

    def __init__(self, problem: str, embed_dim: int = 128, num_heads: int = 8, num_layers: int = 6,
                 ff_hidden: int = 512, norm: str = "instance", graph_context: bool = False, tanh_clip: float = 10.0):
        super().__init__(problem, embed_dim, num_heads, num_layers, ff_hidden, norm, graph_context, tanh_clip)
        self.node_stats = nn.Linear(self.problem_context.matrix_features, embed_dim)
        self.pair_hidden = nn.Sequential(nn.Linear(PAIR_FEATURES, PAIR_HIDDEN), nn.ReLU())
        self.pair_bias = nn.ModuleList(nn.Linear(PAIR_HIDDEN, num_heads) for _ in range(num_layers))
        self.distance_weight = nn.Parameter(torch.zeros(()))
        for layer in [self.node_stats, *self.pair_bias]:
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def _coords_or_zeros(self, batch: Batch) -> Batch:
        if batch.coords is not None:
            return batch
        zeros = batch.dist.new_zeros(batch.size, batch.num_nodes, 2)
        return dataclasses.replace(batch, coords=zeros)

    def encode(self, batch: Batch, pace: Pace | None = None) -> Cache:
        """Embed nodes (coordinates, demands, matrix statistics) and refine them with matrix-biased attention
        (``pace`` after each layer, see :class:`nco.policies.contracts.Policy`)."""
        dist = mean_scaled(batch.dist)
        h = self._embed(self._coords_or_zeros(batch)) + self.node_stats(node_features(self.problem, dist))
        hidden = self.pair_hidden(pair_features(batch, dist))  # [B, N, N, PAIR_HIDDEN], shared by the layers
        for done, (layer, bias) in enumerate(zip(self.layers, self.pair_bias), 1):
            h = layer(h, bias(hidden).permute(0, 3, 1, 2))
            if pace is not None:
                pace(done, len(self.layers))
        return self._cache(h, dist)

    def logits(self, cache: Cache, state) -> torch.Tensor:
        """POMO's logits plus ``distance_weight * d(current, j)`` (once there is a current node)."""
        scores = super().logits(cache, state)
        if not self.problem_context.has_current(state):
            return scores
        assert cache.dist is not None  # the matrix policy's encode keeps it
        return scores + self.distance_weight * cache.dist[state.rows, state.current].to(scores.dtype)

    def load_pomo(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Start from a trained POMO's weights; the matrix-reading weights keep their zero start."""
        missing, unexpected = self.load_state_dict(state_dict, strict=False)
        own = ("node_stats.", "pair_hidden.", "pair_bias.", "distance_weight")
        if unexpected or any(not key.startswith(own) for key in missing):
            raise ValueError(f"not a POMO state for this policy (missing {missing}, unexpected {unexpected})")
