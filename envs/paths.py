"""Path selection as a batched one-step MDP (``nco/PathSplit-v0``): split each demand over its candidate paths.

Traffic engineering decides every demand at once: the observation is the
network (capacities), the traffic (each demand's volume) and each demand's
``k`` candidate paths; the action gives every demand its split ratios over
those paths (``mode="split"``) or one path each (``mode="single"``,
unsplittable); the reward is minus the maximum link utilisation (MLU) of the
routing (``objective="mlu"``) or the share of the traffic carried
(``objective="satisfied"``: each path's flow cut to what its most loaded link
can take, as when an overloaded link drops its excess in proportion), and
the episode ends. The batch is B traffic matrices on one
network, so the graph (paths x links) is shared and only the volumes are
per instance; loads are one scatter over the path-link incidence.

Volumes and capacities are in units of the network's mean capacity, so a
link's utilisation is its load over its capacity in either unit; the MLU of
a routing does not change with that unit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from nco.data import InstanceError
from nco.data.paths import PathsInstance, all_pairs_paths, candidate_paths, random_network, traffic

MODES = ("split", "single")
OBJECTIVES = ("mlu", "satisfied")
ENV_OPTIONS = ("mode", "objective")
BIG = float(np.finfo(np.float32).max)  # the observation bound of volumes and capacities (no upper limit)


class PathSlots:
    """The sizes of a network's candidate paths, for classes holding ``valid [D, K]`` and ``capacity [E]``."""

    valid: torch.Tensor
    capacity: torch.Tensor

    @property
    def num_demands(self) -> int:
        """Demands D (ordered pairs with traffic)."""
        return self.valid.shape[0]

    @property
    def num_paths(self) -> int:
        """Path slots per demand K."""
        return self.valid.shape[1]

    @property
    def num_edges(self) -> int:
        """Directed links E."""
        return self.capacity.shape[0]


@dataclass
class PathsBatch(PathSlots):
    """B traffic matrices on one network: ``volume [B, D]`` per instance; shared ``capacity [E]``, the links'
    ends ``src``/``dst [E]``, the candidate paths as ``path_edge [2, nnz]`` (path slot ``d * K + j``, link)
    and ``valid [D, K]`` (demands with fewer than K paths are padded); ``unit`` is the capacity unit."""

    problem: str
    volume: torch.Tensor
    capacity: torch.Tensor
    src: torch.Tensor
    dst: torch.Tensor
    path_edge: torch.Tensor
    valid: torch.Tensor
    unit: float = 1.0
    nodes: int = 0

    @property
    def num_nodes(self) -> int:
        """Nodes V of the network."""
        return self.nodes

    @property
    def size(self) -> int:
        """Traffic matrices B."""
        return self.volume.shape[0]

    @property
    def num_starts(self) -> int:
        """One start: a routing has no first node."""
        return 1

    def to(self, device: torch.device | str) -> PathsBatch:
        """The same batch on ``device``."""
        return replace(self, volume=self.volume.to(device), capacity=self.capacity.to(device),
                       src=self.src.to(device), dst=self.dst.to(device), path_edge=self.path_edge.to(device),
                       valid=self.valid.to(device))

    def repeat(self, k: int) -> PathsBatch:
        """Each matrix ``k`` times in a row."""
        return replace(self, volume=self.volume.repeat_interleave(k, 0))

    def slice(self, start: int, stop: int) -> PathsBatch:
        """Matrices ``start:stop``."""
        return replace(self, volume=self.volume[start:stop])


def make_batch(arrays: dict[str, Any], device: torch.device | str = "cpu") -> PathsBatch:
    """A batch from :func:`nco.data.paths.draw`'s arrays (or :func:`batch_of`'s): ``network``, ``traffic
    [B, V, V]``, ``pairs`` (sources, destinations) and ``paths`` (per pair, its paths as link indices)."""
    network, paths = arrays["network"], arrays["paths"]
    sources, targets = (np.asarray(a) for a in arrays["pairs"])
    if len(paths) != len(sources) or any(not own for own in paths):
        raise InstanceError("expected at least one candidate path for every demand", field="paths")
    k = max(len(own) for own in paths)
    unit = float(network.capacity.mean())
    table = torch.as_tensor(np.array(arrays["traffic"], dtype=np.float32))
    volume = table[:, torch.as_tensor(sources), torch.as_tensor(targets)] / unit
    slots = [(d * k + j, p) for d, own in enumerate(paths) for j, p in enumerate(own)]
    path_edge = np.concatenate([np.stack([np.full(len(p), slot), p]) for slot, p in slots], 1)
    valid = np.zeros((len(paths), k), dtype=bool)
    for d, own in enumerate(paths):
        valid[d, :len(own)] = True

    def long(array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.array(array), dtype=torch.long, device=device)

    return PathsBatch("paths", volume.to(device), torch.as_tensor(network.capacity / unit, dtype=torch.float32,
                                                                  device=device),
                      long(network.src), long(network.dst), long(path_edge), torch.as_tensor(valid, device=device),
                      unit, network.num_nodes)


def batch_of(instance: PathsInstance, k: int = 4, weight: str = "weight", device: torch.device | str = "cpu",
             paths: list | None = None) -> PathsBatch:
    """Every traffic matrix of ``instance`` as one batch, over the ``k`` shortest paths by ``weight`` of every
    pair with traffic in some matrix (or the given ``paths``, in that pairs' order)."""
    pairs = instance.demands(None)[:2]
    paths = candidate_paths(instance, k, weight, None) if paths is None else paths
    return make_batch({"network": instance.network, "traffic": instance.traffic, "pairs": pairs, "paths": paths},
                      device)


def from_instances(instances: Any, device: torch.device | str = "cpu") -> PathsBatch:
    """The traffic matrices of instances on one network (the same :class:`~nco.data.paths.Network`) as one
    batch, over every pair's 4 shortest paths by IGP weight."""
    network = instances[0].network
    if any(i.network is not network for i in instances):
        raise InstanceError("a batch is one network's traffic: expected instances on the same network",
                            field="instances")
    tables = np.concatenate([i.traffic for i in instances])
    return batch_of(PathsInstance(network, tables), device=device)


def link_loads(batch: PathsBatch, ratios: torch.Tensor) -> torch.Tensor:
    """``[B, S, E]`` each link's load when each demand sends ``ratios [B, S, D, K]`` of its volume on its paths."""
    b, s = ratios.shape[:2]
    flow = (ratios * batch.volume[:, None, :, None]).reshape(b, s, -1)  # [B, S, D * K]
    slot, edge = batch.path_edge
    load = torch.zeros(b, s, batch.num_edges, dtype=flow.dtype, device=flow.device)
    return load.index_add_(2, edge, flow[:, :, slot])


def carried_share(batch: PathsBatch, ratios: torch.Tensor, load: torch.Tensor) -> torch.Tensor:
    """``[B, S]`` the share of the traffic carried when each path's flow is scaled by ``min(1, capacity / load)``
    of its most loaded link: a routing within capacity carries everything, and the cut flows fit every link
    (each flow on a link is scaled by at most that link's capacity over its load)."""
    b, s = ratios.shape[:2]
    flow = (ratios * batch.volume[:, None, :, None]).reshape(b, s, -1)  # [B, S, D * K]
    slot, edge = batch.path_edge
    over = (load / batch.capacity)[:, :, edge]  # each (path slot, link) pair's utilisation
    worst = torch.ones_like(flow).scatter_reduce_(2, slot.expand(b, s, -1), over, "amax")  # >= 1: no cut within
    return (flow / worst).sum(-1) / batch.volume.sum(-1, keepdim=True).clamp_min(1e-30)


def even_split(batch: PathsBatch) -> torch.Tensor:
    """``[D, K]`` every demand split evenly over its paths (zero on the padded slots)."""
    valid = batch.valid.to(torch.float32)
    return valid / valid.sum(-1, keepdim=True)


def ratios_of(batch: PathsBatch, action: torch.Tensor, mode: str) -> torch.Tensor:
    """``[B, S, D, K]`` split ratios of an action: ratios (the invalid slots zeroed, each demand's renormalised;
    an all-zero demand split evenly) or, unsplittable, one path index per demand ``[B, S, D]``."""
    valid = batch.valid.to(torch.float32)
    if mode == "single":
        return torch.nn.functional.one_hot(action.long(), batch.num_paths).to(torch.float32) * valid
    kept = action.clamp_min(0) * valid
    total = kept.sum(-1, keepdim=True)
    return torch.where(total > 0, kept / total.clamp_min(1e-30), even_split(batch))


@dataclass
class PathsState:
    """A routing in progress (``steps`` 0) or made (1): ``load [B, S, E]`` on each link, ``satisfied [B, S]``
    the share carried (see :func:`carried_share`; 1 before routing) and which of the two the reward is."""

    batch: PathsBatch
    load: torch.Tensor
    steps: int = 0
    satisfied: torch.Tensor | None = None
    objective: str = "mlu"

    @property
    def min_steps(self) -> int:
        """One step decides every demand."""
        return 1

    @property
    def mask(self) -> torch.Tensor:
        """``[D, K]`` which path slots exist."""
        return self.batch.valid

    @property
    def done(self) -> bool:
        """Whether the routing is made."""
        return self.steps >= 1

    @property
    def utilisation(self) -> torch.Tensor:
        """``[B, S, E]`` each link's load over its capacity."""
        return self.load / self.batch.capacity

    @property
    def reward(self) -> torch.Tensor:
        """``[B, S]`` minus the MLU, or the share of the traffic carried."""
        if self.objective == "satisfied":
            return self.satisfied if self.satisfied is not None else torch.ones(self.load.shape[:2])
        return -self.utilisation.amax(-1)


class PathSplitEnv:
    """The batched MDP (see the module); ``mode`` ``split`` (ratios) or ``single`` (one path per demand),
    ``objective`` ``mlu`` (reward minus the MLU) or ``satisfied`` (the share carried)."""

    problem = "paths"
    one_step = True  # decoded in one step, every demand at once (nco.policies.decoding.one_step_rollout)

    def __init__(self, mode: str = "split", objective: str = "mlu"):
        for field, value, allowed in (("mode", mode, MODES), ("objective", objective, OBJECTIVES)):
            if value not in allowed:
                raise InstanceError(f"expected one of {', '.join(allowed)}, got {value!r}", field=field)
        self.mode, self.objective = mode, objective

    def reset(self, batch: PathsBatch, num_starts: int = 1) -> PathsState:
        """Nothing routed yet: ``num_starts`` routings per matrix."""
        load = torch.zeros(batch.size, num_starts, batch.num_edges, device=batch.volume.device)
        return PathsState(batch, load, objective=self.objective)

    def start_actions(self, state: PathsState, offset: int = 0) -> torch.Tensor:
        """Even splits (what ``uniform`` routes): there is no start node to force."""
        return even_split(state.batch).expand(*state.load.shape[:2], -1, -1)

    def step(self, state: PathsState, action: torch.Tensor) -> PathsState:
        """Route every demand by ``action`` (``[B, S, D, K]`` ratios, or ``[B, S, D]`` path indices)."""
        if state.done:
            raise InstanceError("the routing is already made; reset for another", field="action")
        ratios = ratios_of(state.batch, action, self.mode)
        load = link_loads(state.batch, ratios)
        return PathsState(state.batch, load, 1, carried_share(state.batch, ratios, load), self.objective)


ENV = PathSplitEnv


class PathSplitGym(gym.Env):
    """``nco/PathSplit-v0``: one traffic matrix at a time on one network (see the module).

    Observation: ``capacity [E]`` and ``volume [D]`` (mean-capacity units), ``valid [D, K]`` and the
    incidence ``paths [D, K, E]`` (1 where path j of demand d crosses link e). Action: ``[D, K]`` weights,
    renormalised per demand over its paths (``split``), or one path index per demand (``single``). Reward:
    minus the MLU (``objective="mlu"``) or the share of the traffic carried (``"satisfied"``); the info holds
    both; every episode is one step. ``reset`` draws a matrix from the env's RNG: one of
    ``instance``'s, or (no instance) a gravity matrix on a random network of ``num_nodes`` nodes fixed by
    ``network_seed``.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, instance: PathsInstance | None = None, num_nodes: int = 8, k: int = 3,
                 weight: str = "weight", mode: str = "split", network_seed: int = 0, objective: str = "mlu"):
        self.env = PathSplitEnv(mode, objective)
        self.instance = instance
        network = instance.network if instance is not None else random_network(np.random.default_rng(network_seed),
                                                                                num_nodes)
        self.network = network
        if instance is None:
            self.pairs, self.paths = all_pairs_paths(network, k, weight)
        else:
            self.pairs, self.paths = instance.demands(None)[:2], candidate_paths(instance, k, weight, None)
        template = self._batch(np.zeros((1,) + (network.num_nodes,) * 2))
        d, kk, e = template.num_demands, template.num_paths, template.num_edges
        self.valid = template.valid.numpy()
        flat = np.zeros((d * kk, e), dtype=np.int8)
        flat[tuple(template.path_edge.numpy())] = 1
        self.incidence = flat.reshape(d, kk, e)
        self.capacity = template.capacity.numpy()
        self.observation_space = spaces.Dict({
            "capacity": spaces.Box(0, BIG, (e,), np.float32), "volume": spaces.Box(0, BIG, (d,), np.float32),
            "valid": spaces.MultiBinary((d, kk)), "paths": spaces.MultiBinary((d, kk, e))})
        self.action_space: spaces.Space = (spaces.MultiDiscrete(self.valid.sum(1)) if mode == "single" else
                                           spaces.Box(0, 1, (d, kk), np.float32))
        self.batch: PathsBatch | None = None

    def _batch(self, tables: np.ndarray) -> PathsBatch:
        return make_batch({"network": self.network, "traffic": tables, "pairs": self.pairs, "paths": self.paths})

    def _obs(self) -> dict[str, np.ndarray]:
        assert self.batch is not None
        return {"capacity": self.capacity.copy(), "volume": self.batch.volume[0].numpy().copy(),
                "valid": self.valid.astype(np.int8), "paths": self.incidence.copy()}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if self.instance is None:
            tables = traffic(self.np_random, self.network, 1)
        else:
            tables = self.instance.traffic[int(self.np_random.integers(self.instance.num_matrices))][None]
        self.batch = self._batch(tables)
        return self._obs(), {}

    def step(self, action):
        if self.batch is None:
            raise InstanceError("call reset before step", field="action")
        array = np.asarray(action, dtype=self.action_space.dtype)
        if not self.action_space.contains(array):
            raise InstanceError(f"expected an action in {self.action_space}", field="action")
        state = self.env.step(self.env.reset(self.batch), torch.as_tensor(array)[None, None])
        mlu, satisfied = float(state.utilisation[0, 0].max()), float(state.satisfied[0, 0])
        info = {"mlu": mlu, "satisfied": satisfied, "load": state.load[0, 0].numpy() * self.batch.unit}
        return self._obs(), float(state.reward[0, 0]), True, False, info
