"""The TSP as a batched MDP: visit one unvisited city per step, return to the first at the end.

State tensors are ``[B, S, ...]``: B instances, S parallel rollouts per
instance (S > 1 for POMO's multiple starts). The reward is minus the length of
the closed tour read from the distance matrix, so asymmetric matrices work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from .batch import Batch, as_float, matrix_of


@dataclass
class TSPState:
    """Where every rollout stands."""

    batch: Batch
    current: torch.Tensor  # [B, S] long, -1 before the first step
    first: torch.Tensor  # [B, S] long
    visited: torch.Tensor  # [B, S, N] bool
    length: torch.Tensor  # [B, S] float, the tour so far (closed once done)
    rows: torch.Tensor  # [B, 1] instance index of every rollout, made once (not at every step)
    cols: torch.Tensor  # [1, S] rollout index
    steps: int = 0

    @property
    def min_steps(self) -> int:
        """Every tour takes exactly this many steps."""
        return self.batch.num_nodes

    @property
    def mask(self) -> torch.Tensor:
        """``[B, S, N]``: True where the next action is allowed."""
        return ~self.visited

    @property
    def done(self) -> bool:
        """True once every city is visited (all rollouts end together)."""
        return self.steps >= self.batch.num_nodes

    @property
    def reward(self) -> torch.Tensor:
        """``[B, S]`` minus the tour length (valid once done)."""
        return -self.length


class TSPEnv:
    """Batched TSP environment over a :class:`Batch` on any device."""

    problem = "tsp"

    def reset(self, batch: Batch, num_starts: int = 1) -> TSPState:
        """A fresh state with ``num_starts`` rollouts per instance."""
        b, n = batch.size, batch.num_nodes
        dev = batch.dist.device
        return TSPState(batch=batch,
                        current=torch.full((b, num_starts), -1, dtype=torch.long, device=dev),
                        first=torch.zeros((b, num_starts), dtype=torch.long, device=dev),
                        visited=torch.zeros((b, num_starts, n), dtype=torch.bool, device=dev),
                        length=torch.zeros((b, num_starts), device=dev),
                        rows=torch.arange(b, device=dev)[:, None],
                        cols=torch.arange(num_starts, device=dev)[None, :])

    def start_actions(self, state: TSPState, offset: int = 0) -> torch.Tensor:
        """POMO's first actions: rollout ``s`` starts at city ``offset + s`` (dense, as in the CVRP env)."""
        b, s = state.current.shape
        return torch.arange(offset, offset + s, device=state.current.device).repeat(b, 1)

    def step(self, state: TSPState, action: torch.Tensor) -> TSPState:
        """Go to ``action [B, S]`` (in place); closes the tour after the last city."""
        rows = state.rows
        if state.steps == 0:
            state.first = action.clone()
        else:
            state.length = state.length + state.batch.dist[rows, state.current, action]
        state.visited[rows, state.cols, action] = True
        state.current = action
        state.steps += 1
        if state.done:
            state.length = state.length + state.batch.dist[rows, action, state.first]
        return state


def make_batch(arrays: dict[str, Any], dist: torch.Tensor | None = None,
               device: torch.device | str | None = None) -> Batch:
    """A batch from the data layer's arrays (``coords``); the matrix is Euclidean unless given."""
    coords = None if arrays.get("coords") is None else as_float(arrays["coords"], device)
    return Batch("tsp", matrix_of(dist, coords), coords)


# -- Gymnasium (see gym_adapters) ---------------------------------------------------------------
LOCKSTEP = True  # every episode takes the same number of steps, so a vector env's rows end together


def gym_spaces(n: int) -> tuple[spaces.Dict, spaces.Discrete]:
    """Observation and action spaces of ``n`` cities: ``nodes`` (x, y), ``mask``, ``current``
    (``n`` before the first step)."""
    obs = {"nodes": spaces.Box(0.0, 1.0, (n, 2), np.float32), "mask": spaces.MultiBinary(n),
           "current": spaces.Discrete(n + 1)}
    return spaces.Dict(obs), spaces.Discrete(n)


def observe(state: TSPState) -> dict[str, np.ndarray]:
    """Observations ``[B, ...]`` as fresh NumPy arrays (never views of the state)."""
    current = state.current[:, 0].clone()
    current[current < 0] = state.batch.num_nodes
    return {"nodes": state.batch.require("coords").numpy().astype(np.float32, copy=True),
            "mask": state.mask[:, 0].numpy().astype(np.int8), "current": current.numpy().astype(np.int64)}


def finished(state: TSPState) -> np.ndarray:
    """``[B]`` True where the episode is over."""
    return np.full(state.batch.size, state.done)


ENV = TSPEnv  # the class the registry hands out (nco.envs.make_env)
