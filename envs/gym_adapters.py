"""Gymnasium adapters over the batched environments: ``gymnasium.Env`` (batch 1) and ``VectorEnv`` (batch n).

Observation (a ``Dict``): ``nodes`` (TSP: x, y; CVRP: x, y, demand as a
fraction of the capacity, depot first), ``mask`` (1 where the next node is
allowed), ``current`` (the node just visited; for the TSP, ``num_nodes`` before
the first step) and, for CVRP, ``load`` (the capacity left). Reward per step:
minus the distance just travelled, so an episode's return is minus the tour
length. Each ``reset`` draws a uniform instance from the env's seeded RNG. An
action that the mask forbids leaves the state unchanged, gives reward 0 and
sets ``info["illegal_action"]``; ``info["action_mask"]`` always holds the mask.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import VectorEnv
from gymnasium.vector.utils import batch_space

from nco.data import capacity_for

from .batch import Batch, euclidean
from .cvrp import CVRPEnv
from .tsp import TSPEnv


def _spaces(problem: str, n: int) -> tuple[spaces.Dict, spaces.Discrete]:
    if problem == "tsp":
        obs = {"nodes": spaces.Box(0.0, 1.0, (n, 2), np.float32), "mask": spaces.MultiBinary(n),
               "current": spaces.Discrete(n + 1)}
        return spaces.Dict(obs), spaces.Discrete(n)
    obs = {"nodes": spaces.Box(0.0, 1.0, (n + 1, 3), np.float32), "mask": spaces.MultiBinary(n + 1),
           "current": spaces.Discrete(n + 1), "load": spaces.Box(0.0, 1.0, (1,), np.float32)}
    return spaces.Dict(obs), spaces.Discrete(n + 1)


# The CVRP state's tensors that hold one row per instance (``rows``/``cols`` are index helpers).
ROW_FIELDS = ("current", "visited", "free", "length", "served", "need")


def _draw(problem: str, n: int, rng: np.random.Generator, count: int) -> Batch:
    """``count`` uniform instances from ``rng`` (Kool et al.'s distribution)."""
    if problem == "tsp":
        coords = torch.as_tensor(rng.uniform(size=(count, n, 2)), dtype=torch.float32)
        return Batch("tsp", euclidean(coords), coords)
    capacity = capacity_for(n)
    coords = torch.as_tensor(rng.uniform(size=(count, n + 1, 2)), dtype=torch.float32)
    demand = np.concatenate([np.zeros((count, 1)), rng.integers(1, 10, size=(count, n))], 1)
    caps = torch.full((count,), float(capacity))
    return Batch("cvrp", euclidean(coords), coords, torch.as_tensor(demand / capacity, dtype=torch.float32), caps)


def _observe(state, problem: str) -> dict[str, np.ndarray]:
    """Observations ``[B, ...]`` as fresh NumPy arrays (never views of the state)."""
    b = state.batch
    n = b.num_nodes
    current = state.current[:, 0].clone()
    if problem == "tsp":
        current[current < 0] = n
        return {"nodes": b.coords.numpy().astype(np.float32, copy=True), "mask": state.mask[:, 0].numpy().astype(np.int8),
                "current": current.numpy().astype(np.int64)}
    nodes = torch.cat([b.coords, b.demand[..., None]], -1)
    return {"nodes": nodes.numpy().astype(np.float32, copy=True), "mask": state.mask[:, 0].numpy().astype(np.int8),
            "current": current.numpy().astype(np.int64),
            "load": state.free[:, :1].clamp(0, 1).numpy().astype(np.float32)}


class RoutingEnv(gym.Env):
    """One routing instance at a time (batch 1 of the batched env)."""

    metadata = {"render_modes": []}
    problem = ""

    def __init__(self, num_nodes: int = 20):
        self.num_nodes = int(num_nodes)
        self.env = TSPEnv() if self.problem == "tsp" else CVRPEnv()
        self.observation_space, self.action_space = _spaces(self.problem, self.num_nodes)
        self.state = None

    def _obs(self) -> dict[str, np.ndarray]:
        return {k: v[0] for k, v in _observe(self.state, self.problem).items()}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.state = self.env.reset(_draw(self.problem, self.num_nodes, self.np_random, 1))
        obs = self._obs()
        return obs, {"action_mask": obs["mask"].copy()}

    def step(self, action):
        a = int(action)
        mask = self.state.mask[0, 0]
        if not (0 <= a < mask.shape[0]) or not bool(mask[a]):
            obs = self._obs()
            return obs, 0.0, False, False, {"action_mask": obs["mask"].copy(), "illegal_action": True}
        before = float(self.state.length[0, 0])
        self.state = self.env.step(self.state, torch.tensor([[a]]))
        reward = before - float(self.state.length[0, 0])
        obs = self._obs()
        return obs, reward, bool(self.state.done), False, {"action_mask": obs["mask"].copy()}


class TSPGymEnv(RoutingEnv):
    """``nco/TSP-v0``: a uniform random TSP of ``num_nodes`` cities per episode."""

    problem = "tsp"


class CVRPGymEnv(RoutingEnv):
    """``nco/CVRP-v0``: a uniform random CVRP of ``num_nodes`` customers per episode (Kool capacities)."""

    problem = "cvrp"


class RoutingVectorEnv(VectorEnv):
    """``num_envs`` instances stepped together in one batched state (next-step autoreset)."""

    problem = ""
    metadata = {"render_modes": [], "autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int = 8, num_nodes: int = 20):
        self.num_envs = int(num_envs)
        self.num_nodes = int(num_nodes)
        self.env = TSPEnv() if self.problem == "tsp" else CVRPEnv()
        self.single_observation_space, self.single_action_space = _spaces(self.problem, self.num_nodes)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.rng = np.random.default_rng()
        self.state = None
        self.finished = np.zeros(self.num_envs, dtype=bool)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.state = self.env.reset(_draw(self.problem, self.num_nodes, self.rng, self.num_envs))
        self.finished[:] = False
        obs = _observe(self.state, self.problem)
        return obs, {"action_mask": obs["mask"].copy()}

    def _finished_rows(self) -> np.ndarray:
        if self.problem == "tsp":
            return np.full(self.num_envs, self.state.done)
        return (self.state.served_all & (self.state.current == 0))[:, 0].numpy()

    def step(self, actions):
        actions = torch.as_tensor(np.asarray(actions, dtype=np.int64)).view(-1, 1).clone()
        restarted = self.finished.copy()
        if restarted.any():  # next-step autoreset: these rows begin a new episode; their action is unused
            if self.problem == "tsp":  # TSP episodes all have the same length, so they end together
                obs, info = self.reset()
                zeros = np.zeros(self.num_envs, bool)
                return obs, np.zeros(self.num_envs), zeros, zeros.copy(), info
            self._reset_rows(np.flatnonzero(restarted))
        mask = self.state.mask[:, 0]
        in_range = (actions[:, 0] >= 0) & (actions[:, 0] < mask.shape[1])
        legal = in_range & mask.gather(1, actions.clamp(0, mask.shape[1] - 1)).squeeze(1)
        legal[torch.as_tensor(restarted)] = True
        before = self.state.length[:, 0].clone()
        if self.problem == "tsp":
            if not bool(legal.all()):  # TSP rows advance in lock step, so no row can skip a step
                raise ValueError(f"illegal actions in sub-envs {torch.flatnonzero(~legal).tolist()}; "
                                 "the TSP vector env needs a legal action everywhere (info['action_mask'])")
            self.state = self.env.step(self.state, actions)
        else:
            moving = legal & ~torch.as_tensor(restarted)
            self.state = self._step_rows(actions, moving)
        rewards = (before - self.state.length[:, 0]).numpy().astype(np.float64)
        self.finished = self._finished_rows()
        obs = _observe(self.state, self.problem)
        info = {"action_mask": obs["mask"].copy(), "illegal_action": (~legal).numpy()}
        return obs, rewards, self.finished.copy(), np.zeros(self.num_envs, bool), info

    def _step_rows(self, actions: torch.Tensor, moving: torch.Tensor):
        """Step the CVRP rows in ``moving``; the others (illegal or restarted) stay as they are."""
        if bool(moving.all()):
            return self.env.step(self.state, actions)
        keep = {k: getattr(self.state, k).clone() for k in ROW_FIELDS}
        actions = torch.where(moving[:, None], actions, self.state.current)
        self.state = self.env.step(self.state, actions)
        for k, v in keep.items():
            getattr(self.state, k)[~moving] = v[~moving]
        return self.state

    def _reset_rows(self, rows: np.ndarray) -> None:
        fresh = _draw(self.problem, self.num_nodes, self.rng, len(rows))
        idx = torch.as_tensor(rows)
        b = self.state.batch
        b.coords[idx], b.dist[idx], b.demand[idx] = fresh.coords, fresh.dist, fresh.demand
        fresh_state = self.env.reset(fresh)
        for name in ROW_FIELDS:  # every per-rollout tensor, so that none is left from the old instance
            getattr(self.state, name)[idx] = getattr(fresh_state, name)
        self.finished[rows] = False


class TSPVectorEnv(RoutingVectorEnv):
    """Vector version of ``nco/TSP-v0``."""

    problem = "tsp"


class CVRPVectorEnv(RoutingVectorEnv):
    """Vector version of ``nco/CVRP-v0``."""

    problem = "cvrp"
