"""The Attention Model (Kool et al. 2019) and POMO (Kwon et al. 2020) as one configurable policy.

Encoder: node embeddings refined by multi-head self-attention layers (with
``scaled_dot_product_attention``) and feed-forward sublayers, each with a skip
connection and batch norm (AM) or instance norm (POMO). Decoder: a context
query (graph embedding for AM, the first and current node, the remaining
capacity for CVRP) attends to the nodes (glimpse), then a single-head
compatibility with tanh clipping gives the logits of the next node.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nco.data import InstanceError, get_problem
from nco.envs.batch import Batch

from .contracts import Pace, PolicyModule


class Norm(nn.Module):
    """Batch norm over all nodes of the batch (AM) or instance norm per graph (POMO)."""

    def __init__(self, dim: int, kind: str):
        super().__init__()
        self.kind = kind
        self.norm = nn.BatchNorm1d(dim) if kind == "batch" else nn.InstanceNorm1d(dim, affine=True)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if self.kind == "batch":
            return self.norm(h.reshape(-1, h.shape[-1])).view_as(h)
        return self.norm(h.transpose(1, 2)).transpose(1, 2)


class EncoderLayer(nn.Module):
    """Self-attention then feed-forward, each with a skip connection and a norm."""

    def __init__(self, dim: int, heads: int, ff_hidden: int, norm: str):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.out = nn.Linear(dim, dim)
        self.norm1 = Norm(dim, norm)
        self.ff = nn.Sequential(nn.Linear(dim, ff_hidden), nn.ReLU(), nn.Linear(ff_hidden, dim))
        self.norm2 = Norm(dim, norm)

    def forward(self, h: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        """``bias [B, heads, N, N]``, when given, is added to the attention scores (matrix-aware encoders)."""
        b, n, d = h.shape
        q, k, v = self.qkv(h).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        if bias is not None:
            bias = bias.to(q.dtype)
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=bias).transpose(1, 2).reshape(b, n, d)
        h = self.norm1(h + self.out(att))
        return self.norm2(h + self.ff(h))


@dataclass
class Cache:
    """What the decoder reuses at every step: node embeddings and their projections.

    The step's query is linear in the embeddings of the nodes it names (the
    current node, and for TSP the first), so those projections are made here
    for every node at once and the step only gathers them; likewise the
    pointer's keys absorb the glimpse's output projection. That takes two
    ``[B*S, D] x [D, D]`` products (about half the decoder's arithmetic) out
    of every step, forward and backward, and gives the same logits.
    """

    nodes: torch.Tensor  # [B, N, D]
    current_q: torch.Tensor  # [B, N, D] query part of each node as the current one (graph context included)
    glimpse_k: torch.Tensor  # [B, H, N, D/H]
    glimpse_v: torch.Tensor  # [B, H, N, D/H]
    logit_k: torch.Tensor  # [B, N, D] pointer keys times the output projection, over sqrt(D)
    first_q: torch.Tensor | None = None  # [B, N, D] query part of each node as the first one (TSP), else None
    start_q: torch.Tensor | None = None  # [B, 1, D] query before the first step (TSP), else None
    capacity_q: torch.Tensor | None = None  # [D] query part of a full vehicle's free capacity (CVRP), else None
    dist: torch.Tensor | None = None  # [B, N, N] scaled matrix, for decoders that read it


class AttentionPolicy(PolicyModule):
    """AM / POMO policy for a registered problem; its context (``nco.policies.<problem>``) says what the
    nodes embed and what the decoder's query holds.

    ``am``: 3 layers, batch norm, graph context. ``pomo``: 6 layers, instance
    norm, no graph context (POMO starts every rollout from a fixed first node).
    """

    def __init__(self, problem: str, embed_dim: int = 128, num_heads: int = 8, num_layers: int = 3,
                 ff_hidden: int = 512, norm: str = "batch", graph_context: bool = True, tanh_clip: float = 10.0):
        super().__init__()
        self.problem = problem
        self.heads = num_heads
        self.tanh_clip = tanh_clip
        self.graph_context = graph_context
        d = embed_dim
        self.problem_context = get_problem(problem).policy_module().CONTEXT
        self.problem_context.build(self, d)
        self.layers = nn.ModuleList(EncoderLayer(d, num_heads, ff_hidden, norm) for _ in range(num_layers))
        self.project_graph = nn.Linear(d, d, bias=False)
        self.project_nodes = nn.Linear(d, 3 * d, bias=False)
        self.project_out = nn.Linear(d, d, bias=False)

    def _embed(self, batch: Batch) -> torch.Tensor:
        if batch.coords is None:
            raise InstanceError("this policy reads node coordinates; the instance has only a matrix", field="coords")
        return self.problem_context.embed(self, batch)

    def encode(self, batch: Batch, pace: Pace | None = None) -> Cache:
        """Embed and refine the nodes once per batch (``pace`` after each layer, see :class:`Policy`)."""
        h = self._embed(batch)
        for done, layer in enumerate(self.layers, 1):
            h = layer(h)
            if pace is not None:
                pace(done, len(self.layers))
        return self._cache(h)

    def _cache(self, h: torch.Tensor, dist: torch.Tensor | None = None) -> Cache:
        """The decoder's projections of the refined node embeddings ``h``."""
        b, n, d = h.shape
        gk, gv, lk = self.project_nodes(h).chunk(3, -1)
        split = lambda t: t.view(b, n, self.heads, d // self.heads).transpose(1, 2)  # noqa: E731
        graph = self.project_graph(h.mean(1, keepdim=True)) if self.graph_context else torch.zeros_like(h[:, :1])
        queries = self.problem_context.project(self, h, graph)
        # scores = (glimpse W_out^T) lk^T = glimpse (lk W_out)^T: fold W_out into the keys once
        logit_k = torch.matmul(lk, self.project_out.weight.to(lk.dtype)) / math.sqrt(d)
        return Cache(h, glimpse_k=split(gk), glimpse_v=split(gv), logit_k=logit_k, dist=dist, **queries)

    def logits(self, cache: Cache, state) -> torch.Tensor:
        """``[B, S, N]`` logits of the next node; disallowed nodes get ``-inf``."""
        mask = state.mask
        q = self.problem_context.query(cache, state)
        b, s, d = q.shape
        qh = q.view(b, s, self.heads, d // self.heads).transpose(1, 2)
        glimpse = F.scaled_dot_product_attention(qh, cache.glimpse_k, cache.glimpse_v, attn_mask=mask[:, None])
        glimpse = glimpse.transpose(1, 2).reshape(b, s, d)  # its output projection is in cache.logit_k
        scores = self.tanh_clip * torch.tanh(torch.matmul(glimpse, cache.logit_k.transpose(1, 2)).float())
        return torch.where(mask, scores, float("-inf"))  # not masked_fill(~mask): one operation less per step
