"""The network-paths policy: a graph neural network over links and candidate paths that splits every demand.

A FlowGNN (TEAL, SIGCOMM'23) on the bipartite graph of paths and the links
they cross, with HARP's (SIGCOMM'24) recurrent adjustment: each round
routes the traffic by the current split ratios, gives every link its
utilisation, and lets paths and links exchange messages (torch-geometric's
``SAGEConv``, max over a path's links: its bottleneck decides; a link
summing its paths' states weighted by the utilisation each adds) before the
ratios' logits are corrected. Inputs are scale-free: capacities over the
largest, volumes over the MLU of an even split, so one policy serves any
network and load. The graph is shared by the batch's traffic matrices
(``[B, nodes, features]`` through torch-geometric's static-graph path).

Decoding: greedy takes the softmax of the logits as the split; sampling
adds Gaussian noise of a learned spread to the logits (the REINFORCE action;
its log-density is the log-probability), or, unsplittable, draws one path
per demand from the softmax.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from nco.envs.paths import PathsBatch, even_split, link_loads

from .contracts import PolicyModule

LINK_FEATURES = 4  # capacity over the largest, its inverse over the largest inverse, utilisation, its share of the MLU
PATH_FEATURES = 4  # volume over an even split's MLU, hops over the mean, bottleneck capacity, the path's rank


CONTEXT = None  # no attention context: the policy is the problem's own architecture, FlowGNN


class FlowGNN(PolicyModule):
    """Split ratios ``[B, D, K]`` for every demand of a :class:`~nco.envs.paths.PathsBatch` (see the module)."""

    def __init__(self, problem: str = "paths", embed_dim: int = 64, num_layers: int = 4, num_paths: int = 4):
        super().__init__()
        from torch_geometric.nn import SAGEConv  # loaded with this policy only

        self.problem, self.embed_dim, self.num_layers, self.num_paths = problem, embed_dim, num_layers, num_paths
        h = embed_dim
        self.link_in = nn.Linear(LINK_FEATURES, h)
        self.path_in = nn.Linear(PATH_FEATURES + num_paths, h)
        self.to_path = nn.ModuleList(SAGEConv((h, h), h, aggr="max") for _ in range(num_layers))
        self.to_link = nn.ModuleList(nn.Linear(2 * h, h) for _ in range(num_layers))
        self.rivals = nn.ModuleList(nn.Linear(h, h) for _ in range(num_layers))  # the other paths of a demand
        self.link_update = nn.ModuleList(nn.Linear(2, h) for _ in range(num_layers))
        self.correct = nn.ModuleList(nn.Sequential(nn.Linear(h, h), nn.ReLU(), nn.Linear(h, 1))
                                     for _ in range(num_layers))
        self.log_std = nn.Parameter(torch.tensor(-0.5))  # the sampling noise on the logits

    # -- inputs -----------------------------------------------------------------------------------
    def _scale(self, batch: PathsBatch) -> torch.Tensor:
        """``[B]`` the MLU of an even split: the unit volumes are read in."""
        even = even_split(batch).expand(batch.size, 1, -1, -1)
        return (link_loads(batch, even) / batch.capacity).amax(-1)[:, 0].clamp_min(1e-12)

    def _path_features(self, batch: PathsBatch, volume: torch.Tensor) -> torch.Tensor:
        """``[B, D * K, PATH_FEATURES + K]``."""
        slot, edge = batch.path_edge
        p = batch.num_demands * batch.num_paths
        hops = torch.zeros(p, device=volume.device).index_add_(0, slot, torch.ones_like(slot, dtype=torch.float32))
        share = batch.capacity / batch.capacity.max()
        bottleneck = torch.full((p,), 1.0, device=volume.device).scatter_reduce_(0, slot, share[edge], "amin")
        ranks = torch.arange(batch.num_paths, device=volume.device).clamp_max(self.num_paths - 1)
        rank = torch.eye(self.num_paths, device=volume.device)[ranks].repeat(batch.num_demands, 1)
        fixed = torch.cat([(hops / hops[hops > 0].mean())[:, None], bottleneck[:, None], rank], -1)
        per_path = volume.repeat_interleave(batch.num_paths, 1)[..., None]  # [B, D * K, 1]
        valid = batch.valid.reshape(-1).to(torch.float32)[:, None]
        return torch.cat([per_path, valid.expand(batch.size, -1, 1), fixed.expand(batch.size, -1, -1)], -1)

    # -- the network --------------------------------------------------------------------------------
    def encode(self, batch: PathsBatch, pace: Callable[[int, int], None] | None = None) -> dict[str, Any]:  # type: ignore[override]
        """The split's logits ``[B, D, K]`` (invalid slots at -inf) after the rounds of message passing."""
        b, d, k = batch.size, batch.num_demands, batch.num_paths
        from torch_geometric.utils import scatter

        volume = batch.volume / self._scale(batch)[:, None]
        per_slot = volume.repeat_interleave(k, 1)  # [B, D * K]: each path slot's demand volume

        slot, edge = batch.path_edge
        to_path = torch.stack([edge, slot])  # messages link -> path
        cap = batch.capacity / batch.capacity.max()
        inverse = (1 / batch.capacity) / (1 / batch.capacity).max()
        hidden_path = self.path_in(self._path_features(batch, volume))  # [B, P, h]
        logits = torch.zeros(b, d, k, device=volume.device)
        invalid = ~batch.valid
        for layer in range(self.num_layers):
            ratios = torch.softmax(logits.masked_fill(invalid, -torch.inf), -1)
            # the utilisation each path adds to each of its links, and their sum per link
            adds = (ratios.reshape(b, -1) * per_slot)[:, slot] / batch.capacity[edge]  # [B, nnz]
            util = scatter(adds, edge, 1, dim_size=batch.num_edges, reduce="sum")  # [B, E]
            link = torch.stack([cap.expand(b, -1), inverse.expand(b, -1), util,
                                util / util.amax(-1, keepdim=True).clamp_min(1e-12)], -1)
            hidden_link = self.link_in(link) + self.link_update[layer](link[..., 2:])
            hidden_path = hidden_path + torch.relu(self.to_path[layer]((hidden_link, hidden_path), to_path))
            grouped = hidden_path.reshape(b, d, k, -1)
            mask = batch.valid[None, :, :, None].to(grouped.dtype)
            rivals = (grouped * mask).sum(2, keepdim=True) / mask.sum(2, keepdim=True)
            hidden_path = hidden_path + torch.relu(self.rivals[layer](rivals.expand_as(grouped))).reshape(b, d * k, -1)
            heard = scatter(hidden_path[:, slot] * adds[..., None], edge, 1, dim_size=batch.num_edges, reduce="sum")
            hidden_link = hidden_link + torch.relu(self.to_link[layer](torch.cat([hidden_link, heard], -1)))
            hidden_path = hidden_path + torch.relu(self.to_path[layer]((hidden_link, hidden_path), to_path))
            logits = logits + self.correct[layer](hidden_path).reshape(b, d, k)
        return {"logits": logits.masked_fill(invalid, -torch.inf)}

    def act(self, cache: dict[str, Any], num_samples: int, greedy: bool, mode: str = "split",
            temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """``num_samples`` actions per matrix (``[B, S, D, K]`` ratios, or ``[B, S, D]`` path indices) and their
        log-probabilities ``[B, S]`` (zeros when greedy)."""
        logits = cache["logits"] / temperature
        b, d, k = logits.shape
        valid = torch.isfinite(logits)
        if mode == "single":
            if greedy:
                action = logits.argmax(-1)[:, None].expand(b, num_samples, d)
                return action, torch.zeros(b, num_samples, device=logits.device)
            dist = torch.distributions.Categorical(logits=logits[:, None].expand(b, num_samples, d, k))
            action = dist.sample()
            return action, dist.log_prob(action).sum(-1)
        if greedy:
            ratios = torch.softmax(logits, -1)[:, None].expand(b, num_samples, d, k)
            return ratios, torch.zeros(b, num_samples, device=logits.device)
        mean = logits.masked_fill(~valid, 0.0)[:, None].expand(b, num_samples, d, k)
        noise = torch.distributions.Normal(mean, self.log_std.exp())
        z = noise.sample()
        log_prob = (noise.log_prob(z) * valid[:, None]).sum((-1, -2))
        return torch.softmax(z.masked_fill(~valid[:, None], -torch.inf), -1), log_prob
