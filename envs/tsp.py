"""The TSP as a batched MDP: visit one unvisited city per step, return to the first at the end.

State tensors are ``[B, S, ...]``: B instances, S parallel rollouts per
instance (S > 1 for POMO's multiple starts). The reward is minus the length of
the closed tour read from the distance matrix, so asymmetric matrices work.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .batch import Batch


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
