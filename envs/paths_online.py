"""Online path selection (``nco/FlowArrival-v0``): flows arrive one at a time and each takes one of its paths.

Flows of each origin-destination pair arrive as a Poisson process whose rate follows the traffic matrix.
Each asks for a bandwidth (its size, uniform in [0.5, 1.5] times the mean) for an exponential holding time
(time is in mean holding times) and takes one of its pair's ``k`` candidate paths; it is rejected when a
link of that path lacks the free capacity (or the path slot is empty). The decider sees link-load telemetry
that is refreshed at the first arrival after each ``period`` (stale in between) and the volume its own
source node has placed since that refresh (what an ingress router knows of its own decisions).

Reward per flow: minus the MLU once it is placed, minus ``delay_weight`` times the network's mean M/M/1
delay (Kleinrock's ``sum_e f_e / (c_e - f_e)`` over the carried traffic, utilisation capped at 0.99, in
units of a transmission time at the mean capacity), minus ``reject_penalty`` when it is rejected.

Scale: ``flows`` is the mean number of flows in the network (the arrival rate, as holding times have mean
1), and the traffic is scaled so that routing the mean matrix on every pair's first (shortest) path would
give an MLU of ``intensity``: above 1, shortest paths alone must reject flows.

Time averages: Poisson arrivals see time averages (PASTA), so the MLU just before each arrival, averaged over
arrivals, is an unbiased estimate of the time-averaged MLU; :class:`FlowState` keeps those sums after the
first ``warmup`` arrivals (the network starts empty).

The batch is B independent episodes on one network (its paths shared); each may have its own traffic.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from nco.data import InstanceError
from nco.data.paths import Network, PathsInstance, all_pairs_paths, candidate_paths, random_network, traffic

from .paths import BIG, PathsBatch, PathSlots, make_batch

FEATURES = 8  # per candidate path, see path_features
MAX_INCIDENCE = 50_000_000  # path slots x links: the dense incidence a step multiplies by
HEADROOM = 1e-9  # capacity slack of the admission test (float sums of sizes)


@dataclass
class FlowNet(PathSlots):
    """One network's candidate paths as the simulator uses them: ``incidence [D*K, E]`` (float64, 1 where
    path slot ``d*K + j`` crosses link e), ``capacity [E]`` (mean-capacity units), ``valid [D, K]``, ``cost
    [D, K]`` (IGP length, inf on empty slots), ``hops [D, K]`` and each demand's ``source [D]`` node."""

    incidence: torch.Tensor
    capacity: torch.Tensor
    valid: torch.Tensor
    cost: torch.Tensor
    hops: torch.Tensor
    source: torch.Tensor
    nodes: int


def flow_net(batch: PathsBatch, network: Network, sources: np.ndarray) -> FlowNet:
    """The :class:`FlowNet` of a :class:`~nco.envs.paths.PathsBatch` on ``network`` whose demands start at
    ``sources``."""
    d, k, e = batch.num_demands, batch.num_paths, batch.num_edges
    if d * k * e > MAX_INCIDENCE:
        raise InstanceError(f"{d} demands x {k} paths x {e} links is too large for the online simulator "
                            f"(at most {MAX_INCIDENCE:,} path-link cells)", field="network")
    slot, edge = batch.path_edge.cpu()
    incidence = torch.zeros(d * k, e, dtype=torch.float64)
    incidence[slot, edge] = 1.0
    weight = torch.as_tensor(np.array(network.weight), dtype=torch.float64)
    valid = batch.valid.cpu()
    cost = (incidence @ weight).reshape(d, k).masked_fill(~valid, float("inf"))
    hops = incidence.sum(1).reshape(d, k)
    return FlowNet(incidence, batch.capacity.cpu().double(), valid, cost, hops,
                   torch.as_tensor(np.asarray(sources), dtype=torch.long), network.num_nodes)


def flows_on(network: Network, tables: np.ndarray, k: int = 4, weight: str = "weight",
             paths: tuple[Any, Any] | None = None) -> tuple[FlowNet, torch.Tensor]:
    """The simulator's view of ``network`` (every ordered pair's ``k`` shortest paths by ``weight``, or the
    given ``(pairs, paths)``) and the mean traffic ``[B, D]`` of ``tables [B, V, V]``."""
    pairs, found = paths if paths is not None else all_pairs_paths(network, k, weight)
    batch = make_batch({"network": network, "traffic": tables, "pairs": pairs, "paths": found})
    return flow_net(batch, network, pairs[0]), batch.volume.double()


def instance_flows(instance: PathsInstance, k: int = 4, weight: str = "weight") -> tuple[FlowNet, torch.Tensor]:
    """:func:`flows_on` for a real instance: its pairs with traffic, one episode per traffic matrix."""
    pairs = instance.demands(None)[:2]
    return flows_on(instance.network, instance.traffic, paths=(pairs, candidate_paths(instance, k, weight, None)))


@dataclass
class FlowState:
    """B episodes in progress. Per episode: ``time``, the true ``load [B, E]`` and the ``telemetry [B, E]``
    snapshot (taken at ``seen_at``), ``sent [B, V, E]`` placed by each source since then, the flows in the
    network (``flow_slot``, ``flow_size``, ``flow_end`` ``[B, F]``; free slots end at inf), the arriving
    flow (``demand``, ``size``) and the counters after warm-up: ``arrivals``, ``rejected``, ``mlu_sum`` (MLU
    seen by arrivals) and ``delay_sum``."""

    net: FlowNet
    rates: torch.Tensor
    mean_size: torch.Tensor
    time: torch.Tensor
    load: torch.Tensor
    telemetry: torch.Tensor
    seen_at: torch.Tensor
    sent: torch.Tensor
    flow_slot: torch.Tensor
    flow_size: torch.Tensor
    flow_end: torch.Tensor
    demand: torch.Tensor
    size: torch.Tensor
    arrivals: torch.Tensor
    rejected: torch.Tensor
    mlu_sum: torch.Tensor
    delay_sum: torch.Tensor
    steps: int = 0
    generator: torch.Generator | None = None
    period: float = 0.1
    shared: bool = False

    @property
    def episodes(self) -> int:
        """Episodes B."""
        return self.time.shape[0]

    @property
    def mask(self) -> torch.Tensor:
        """``[B, K]`` which of the arriving flow's path slots exist."""
        return self.net.valid[self.demand]

    @property
    def utilisation(self) -> torch.Tensor:
        """``[B, E]`` each link's true load over its capacity."""
        return self.load / self.net.capacity

    @property
    def carried(self) -> torch.Tensor:
        """``[B]`` the total size of the flows in the network."""
        return self.flow_size.masked_fill(self.flow_end.isinf(), 0.0).sum(1)

    def paths(self) -> torch.Tensor:
        """``[B, K, E]`` the arriving flow's candidate paths as link incidence."""
        k = self.net.num_paths
        slots = self.demand[:, None] * k + torch.arange(k)
        return self.net.incidence[slots]

    def metrics(self) -> dict[str, torch.Tensor]:
        """``[B]`` time-averaged MLU, rejection rate (of flows) and mean delay over the counted arrivals."""
        n = self.arrivals.clamp_min(1)
        return {"mlu": self.mlu_sum / n, "rejection": self.rejected / n, "delay": self.delay_sum / n}


def mean_delay(load: torch.Tensor, capacity: torch.Tensor, carried: torch.Tensor) -> torch.Tensor:
    """``[B]`` Kleinrock's M/M/1 network delay: packets queued over all links, ``sum_e u/(1 - u)`` (``u``
    of ``load [B, E]`` capped at 0.99, so that a full link counts as very slow, not infinitely), over the
    ``carried [B]`` traffic (Little's law), in transmission times at the unit capacity."""
    u = (load / capacity).clamp(0, 0.99)
    return (u / (1 - u)).sum(-1) / carried.clamp_min(1e-12)


class FlowArrivalEnv:
    """The batched simulator (see the module): ``reset`` starts B empty networks, ``step`` routes each one's
    arriving flow by a path index ``[B]`` and moves on to its next arrival."""

    problem = "paths"

    def __init__(self, flows: float = 50.0, intensity: float = 1.0, period: float = 0.1, warmup: int = 0,
                 delay_weight: float = 0.1, reject_penalty: float = 1.0):
        for name, value in (("flows", flows), ("intensity", intensity), ("period", period)):
            if not value > 0 or not np.isfinite(value):
                raise InstanceError(f"expected a finite number > 0, got {value!r}", field=name)
        for name, value in (("warmup", warmup), ("delay_weight", delay_weight), ("reject_penalty", reject_penalty)):
            if not value >= 0:
                raise InstanceError(f"expected a number >= 0, got {value!r}", field=name)
        self.flows, self.intensity, self.period, self.warmup = float(flows), float(intensity), float(period), warmup
        self.delay_weight, self.reject_penalty = float(delay_weight), float(reject_penalty)

    def reset(self, net: FlowNet, volume: torch.Tensor, generator: torch.Generator | None = None,
              shared: bool = False) -> FlowState:
        """B empty networks whose mean traffic is ``volume [B, D]`` (any unit: it is rescaled to the env's
        intensity), each with its first arrival at time 0. ``shared``: every episode sees the same arrivals
        (pairs, sizes, holding times, gaps; one row of ``volume`` for all), so that episodes differ by their
        decisions alone (common random numbers, for training's baseline)."""
        volume = torch.as_tensor(volume, dtype=torch.float64)
        if volume.ndim != 2 or volume.shape[1] != net.num_demands:
            raise InstanceError(f"expected volumes of shape [B, {net.num_demands}], got {tuple(volume.shape)}",
                                field="volume")
        if not torch.isfinite(volume).all() or (volume < 0).any() or (volume.sum(1) <= 0).any():
            raise InstanceError("expected finite volumes >= 0, some positive in every episode", field="volume")
        first = net.incidence.reshape(net.num_demands, net.num_paths, -1)[:, 0]  # [D, E] the shortest paths
        shortest_mlu = ((volume @ first) / net.capacity).amax(-1, keepdim=True)
        volume = volume * (self.intensity / shortest_mlu)
        b, e = volume.shape[0], net.num_edges
        pool = int(self.flows + 6 * self.flows ** 0.5 + 16)  # Poisson(flows) stays below this; grown if not
        zeros = torch.zeros(b, dtype=torch.float64)
        state = FlowState(net, volume / volume.sum(1, keepdim=True) * self.flows, volume.sum(1) / self.flows,
                          zeros.clone(), torch.zeros(b, e, dtype=torch.float64), torch.zeros(b, e, dtype=torch.float64),
                          zeros.clone(), torch.zeros(b, net.nodes, e, dtype=torch.float64),
                          torch.zeros(b, pool, dtype=torch.long), torch.zeros(b, pool, dtype=torch.float64),
                          torch.full((b, pool), float("inf"), dtype=torch.float64), torch.zeros(b, dtype=torch.long),
                          zeros.clone(), zeros.clone(), zeros.clone(), zeros.clone(), zeros.clone(), 0, generator,
                          self.period, shared)
        return self._arrive(state)

    def _arrive(self, state: FlowState) -> FlowState:
        """Draw each episode's next flow: its pair (by rate) and its size."""
        g = state.generator
        rates = state.rates[:1] if state.shared else state.rates
        demand = torch.multinomial(rates, 1, generator=g)[:, 0].expand(state.episodes)
        size = state.mean_size * (0.5 + _draw(state, torch.rand, generator=g))
        return replace(state, demand=demand, size=size)

    def step(self, state: FlowState, action: torch.Tensor) -> tuple[FlowState, torch.Tensor, dict[str, torch.Tensor]]:
        """Route each arriving flow on path ``action [B]`` of its pair (or reject it), then advance to the next
        arrival. Returns the new state, the reward ``[B]`` and ``mlu``, ``delay``, ``accepted`` ``[B]``."""
        net, b = state.net, state.episodes
        action = torch.as_tensor(action, dtype=torch.long).reshape(-1)
        if action.shape[0] != b or (action < 0).any() or (action >= net.num_paths).any():
            raise InstanceError(f"expected {b} path indices in 0..{net.num_paths - 1}", field="action")
        rows = torch.arange(b)
        counting = torch.full((b,), state.steps >= self.warmup)
        seen_mlu = state.utilisation.amax(-1)  # what the arriving flow sees: no event since it arrived
        seen_delay = mean_delay(state.load, net.capacity, state.carried)
        slot = state.demand * net.num_paths + action
        path = net.incidence[slot]  # [B, E]
        after = state.load + state.size[:, None] * path
        fits = ((after <= net.capacity * (1 + HEADROOM)) | (path == 0)).all(1)
        accepted = net.valid[state.demand, action] & fits
        load = torch.where(accepted[:, None], after, state.load)
        flow_slot, flow_size, flow_end = self._grown(state)
        free = torch.isinf(flow_end).to(torch.int8).argmax(1)  # the first free slot
        hold = _exponential(state, 1.0)
        flow_slot[rows, free] = torch.where(accepted, slot, flow_slot[rows, free])
        flow_size[rows, free] = torch.where(accepted, state.size, flow_size[rows, free])
        flow_end[rows, free] = torch.where(accepted, state.time + hold, flow_end[rows, free])
        sent = state.sent.clone()
        sent[rows, net.source[state.demand]] += accepted[:, None] * state.size[:, None] * path
        carried = flow_size.masked_fill(flow_end.isinf(), 0.0).sum(1)
        mlu, delay = (load / net.capacity).amax(-1), mean_delay(load, net.capacity, carried)
        reward = -mlu - self.delay_weight * delay - self.reject_penalty * (~accepted).double()
        moved = self._advance(replace(state, load=load, sent=sent, flow_slot=flow_slot, flow_size=flow_size,
                                      flow_end=flow_end, steps=state.steps + 1,
                                      arrivals=state.arrivals + counting,
                                      rejected=state.rejected + (counting & ~accepted),
                                      mlu_sum=state.mlu_sum + counting * seen_mlu,
                                      delay_sum=state.delay_sum + counting * seen_delay))
        return self._arrive(moved), reward, {"mlu": mlu, "delay": delay, "accepted": accepted}

    def _grown(self, state: FlowState) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Copies of the flow table, with more free slots when some episode has none left."""
        slot, size, end = state.flow_slot.clone(), state.flow_size.clone(), state.flow_end.clone()
        if not torch.isinf(end).any(1).all():
            more = slot.shape[1]
            slot = torch.cat([slot, torch.zeros_like(slot)], 1)
            size = torch.cat([size, torch.zeros_like(size)], 1)
            end = torch.cat([end, torch.full((end.shape[0], more), float("inf"), dtype=end.dtype)], 1)
        return slot, size, end

    def _advance(self, state: FlowState) -> FlowState:
        """To the next arrival (the merged Poisson process of every pair, rate ``flows``): the flows whose
        time is up leave, and the telemetry is refreshed if a period boundary passed."""
        net = state.net
        gap = _exponential(state, self.flows)
        time = state.time + gap
        leaving = state.flow_end <= time[:, None]
        per_slot = torch.zeros(state.episodes, net.incidence.shape[0], dtype=torch.float64)
        per_slot.scatter_add_(1, state.flow_slot, state.flow_size * leaving)
        load = (state.load - per_slot @ net.incidence).clamp_min(0.0)
        flow_end = state.flow_end.masked_fill(leaving, float("inf"))
        refresh = torch.floor(time / self.period) > torch.floor(state.seen_at / self.period)
        return replace(state, time=time, load=load, flow_end=flow_end,
                       telemetry=torch.where(refresh[:, None], load, state.telemetry),
                       seen_at=torch.where(refresh, time, state.seen_at),
                       sent=torch.where(refresh[:, None, None], 0.0, state.sent))


def _draw(state: FlowState, sampler: Any, **options: Any) -> torch.Tensor:
    """``[B]`` draws of ``sampler``, one for all episodes when they share their arrivals."""
    return sampler(1 if state.shared else state.episodes, dtype=torch.float64, **options).expand(state.episodes)


def _exponential(state: FlowState, rate: float) -> torch.Tensor:
    """``[B]`` exponential draws of ``rate`` (one for all episodes when they share their arrivals)."""
    return _draw(state, lambda n, **o: torch.empty(n, **o).exponential_(rate, generator=state.generator))


def path_features(state: FlowState) -> torch.Tensor:
    """``[B, K, FEATURES]`` what the decider knows of each candidate path of the arriving flow, from the
    (stale) telemetry and its source's own placements since: the path's highest and mean telemetry
    utilisation, its highest utilisation once this flow and the source's recent placements are added, its
    highest utilisation of those placements alone, its hops and IGP cost relative to the pair's shortest, the
    flow's size over the path's smallest capacity, and the telemetry's age in periods (0 on empty slots)."""
    net = state.net
    path = state.paths()  # [B, K, E]
    capacity = net.capacity
    rows = torch.arange(state.episodes)
    own = state.sent[rows, net.source[state.demand]]  # [B, E]
    seen = (state.telemetry / capacity)[:, None]
    hops = net.hops[state.demand].clamp_min(1)  # [B, K]
    cost = net.cost[state.demand]
    valid = state.mask
    narrowest = capacity.expand_as(path).masked_fill(path == 0, float("inf")).amin(-1)
    age = ((state.time - state.seen_at) / state.period)[:, None].expand_as(hops)
    features = torch.stack([
        (seen * path).amax(-1),
        (seen * path).sum(-1) / hops,
        (((state.telemetry + own)[:, None] + state.size[:, None, None] * path) / capacity * path).amax(-1),
        ((own / capacity)[:, None] * path).amax(-1),
        hops / hops.masked_fill(~valid, 0).amax(-1, keepdim=True),
        torch.where(valid, cost / cost[:, :1] - 1, 0.0),
        state.size[:, None] / narrowest.clamp_max(BIG),
        age], -1)
    return torch.where(valid[..., None], features, 0.0).to(torch.float32)


class FlowArrivalGym(gym.Env):
    """``nco/FlowArrival-v0``: one episode of arriving flows on one network (see the module).

    Observation: link ``capacity [E]`` (mean-capacity units), the ``telemetry [E]`` snapshot of link
    utilisation and its ``age`` (in mean holding times), ``own [E]``: the utilisation the arriving flow's
    source placed since that snapshot, the flow's ``size`` and its pair's candidate paths: ``paths [K, E]``
    (1 where path j crosses link e) and ``valid [K]``. Action: a path slot; an empty one rejects the flow.
    Reward: minus the MLU once the flow is placed, minus ``delay_weight`` times the M/M/1 delay, minus
    ``reject_penalty`` if rejected. Episodes never terminate; they are truncated after ``horizon`` flows.
    ``reset`` draws the mean traffic from the env's RNG: one of ``instance``'s matrices, or (no instance) a
    gravity matrix on a random network of ``num_nodes`` nodes fixed by ``network_seed``.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, instance: PathsInstance | None = None, num_nodes: int = 8, k: int = 3,
                 weight: str = "weight", flows: float = 20.0, intensity: float = 1.2, period: float = 0.1,
                 horizon: int = 200, delay_weight: float = 0.1, reject_penalty: float = 1.0, network_seed: int = 0):
        if horizon < 1:
            raise InstanceError(f"expected at least 1 flow per episode, got {horizon}", field="horizon")
        self.env = FlowArrivalEnv(flows, intensity, period, 0, delay_weight, reject_penalty)
        self.instance, self.horizon = instance, horizon
        self.network = (instance.network if instance is not None else
                        random_network(np.random.default_rng(network_seed), num_nodes))
        if instance is not None:
            self.pairs = instance.demands(None)[:2]
            self.net, _ = instance_flows(instance, k, weight)
        else:
            self.pairs = all_pairs_paths(self.network, k, weight)[0]
            self.net, _ = flows_on(self.network, np.ones((1,) + (num_nodes,) * 2), k, weight)
        e, kk = self.net.num_edges, self.net.num_paths
        self.observation_space = spaces.Dict({
            "capacity": spaces.Box(0, BIG, (e,), np.float32), "telemetry": spaces.Box(0, BIG, (e,), np.float32),
            "own": spaces.Box(0, BIG, (e,), np.float32), "age": spaces.Box(0, BIG, (1,), np.float32),
            "size": spaces.Box(0, BIG, (1,), np.float32), "paths": spaces.MultiBinary((kk, e)),
            "valid": spaces.MultiBinary(kk)})
        self.action_space = spaces.Discrete(kk)
        self.state: FlowState | None = None

    def _obs(self) -> dict[str, np.ndarray]:
        s = self.state
        assert s is not None
        capacity = s.net.capacity
        own = s.sent[0, s.net.source[s.demand[0]]]

        def box(x: torch.Tensor) -> np.ndarray:
            return np.atleast_1d(x.numpy()).astype(np.float32)

        return {"capacity": box(capacity), "telemetry": box(s.telemetry[0] / capacity), "own": box(own / capacity),
                "age": box(s.time[:1] - s.seen_at[:1]), "size": box(s.size[:1]),
                "paths": s.paths()[0].numpy().astype(np.int8), "valid": s.mask[0].numpy().astype(np.int8)}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if self.instance is None:
            table = traffic(self.np_random, self.network, 1)[0]
        else:
            table = self.instance.traffic[int(self.np_random.integers(self.instance.num_matrices))]
        volume = torch.as_tensor(table[self.pairs])[None]
        generator = torch.Generator().manual_seed(int(self.np_random.integers(2**63 - 1)))
        self.state = self.env.reset(self.net, volume, generator)
        return self._obs(), {}

    def step(self, action):
        if self.state is None:
            raise InstanceError("call reset before step", field="action")
        if not self.action_space.contains(np.int64(action) if np.isscalar(action) else action):
            raise InstanceError(f"expected an action in {self.action_space}", field="action")
        self.state, reward, info = self.env.step(self.state, torch.tensor([int(action)]))
        truncated = self.state.steps >= self.horizon
        return self._obs(), float(reward[0]), False, truncated, {k: v[0].item() for k, v in info.items()}
