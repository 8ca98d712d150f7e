"""A profile-aware policy for fleets of vehicles that differ, after CAMP (Hua et al., AAMAS 2025).

Encoder: customers and vehicles are embedded apart (a vehicle's profile:
capacity, speed, costs and the objective's weights), and each layer lets
the nodes attend to each other, the vehicles to the nodes and the nodes to
the vehicles (both biased, per head, by the pair's preference and whether
the vehicle may serve the node), and the vehicles to each other.

Decoder: at each step every vehicle has a query (its profile, the node it
stands on, its capacity left and time so far, its lag behind the longest);
the queries attend to each other (the vehicles communicate, as in CAMP and
PARCO), then each looks at the nodes it may go to (a glimpse) and scores
them, the score of node j for vehicle m adding the pair's preference times
a learned direction. The logits are ``[B, S, M, N]`` for a parallel env
(every vehicle picks a node) and the same flattened to ``[B, S, M * N]``
for a sequential one (a step picks one pair), so one policy decodes either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nco.data import InstanceError, get_problem
from nco.envs.batch import Batch

from .attention import EncoderLayer, Norm
from .contracts import Pace, PolicyModule


class CrossLayer(nn.Module):
    """One set attends to another (with a per-head bias), then feed-forward; skips and instance norms."""

    def __init__(self, dim: int, heads: int, ff_hidden: int):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim, bias=False)
        self.kv = nn.Linear(dim, 2 * dim, bias=False)
        self.out = nn.Linear(dim, dim)
        self.norm1 = Norm(dim, "instance")
        self.ff = nn.Sequential(nn.Linear(dim, ff_hidden), nn.ReLU(), nn.Linear(ff_hidden, dim))
        self.norm2 = Norm(dim, "instance")

    def forward(self, x: torch.Tensor, other: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """``x [B, A, D]`` attends to ``other [B, C, D]``; ``bias [B, heads, A, C]`` is added to the scores."""
        b, a, d = x.shape
        c = other.shape[1]
        q = self.q(x).view(b, a, self.heads, d // self.heads).transpose(1, 2)
        k, v = self.kv(other).view(b, c, 2, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype)).transpose(1, 2).reshape(b, a, d)
        x = self.norm1(x + self.out(att))
        return self.norm2(x + self.ff(x))


class FleetLayer(nn.Module):
    """One encoder layer: nodes with nodes, vehicles with nodes and back, vehicles with vehicles."""

    def __init__(self, dim: int, heads: int, ff_hidden: int, pair_features: int):
        super().__init__()
        self.nodes = EncoderLayer(dim, heads, ff_hidden, "instance")
        self.to_nodes = CrossLayer(dim, heads, ff_hidden)
        self.to_vehicles = CrossLayer(dim, heads, ff_hidden)
        self.vehicles = EncoderLayer(dim, heads, ff_hidden, "instance")
        self.pair_bias = nn.Linear(pair_features, heads)

    def forward(self, h: torch.Tensor, g: torch.Tensor, pairs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Nodes ``h [B, N, D]``, vehicles ``g [B, M, D]``, pair features ``[B, M, N, F]``."""
        bias = self.pair_bias(pairs).permute(0, 3, 1, 2)  # [B, heads, M, N]
        h = self.nodes(h)
        g = self.to_nodes(g, h, bias)
        h = self.to_vehicles(h, g, bias.transpose(2, 3))
        return h, self.vehicles(g)


@dataclass
class FleetCache:
    """What the decoder reuses at every step (see :class:`CAMPPolicy`)."""

    node_q: torch.Tensor  # [B, N, D] query part of each node as a vehicle's current one
    vehicle_q: torch.Tensor  # [B, M, D] query part of each vehicle's profile
    glimpse_k: torch.Tensor  # [B, H, N, D/H]
    glimpse_v: torch.Tensor  # [B, H, N, D/H]
    logit_k: torch.Tensor  # [B, N, D] pointer keys times the glimpse's output projection, over sqrt(D)
    preference: torch.Tensor  # [B, M, N] the pairs' preferences
    lean_key: torch.Tensor  # [D] the preference direction through the output projection, over sqrt(D)


class CAMPPolicy(PolicyModule):
    """CAMP-style policy for a registered fleet problem; its context (``nco.policies.<problem>``) says what
    the nodes, vehicles and pairs embed and what a vehicle's state adds to its query at a step."""

    def __init__(self, problem: str, embed_dim: int = 128, num_heads: int = 8, num_layers: int = 3,
                 ff_hidden: int = 512, tanh_clip: float = 10.0):
        super().__init__()
        self.problem = problem
        self.heads = num_heads
        self.tanh_clip = tanh_clip
        d = embed_dim
        self.problem_context = context = get_problem(problem).policy_module().CONTEXT
        self.embed_depot = nn.Linear(2, d)
        self.embed_nodes = nn.Linear(context.node_features, d)
        self.embed_vehicles = nn.Linear(context.vehicle_features, d)
        self.layers = nn.ModuleList(FleetLayer(d, num_heads, ff_hidden, context.pair_features)
                                    for _ in range(num_layers))
        self.project_node_q = nn.Linear(d, d, bias=False)
        self.project_vehicle_q = nn.Linear(d, d, bias=False)
        self.project_state = nn.Linear(context.state_features, d, bias=False)
        self.talk_qkv = nn.Linear(d, 3 * d, bias=False)  # the vehicles' queries attend to each other
        self.talk_out = nn.Linear(d, d, bias=False)
        self.project_nodes = nn.Linear(d, 3 * d, bias=False)
        self.project_out = nn.Linear(d, d, bias=False)
        self.preference_key = nn.Parameter(torch.zeros(d))  # the direction a pair's preference adds to its key

    def encode(self, batch: Batch, pace: Pace | None = None) -> FleetCache:
        """Embed the nodes and vehicles and refine them together (``pace`` after each layer)."""
        if batch.coords is None:
            raise InstanceError("this policy reads node coordinates; the instance has only a matrix", field="coords")
        context = self.problem_context
        nodes = context.nodes(batch)
        h = torch.cat([self.embed_depot(nodes[:, :1, :2]), self.embed_nodes(nodes[:, 1:])], 1)
        g = self.embed_vehicles(context.vehicles(batch))
        pairs = context.pairs(batch)
        for done, layer in enumerate(self.layers, 1):
            h, g = layer(h, g, pairs)
            if pace is not None:
                pace(done, len(self.layers))
        b, n, d = h.shape
        gk, gv, lk = self.project_nodes(h).chunk(3, -1)
        split = lambda t: t.view(b, n, self.heads, d // self.heads).transpose(1, 2)  # noqa: E731
        logit_k = torch.matmul(lk, self.project_out.weight.to(lk.dtype)) / math.sqrt(d)
        lean_key = (self.project_out.weight.t() @ self.preference_key) / math.sqrt(d)  # once per encoding
        return FleetCache(self.project_node_q(h), self.project_vehicle_q(g), split(gk), split(gv), logit_k,
                          batch.require("preference"), lean_key)

    def logits(self, cache: FleetCache, state) -> torch.Tensor:
        """``[B, S, M, N]`` logits (``[B, S, M * N]`` when the env's mask is over pairs); ``-inf`` where the
        mask forbids."""
        mask = state.mask
        b, s, m = state.current.shape
        n = cache.node_q.shape[1]
        per_vehicle = mask.view(b, s, m, n)
        q = (cache.node_q[state.rows[..., None], state.current] + cache.vehicle_q[:, None]
             + self.project_state(self.problem_context.state(state)))  # [B, S, M, D]
        q = q + self._talk(q)
        d = q.shape[-1]
        qh = q.view(b, s * m, self.heads, d // self.heads).transpose(1, 2)
        # a vehicle with nothing allowed (a sequential step that is another's) looks at every node instead
        look = (per_vehicle | ~per_vehicle.any(-1, keepdim=True)).view(b, 1, s * m, n)
        glimpse = F.scaled_dot_product_attention(qh, cache.glimpse_k, cache.glimpse_v, attn_mask=look)
        glimpse = glimpse.transpose(1, 2).reshape(b, s, m, d)
        raw = torch.matmul(glimpse.view(b, s * m, d), cache.logit_k.transpose(1, 2)).view(b, s, m, n)
        lean = torch.matmul(glimpse, cache.lean_key.to(glimpse.dtype))  # [B, S, M]
        raw = raw + lean[..., None] * cache.preference[:, None]
        scores = self.tanh_clip * torch.tanh(raw.float())
        return torch.where(per_vehicle, scores, float("-inf")).view(mask.shape)

    def _talk(self, q: torch.Tensor) -> torch.Tensor:
        """``[B, S, M, D]``: each vehicle's query attends to every vehicle's of its rollout."""
        b, s, m, d = q.shape
        qkv = self.talk_qkv(q).view(b * s, m, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        att = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        return self.talk_out(att.transpose(1, 2).reshape(b, s, m, d))
