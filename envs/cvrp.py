"""The CVRP as a batched MDP (Kool et al. 2019): from the depot, serve customers while the load fits.

Node 0 is the depot. A step goes to an unvisited customer whose demand fits
the remaining capacity, or back to the depot (never twice in a row, unless
every customer is served: then finished rollouts wait at the depot while the
others go on). Reward: minus the total length, read from the matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from .batch import Batch, as_float, matrix_of

_EPS = 1e-6  # demands are fractions of the capacity; leave room for float rounding


@dataclass
class CVRPState:
    """Where every rollout stands."""

    batch: Batch
    current: torch.Tensor  # [B, S] long, starts at the depot (0)
    visited: torch.Tensor  # [B, S, N] bool (the depot column stays False)
    free: torch.Tensor  # [B, S] capacity left on board, a fraction of the vehicle's (1 at the depot)
    length: torch.Tensor  # [B, S]
    served: torch.Tensor  # [B, S] long, customers visited (a count, cheaper than reducing ``visited``)
    rows: torch.Tensor  # [B, 1] instance index of every rollout, made once (not at every step)
    cols: torch.Tensor  # [1, S] rollout index
    need: torch.Tensor  # [B, 1, N] demands less the rounding slack, made once (the mask compares them to ``free``)
    steps: int = 0

    @property
    def min_steps(self) -> int:
        """No rollout can be done before this many steps (every customer, then the depot)."""
        return self.batch.num_nodes

    @property
    def served_all(self) -> torch.Tensor:
        """``[B, S]`` True once every customer is served."""
        return self.served == self.batch.num_nodes - 1

    @property
    def mask(self) -> torch.Tensor:
        """``[B, S, N]``: True where the next action is allowed."""
        mask = ~self.visited & (self.need <= self.free[..., None])
        mask[..., 0] = (self.current != 0) | self.served_all
        return mask

    @property
    def done(self) -> bool:
        """True when every rollout has served every customer and is back at the depot."""
        return bool((self.served_all & (self.current == 0)).all())

    @property
    def reward(self) -> torch.Tensor:
        """``[B, S]`` minus the total route length."""
        return -self.length


class CVRPEnv:
    """Batched CVRP environment over a :class:`Batch` with normalised demands."""

    problem = "cvrp"

    def reset(self, batch: Batch, num_starts: int = 1) -> CVRPState:
        """A fresh state at the depot with ``num_starts`` rollouts per instance."""
        b, n = batch.size, batch.num_nodes
        dev = batch.dist.device
        return CVRPState(batch=batch,
                         current=torch.zeros((b, num_starts), dtype=torch.long, device=dev),
                         visited=torch.zeros((b, num_starts, n), dtype=torch.bool, device=dev),
                         free=torch.ones((b, num_starts), device=dev),
                         length=torch.zeros((b, num_starts), device=dev),
                         served=torch.zeros((b, num_starts), dtype=torch.long, device=dev),
                         rows=torch.arange(b, device=dev)[:, None],
                         cols=torch.arange(num_starts, device=dev)[None, :],
                         need=(batch.require("demand") - _EPS)[:, None, :])

    def start_actions(self, state: CVRPState, offset: int = 0) -> torch.Tensor:
        """POMO's first actions: rollout ``s`` goes first to customer ``offset + s + 1``.

        A dense tensor, not an expanded view: the state's ``current`` then has
        the same layout at every step, which spares ``torch.compile`` a variant.
        """
        b, s = state.current.shape
        return torch.arange(offset + 1, offset + s + 1, device=state.current.device).repeat(b, 1)

    def step(self, state: CVRPState, action: torch.Tensor) -> CVRPState:
        """Go to ``action [B, S]`` (in place); the actions must be allowed by ``state.mask``.

        Written with few tensor operations: on a GPU each one is a kernel
        launch, and a step's launches, not its arithmetic, set its time.
        """
        rows, cols = state.rows, state.cols
        state.length = state.length + state.batch.dist[rows, state.current, action]
        customer = action != 0
        state.free = torch.where(customer, state.free - state.batch.require("demand")[rows, action], 1.0)
        state.served = state.served + customer  # an allowed action never revisits a customer
        state.visited[rows, cols, action] = customer  # the depot column stays False (going there serves no one)
        state.current = action
        state.steps += 1
        return state


def make_batch(arrays: dict[str, Any], dist: torch.Tensor | None = None,
               device: torch.device | str | None = None) -> Batch:
    """A batch from the data layer's arrays (``coords``, ``demand`` of the customers, ``capacity``: one
    for all or one per instance); demands become fractions of the capacity, the depot's 0."""
    coords = None if arrays.get("coords") is None else as_float(arrays["coords"], device)
    demand = as_float(arrays["demand"], device)
    count = demand.shape[0]
    caps = as_float(arrays["capacity"], demand.device).expand(count).contiguous()  # a scalar, or one each
    demand = torch.cat([demand.new_zeros(count, 1), demand], 1) / caps[:, None]
    return Batch("cvrp", matrix_of(dist, coords), coords, demand, caps)


# -- Gymnasium (see gym_adapters) ---------------------------------------------------------------
LOCKSTEP = False  # episodes differ in length (returns to the depot)
ROW_FIELDS = ("current", "visited", "free", "length", "served", "need")  # the state's per-row tensors


def gym_spaces(n: int) -> tuple[spaces.Dict, spaces.Discrete]:
    """Observation and action spaces of ``n`` customers: ``nodes`` (x, y, demand as a fraction of the
    capacity, depot first), ``mask``, ``current`` and ``load`` (the capacity left)."""
    obs = {"nodes": spaces.Box(0.0, 1.0, (n + 1, 3), np.float32), "mask": spaces.MultiBinary(n + 1),
           "current": spaces.Discrete(n + 1), "load": spaces.Box(0.0, 1.0, (1,), np.float32)}
    return spaces.Dict(obs), spaces.Discrete(n + 1)


def observe(state: CVRPState) -> dict[str, np.ndarray]:
    """Observations ``[B, ...]`` as fresh NumPy arrays (never views of the state)."""
    b = state.batch
    nodes = torch.cat([b.require("coords"), b.require("demand")[..., None]], -1)
    return {"nodes": nodes.numpy().astype(np.float32, copy=True), "mask": state.mask[:, 0].numpy().astype(np.int8),
            "current": state.current[:, 0].numpy().astype(np.int64),
            "load": state.free[:, :1].clamp(0, 1).numpy().astype(np.float32)}


def finished(state: CVRPState) -> np.ndarray:
    """``[B]`` True where every customer is served and the vehicle is back at the depot."""
    return (state.served_all & (state.current == 0))[:, 0].numpy()


ENV = CVRPEnv  # the class the registry hands out (nco.envs.make_env)
