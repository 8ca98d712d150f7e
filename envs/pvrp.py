"""Profiled fleets (PVRP, HCVRP) as batched MDPs: vehicles that differ, one decision a step or all at once.

Node 0 is the depot, 1..n the customers, and M vehicles start at the depot,
each with its capacity, speed (time = distance / speed), costs, preferences
and the customers it may serve. Two decoding modes:

- ``sequential`` (2D-Ptr, ET): a step picks one (vehicle, node) pair, the
  action ``v * N + node``; the mask is ``[B, S, M * N]``.
- ``parallel`` (PARCO, CAMP): a step every vehicle picks a node, actions
  ``[B, S, M]`` and the mask ``[B, S, M, N]``. When several pick one
  customer, the one that reaches it first (distance / speed, then the lower
  index) takes it; the others wait where they are for the next step.

Masks: a vehicle may go to an unvisited customer it is allowed to serve whose
demand fits what it has left, or back to the depot to reload when it is out.
In the parallel mode a vehicle at the depot may also wait there while others
are out, or when none of the customers left is one it may serve; never when
all are there and it could serve one. Once every customer
is served, vehicles go home one at a time (sequential) or together (parallel),
and finished rollouts wait at the depot (a step with a single choice adds
nothing to the log-probability). Reward: minus the instance's objective,
``weights . (longest time, total time, -preference collected)`` plus the
fixed costs of the vehicles used and the unit costs of their distances.
Every vehicle may reload, so an instance without ``multi_trip`` is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from gymnasium import spaces

from nco.data import InstanceError

from .batch import Batch, as_float, matrix_of

_EPS = 1e-6  # demands are fractions of the largest capacity; leave room for float rounding
MODES = ("sequential", "parallel")


@dataclass
class FleetState:
    """Where every vehicle of every rollout stands (the sequential mode; :class:`ParallelFleetState` the other)."""

    batch: Batch
    current: torch.Tensor  # [B, S, M] long: each vehicle's node (the depot at the start)
    visited: torch.Tensor  # [B, S, N] bool (the depot column stays False)
    free: torch.Tensor  # [B, S, M] capacity left on board, as a fraction of the largest vehicle's
    distance: torch.Tensor  # [B, S, M] each vehicle's distance so far
    collected: torch.Tensor  # [B, S] preference collected so far
    used: torch.Tensor  # [B, S, M] bool: the vehicle has served a customer (its fixed cost is due)
    served: torch.Tensor  # [B, S] long, customers served
    rows: torch.Tensor  # [B, 1] instance index of every rollout
    cols: torch.Tensor  # [1, S] rollout index
    need: torch.Tensor  # [B, 1, 1, N] demands less the rounding slack (made once)
    allowed: torch.Tensor  # [B, 1, M, N] the batch's mask, shaped for the state's (made once)
    vehicles: torch.Tensor  # [M] vehicle index
    steps: int = 0

    @property
    def num_vehicles(self) -> int:
        """Vehicles per instance M."""
        return int(self.current.shape[-1])

    @property
    def min_steps(self) -> int:
        """No rollout can be done before this many steps (every customer, then a return)."""
        return self.batch.num_nodes

    @property
    def served_all(self) -> torch.Tensor:
        """``[B, S]`` True once every customer is served."""
        return self.served == self.batch.num_nodes - 1

    @property
    def home(self) -> torch.Tensor:
        """``[B, S]`` True where every vehicle is at the depot."""
        return (self.current == 0).all(-1)

    @property
    def done(self) -> bool:
        """True when every rollout has served every customer and every vehicle is back at the depot."""
        return bool((self.served_all & self.home).all())

    @property
    def time(self) -> torch.Tensor:
        """``[B, S, M]`` each vehicle's travel time so far."""
        return self.distance / self.batch.require("speed")[:, None]

    @property
    def length(self) -> torch.Tensor:
        """``[B, S]`` the objective of what has been driven so far (the cost once done)."""
        b = self.batch
        w = b.require("weights")[:, None]  # [B, 1, 3]
        time = self.time
        return (w[..., 0] * time.amax(-1) + w[..., 1] * time.sum(-1) - w[..., 2] * self.collected
                + (b.require("fixed_cost")[:, None] * self.used).sum(-1)
                + (b.require("unit_cost")[:, None] * self.distance).sum(-1))

    @property
    def reward(self) -> torch.Tensor:
        """``[B, S]`` minus the objective."""
        return -self.length

    def customers(self) -> torch.Tensor:
        """``[B, S, M, N]``: vehicle m may serve node j next (unvisited, allowed, fits; the depot column False)."""
        mask = ~self.visited[:, :, None] & self.allowed & (self.need <= self.free[..., None])
        mask[..., 0] = False
        return mask

    @property
    def mask(self) -> torch.Tensor:
        """``[B, S, M * N]``: True where the (vehicle, node) pair ``v * N + node`` is allowed next."""
        mask = self.customers()
        out = self.current != 0
        # once all are served, one vehicle at a time goes home (the first one out), or vehicle 0 waits there
        first_out = self.vehicles == out.to(torch.int8).argmax(-1, keepdim=True)
        mask[..., 0] = torch.where(self.served_all[..., None], first_out, out)
        return mask.flatten(-2)


@dataclass
class ParallelFleetState(FleetState):
    """Where every vehicle of every rollout stands when all vehicles move at each step."""

    @property
    def min_steps(self) -> int:
        """No rollout can be done before this many steps (the customers shared evenly, then a return)."""
        return -(-(self.batch.num_nodes - 1) // self.num_vehicles) + 1

    @property
    def carried_out(self) -> torch.Tensor:
        """``[B, S, M]`` the nodes the vehicles went to at the last step (conflicts resolved)."""
        return self.current

    @property
    def mask(self) -> torch.Tensor:
        """``[B, S, M, N]``: True where vehicle m may go to node j next."""
        mask = self.customers()
        # the depot: to return when out, to wait while another is out or when it can serve no one left, and
        # always once all are served (when all are home, one that can serve someone must go)
        stuck = ~mask.any(-1)
        mask[..., 0] = (self.current != 0) | ~self.home[..., None] | stuck | self.served_all[..., None]
        return mask


class PVRPEnv:
    """Batched PVRP environment over a :class:`Batch` of fleets, in the ``sequential`` or ``parallel`` mode."""

    problem = "pvrp"

    def __init__(self, mode: str = "sequential") -> None:
        if mode not in MODES:
            raise InstanceError(f"expected one of {', '.join(MODES)}, got {mode!r}", field="mode")
        self.mode = mode

    @property
    def parallel(self) -> bool:
        """Whether every vehicle moves at each step."""
        return self.mode == "parallel"

    def reset(self, batch: Batch, num_starts: int = 1) -> FleetState:
        """A fresh state, every vehicle at the depot, with ``num_starts`` rollouts per instance."""
        b, n = batch.size, batch.num_nodes
        capacity = batch.require("capacity")
        m, dev = capacity.shape[1], batch.dist.device
        state = ParallelFleetState if self.parallel else FleetState
        return state(batch=batch,
                     current=torch.zeros((b, num_starts, m), dtype=torch.long, device=dev),
                     visited=torch.zeros((b, num_starts, n), dtype=torch.bool, device=dev),
                     free=capacity[:, None].expand(b, num_starts, m).clone(),
                     distance=torch.zeros((b, num_starts, m), device=dev),
                     collected=torch.zeros((b, num_starts), device=dev),
                     used=torch.zeros((b, num_starts, m), dtype=torch.bool, device=dev),
                     served=torch.zeros((b, num_starts), dtype=torch.long, device=dev),
                     rows=torch.arange(b, device=dev)[:, None], cols=torch.arange(num_starts, device=dev)[None, :],
                     need=(batch.require("demand") - _EPS)[:, None, None, :],
                     allowed=batch.require("allowed")[:, None], vehicles=torch.arange(m, device=dev))

    def start_actions(self, state: FleetState, offset: int = 0) -> torch.Tensor:
        """POMO's first actions: in rollout ``s`` the first vehicle allowed to serve customer ``offset + s + 1``
        goes there (the other vehicles wait at the depot in the parallel mode)."""
        b, s = state.served.shape
        n = state.batch.num_nodes
        node = torch.arange(offset + 1, offset + s + 1, device=state.current.device).repeat(b, 1)  # [B, S]
        allowed = state.batch.require("allowed")  # [B, M, N]
        vehicle = allowed[state.rows, :, node].to(torch.int8).argmax(-1)  # [B, S]
        if not self.parallel:
            return vehicle * n + node
        return torch.where(state.vehicles == vehicle[..., None], node[..., None], 0)

    def step(self, state: FleetState, action: torch.Tensor) -> FleetState:
        """Take ``action`` (``[B, S]`` pairs, or ``[B, S, M]`` nodes in the parallel mode) in place; the actions
        must be allowed by ``state.mask``."""
        if self.parallel:
            node = self._resolve(state, action)
        else:
            n = state.batch.num_nodes
            pick = state.vehicles == (action // n)[..., None]  # [B, S, M]
            node = torch.where(pick, (action % n)[..., None], state.current)
        self._move(state, node)
        return state

    def trips(self, actions: Any, instance: Any) -> tuple[tuple[tuple[int, ...], ...], tuple[int, ...]]:
        """The trips and the vehicle of each of one rollout's actions on ``instance`` (see :func:`solution_of`)."""
        return solution_of(actions, instance.num_nodes, instance.num_vehicles, self.parallel)

    @staticmethod
    def _resolve(state: FleetState, node: torch.Tensor) -> torch.Tensor:
        """The nodes ``[B, S, M]`` the vehicles go to: of those that picked one customer, the first to reach it
        (distance / speed, then the lower index) takes it and the others stay where they are."""
        b = state.batch
        rows = state.rows[..., None]
        arrive = b.dist[rows, state.current, node] / b.require("speed")[:, None]  # [B, S, M]
        same = (node[..., :, None] == node[..., None, :]) & (node[..., :, None] != 0)  # [B, S, v, u]
        ahead = (arrive[..., None, :] < arrive[..., :, None]) | (
            (arrive[..., None, :] == arrive[..., :, None]) & (state.vehicles[None, :] < state.vehicles[:, None]))
        loses = (same & ahead).any(-1)
        return torch.where(loses, state.current, node)

    @staticmethod
    def _move(state: FleetState, node: torch.Tensor) -> None:
        """Every vehicle goes to ``node [B, S, M]`` (its own node: it stays)."""
        b = state.batch
        vrows = state.rows[..., None]
        moved = node != state.current
        served = moved & (node != 0)  # [B, S, M] arrives at a customer
        state.distance = state.distance + b.dist[vrows, state.current, node] * moved  # (a wait costs nothing)
        load = b.require("demand")[vrows, node]
        state.free = torch.where(served, state.free - load,
                                 torch.where(node == 0, b.require("capacity")[:, None], state.free))
        state.collected = state.collected + (b.require("preference")[vrows, state.vehicles, node] * served).sum(-1)
        state.used = state.used | served
        state.served = state.served + served.sum(-1)
        cols = state.cols[..., None]
        state.visited[vrows, cols, node] = state.visited[vrows, cols, node] | served  # the depot column stays False
        state.current = node
        state.steps += 1


def solution_of(actions: Any, num_nodes: int, num_vehicles: int,
                parallel: bool = False) -> tuple[tuple[tuple[int, ...], ...], tuple[int, ...]]:
    """The trips and the vehicle of each trip of one rollout's actions: ``[T]`` pairs ``v * N + node``, or
    ``[M, T]`` nodes in the parallel mode (as the env carried them out: a vehicle's repeated node is a
    wait). A vehicle's trips are its customers between its visits to the depot."""
    tracks: list[list[int]] = [[] for _ in range(num_vehicles)]
    if parallel:
        for v, row in enumerate(np.asarray(actions).tolist()):
            for node in row:
                if not tracks[v] or tracks[v][-1] != node or node == 0:
                    tracks[v].append(int(node))
    else:
        for a in np.asarray(actions).reshape(-1).tolist():
            tracks[a // num_nodes].append(a % num_nodes)
    routes, vehicles = [], []
    for v, track in enumerate(tracks):
        trip: list[int] = []
        for node in track + [0]:
            if node != 0:
                trip.append(node)
            elif trip:
                routes.append(tuple(trip))
                vehicles.append(v)
                trip = []
    return tuple(routes), tuple(vehicles)


def make_batch(arrays: dict[str, Any], dist: torch.Tensor | None = None,
               device: torch.device | str | None = None) -> Batch:
    """A batch from the data layer's arrays (:func:`nco.data.pvrp.draw`'s layout); demands and capacities
    become fractions of each instance's largest capacity, the depot's columns 0 (preference) and True
    (allowed)."""
    coords = None if arrays.get("coords") is None else as_float(arrays["coords"], device)
    demand = as_float(arrays["demand"], device)
    count, n = demand.shape
    capacity = as_float(arrays["capacity"], demand.device)
    m = capacity.shape[1]
    scale = capacity.amax(1, keepdim=True)
    demand = torch.cat([demand.new_zeros(count, 1), demand], 1) / scale
    per_vehicle = {key: as_float(arrays[key], demand.device) if key in arrays else demand.new_full((count, m), fill)
                   for key, fill in (("speed", 1.0), ("fixed_cost", 0.0), ("unit_cost", 0.0))}
    preference = as_float(arrays["preference"], demand.device) if "preference" in arrays else \
        demand.new_zeros(count, m, n)
    allowed = torch.as_tensor(arrays["allowed"], device=demand.device).bool() if "allowed" in arrays else \
        torch.ones((count, m, n), dtype=torch.bool, device=demand.device)
    if not bool(arrays.get("multi_trip", True)):
        raise InstanceError("the PVRP environment lets every vehicle reload at the depot; this fleet makes one "
                            "trip a vehicle (multi_trip is off): solve it with the classical solvers",
                            field="multi_trip")
    weights = as_float(_weights(arrays), demand.device).expand(count, 3).contiguous()
    return Batch("pvrp", matrix_of(dist, coords), coords, demand, capacity / scale, speed=per_vehicle["speed"],
                 fixed_cost=per_vehicle["fixed_cost"], unit_cost=per_vehicle["unit_cost"],
                 preference=torch.cat([preference.new_zeros(count, m, 1), preference], -1),
                 allowed=torch.cat([allowed.new_ones(count, m, 1), allowed], -1), weights=weights)


def _weights(arrays: dict[str, Any]) -> Sequence[float] | torch.Tensor:
    """The objective's weights ``[3]`` (one objective for all) or ``[count, 3]``: longest time, total time,
    preference."""
    if "weights" in arrays:
        return arrays["weights"]
    if arrays.get("objective", "min-sum") == "min-max":
        return [1.0, 0.0, 0.0]
    return [0.0, float(arrays.get("time_weight", 1.0)), float(arrays.get("preference_weight", 0.0))]


# -- Gymnasium (see gym_adapters): the sequential mode, one (vehicle, node) pair a step ------------------------
LOCKSTEP = False  # episodes differ in length (reloads)
ROW_FIELDS = ("current", "visited", "free", "distance", "collected", "used", "served")  # per-row tensors
ENV_OPTIONS = ("mode",)  # what of a Gymnasium env's options goes to PVRPEnv (the rest to the generator)


def gym_spaces(n: int, num_vehicles: int = 3, **options: Any) -> tuple[spaces.Dict, spaces.Discrete]:
    """Observation and action spaces of ``n`` customers and ``num_vehicles`` vehicles: ``nodes`` (x, y, demand
    as a fraction of the largest capacity, depot first), ``vehicles`` (capacity, speed, capacity left),
    ``preference`` and ``allowed`` (vehicles x nodes), ``current`` (each vehicle's node) and ``mask`` over
    the (vehicle, node) pairs ``v * (n + 1) + node``."""
    m, nodes = int(num_vehicles), n + 1
    # every preset's speeds and preferences lie in [0, 1] (what the adapters draw)
    obs = {"nodes": spaces.Box(0.0, 1.0, (nodes, 3), np.float32),
           "vehicles": spaces.Box(0.0, 1.0, (m, 3), np.float32),
           "preference": spaces.Box(0.0, 1.0, (m, nodes), np.float32),
           "allowed": spaces.MultiBinary((m, nodes)), "current": spaces.MultiDiscrete([nodes] * m),
           "mask": spaces.MultiBinary(m * nodes)}
    return spaces.Dict(obs), spaces.Discrete(m * nodes)


def observe(state: FleetState) -> dict[str, np.ndarray]:
    """Observations ``[B, ...]`` as fresh NumPy arrays (never views of the state)."""
    b = state.batch
    nodes = torch.cat([b.require("coords"), b.require("demand")[..., None]], -1)
    vehicles = torch.stack([b.require("capacity"), b.require("speed"), state.free[:, 0].clamp_min(0)], -1)
    return {"nodes": nodes.numpy().astype(np.float32, copy=True),
            "vehicles": vehicles.numpy().astype(np.float32, copy=True),
            "preference": b.require("preference").numpy().astype(np.float32, copy=True),
            "allowed": b.require("allowed").numpy().astype(np.int8),
            "current": state.current[:, 0].numpy().astype(np.int64),
            "mask": state.mask[:, 0].numpy().astype(np.int8)}


def finished(state: FleetState) -> np.ndarray:
    """``[B]`` True where every customer is served and every vehicle is back at the depot."""
    return (state.served_all & state.home)[:, 0].numpy()


ENV = PVRPEnv  # the class the registry hands out (nco.envs.make_env)
