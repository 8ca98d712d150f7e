"""Gymnasium adapters over the batched environments: ``gymnasium.Env`` (batch 1) and ``VectorEnv`` (batch n).

One pair of classes serves every registered problem (``problem`` is a
constructor argument that the registration passes); the problem's env module
says what differs: its spaces (``gym_spaces``), observations (``observe``),
which rows are over (``finished``) and whether all episodes have one length
(``LOCKSTEP``). Observations hold ``nodes`` (TSP: x, y; CVRP: x, y, demand as
a fraction of the capacity, depot first), ``mask`` (1 where the next node is
allowed), ``current`` and the problem's own fields. Reward per step: minus
the distance just travelled, so an episode's return is minus the tour
length. Each ``reset`` draws a uniform instance from the env's seeded RNG. An
action that the mask forbids leaves the state unchanged, gives reward 0 and
sets ``info["illegal_action"]``; ``info["action_mask"]`` always holds the mask.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import VectorEnv
from gymnasium.vector.utils import batch_space

from nco.data import get_problem
from nco.data.generate import NumpySampler

from .batch import Batch


def _draw(problem: str, n: int, rng: np.random.Generator, count: int, options: dict[str, Any]) -> Batch:
    """``count`` uniform instances from ``rng`` (Kool et al.'s distribution; a fleet's ``options``: its preset
    and vehicles)."""
    spec = get_problem(problem)
    return spec.env_module().make_batch(spec.data.draw(NumpySampler(rng), count, n, **options))


def _split(module: Any, options: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The batched env of ``module`` made with its own ``options`` (its ``ENV_OPTIONS``, such as a fleet's
    decoding mode), and the options left for the generator."""
    own = getattr(module, "ENV_OPTIONS", ())
    return module.ENV(**{k: v for k, v in options.items() if k in own}), {k: v for k, v in options.items()
                                                                          if k not in own}


class RoutingEnv(gym.Env):
    """One routing instance at a time (batch 1 of the batched env)."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, problem: str, num_nodes: int = 20, **options: Any):
        self.problem = problem
        self.module = get_problem(problem).env_module()
        self.num_nodes = int(num_nodes)
        self.env, self.options = _split(self.module, options)
        self.observation_space, self.action_space = self.module.gym_spaces(self.num_nodes, **self.options)
        self.state: Any = None  # the problem's State (nco.envs.contracts) once reset

    def _obs(self) -> dict[str, np.ndarray]:
        return {k: v[0] for k, v in self.module.observe(self.state).items()}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.state = self.env.reset(_draw(self.problem, self.num_nodes, self.np_random, 1, self.options))
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


class RoutingVectorEnv(VectorEnv):
    """``num_envs`` instances stepped together in one batched state (next-step autoreset)."""

    metadata = {"render_modes": [], "autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP}

    def __init__(self, problem: str, num_envs: int = 8, num_nodes: int = 20, **options: Any):
        self.problem = problem
        self.module = get_problem(problem).env_module()
        self.num_envs = int(num_envs)
        self.num_nodes = int(num_nodes)
        self.env, self.options = _split(self.module, options)
        self.single_observation_space, self.single_action_space = self.module.gym_spaces(self.num_nodes,
                                                                                         **self.options)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.rng = np.random.default_rng()
        self.state: Any = None  # the problem's State (nco.envs.contracts) once reset
        self.finished = np.zeros(self.num_envs, dtype=bool)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.state = self.env.reset(_draw(self.problem, self.num_nodes, self.rng, self.num_envs, self.options))
        self.finished[:] = False
        obs = self.module.observe(self.state)
        return obs, {"action_mask": obs["mask"].copy()}

    def step(self, actions):
        actions = torch.as_tensor(np.asarray(actions, dtype=np.int64)).view(-1, 1).clone()
        restarted = self.finished.copy()
        if restarted.any():  # next-step autoreset: these rows begin a new episode; their action is unused
            if self.module.LOCKSTEP:  # episodes of one length end together: all rows restart
                obs, info = self.reset()
                zeros = np.zeros(self.num_envs, bool)
                return obs, np.zeros(self.num_envs), zeros, zeros.copy(), info
            self._reset_rows(np.flatnonzero(restarted))
        mask = self.state.mask[:, 0]
        in_range = (actions[:, 0] >= 0) & (actions[:, 0] < mask.shape[1])
        legal = in_range & mask.gather(1, actions.clamp(0, mask.shape[1] - 1)).squeeze(1)
        legal[torch.as_tensor(restarted)] = True
        before = self.state.length[:, 0].clone()
        if self.module.LOCKSTEP:
            if not bool(legal.all()):  # rows advance in lock step, so no row can skip a step
                raise ValueError(f"illegal actions in sub-envs {torch.flatnonzero(~legal).tolist()}; "
                                 f"the {self.problem} vector env needs a legal action everywhere (info['action_mask'])")
            self.state = self.env.step(self.state, actions)
        else:
            moving = legal & ~torch.as_tensor(restarted)
            self.state = self._step_rows(actions, moving)
        rewards = (before - self.state.length[:, 0]).numpy().astype(np.float64)
        self.finished = self.module.finished(self.state)
        obs = self.module.observe(self.state)
        info = {"action_mask": obs["mask"].copy(), "illegal_action": (~legal).numpy()}
        return obs, rewards, self.finished.copy(), np.zeros(self.num_envs, bool), info

    def _step_rows(self, actions: torch.Tensor, moving: torch.Tensor):
        """Step the rows in ``moving``; the others (illegal or restarted) stay as they are."""
        if bool(moving.all()):
            return self.env.step(self.state, actions)
        keep = {k: getattr(self.state, k).clone() for k in self.module.ROW_FIELDS}
        actions = torch.where(moving[:, None], actions, 0)  # any action in range: what it changes is put back
        self.state = self.env.step(self.state, actions)
        for k, v in keep.items():
            getattr(self.state, k)[~moving] = v[~moving]
        return self.state

    def _reset_rows(self, rows: np.ndarray) -> None:
        fresh = _draw(self.problem, self.num_nodes, self.rng, len(rows), self.options)
        idx = torch.as_tensor(rows)
        b = self.state.batch
        for name, tensor in b.tensors().items():  # every per-instance tensor of the batch
            tensor[idx] = getattr(fresh, name)
        fresh_state = self.env.reset(fresh)
        for name in self.module.ROW_FIELDS:  # every per-rollout tensor, so that none is left from the old instance
            getattr(self.state, name)[idx] = getattr(fresh_state, name)
        self.finished[rows] = False
