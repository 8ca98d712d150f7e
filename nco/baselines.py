"""REINFORCE baselines: what each rollout's reward is compared with.

``shared`` (POMO, Kwon et al. 2020): the mean over the rollouts of the same
instance. ``exponential``: a moving average of the batch mean reward.
``rollout`` (Kool et al. 2019): the greedy reward of a frozen copy of the
policy, replaced at the end of an epoch when a one-sided paired t-test on the
validation instances says the trained policy is better; its first epoch uses
the exponential baseline. A baseline sees the training module through the
small :class:`Trainee` protocol, and keeps its own state for checkpoints.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, ClassVar, Protocol

import torch
from scipy import stats

from nco.data import SolverError
from nco.envs.batch import Batch

from .policies import PolicyModule


class Trainee(Protocol):
    """What a baseline needs of the module it serves (:class:`nco.training.Reinforce` is one)."""

    policy: PolicyModule

    @property
    def global_step(self) -> int:
        """Optimizer steps taken so far."""
        ...

    @property
    def world_size(self) -> int:
        """How many processes train together (DDP ranks)."""
        ...

    def mean_over_ranks(self, value: torch.Tensor) -> torch.Tensor:
        """``value`` averaged over the DDP ranks (itself on one device)."""
        ...

    def greedy_cost(self, policy: PolicyModule, batch: Batch) -> torch.Tensor:
        """``[B]`` cost of ``policy``'s greedy solutions of ``batch``."""
        ...

    def validation_costs(self, policy: PolicyModule) -> torch.Tensor:
        """Greedy costs of ``policy`` on the whole validation set."""
        ...


class Baseline:
    """The reward each rollout is compared with; subclasses say how."""

    name: ClassVar[str]

    def __call__(self, module: Trainee, batch: Batch, reward: torch.Tensor) -> torch.Tensor:
        """The baseline of ``reward [B, S]`` (broadcasts against it)."""
        raise NotImplementedError

    def epoch_end(self, module: Trainee, costs: torch.Tensor) -> None:
        """After a validation epoch whose greedy ``costs`` of the trained policy are given."""

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps of this baseline."""
        return {}

    def load_state_dict(self, state: dict[str, Any], module: Trainee) -> None:
        """Restore what :meth:`state_dict` kept."""


class SharedBaseline(Baseline):
    """POMO's: the mean reward over the rollouts (starts) of the same instance."""

    name = "shared"

    def __call__(self, module: Trainee, batch: Batch, reward: torch.Tensor) -> torch.Tensor:
        return reward.mean(1, keepdim=True)


class ExponentialBaseline(Baseline):
    """A moving average of the batch mean reward, ``beta`` the weight of the past."""

    name = "exponential"

    def __init__(self, beta: float = 0.8):
        self.beta = beta
        self.ema = torch.zeros(())

    def __call__(self, module: Trainee, batch: Batch, reward: torch.Tensor) -> torch.Tensor:
        mean = reward.mean().detach()
        if module.world_size > 1:  # one baseline for all ranks, as on one device
            mean = module.mean_over_ranks(mean)
        self.ema = mean if module.global_step == 0 else self.beta * self.ema.to(mean) + (1 - self.beta) * mean
        return self.ema

    def state_dict(self) -> dict[str, Any]:
        return {"ema": self.ema.detach().cpu()}

    def load_state_dict(self, state: dict[str, Any], module: Trainee) -> None:
        if "ema" in state:
            self.ema = state["ema"]


class RolloutBaseline(Baseline):
    """Kool et al.'s greedy rollout of a frozen policy, replaced when the trained one is significantly better."""

    name = "rollout"
    significance = 0.05  # one-sided p-value of the paired t-test that replaces the frozen policy

    def __init__(self, beta: float = 0.8):
        self.frozen: PolicyModule | None = None
        self.warmup = ExponentialBaseline(beta)  # the first epoch, before there is a frozen policy

    def __call__(self, module: Trainee, batch: Batch, reward: torch.Tensor) -> torch.Tensor:
        if self.frozen is None:
            return self.warmup(module, batch, reward)
        with torch.no_grad():
            return -module.greedy_cost(self.frozen, batch)[:, None]

    def epoch_end(self, module: Trainee, costs: torch.Tensor) -> None:
        if self.frozen is None:
            self.freeze(module.policy)
            return
        with torch.no_grad():
            base = module.validation_costs(self.frozen)
        _, p = stats.ttest_rel(costs.float().cpu().numpy(), base.float().cpu().numpy())
        if costs.mean() < base.mean() and p / 2 < self.significance:
            self.freeze(module.policy)

    def freeze(self, policy: PolicyModule) -> None:
        """Make a frozen copy of ``policy`` the baseline."""
        self.frozen = copy.deepcopy(policy).eval()
        for param in self.frozen.parameters():
            param.requires_grad_(False)

    def state_dict(self) -> dict[str, Any]:
        # "baseline_state" is the key checkpoints have used since the first release
        return {} if self.frozen is None else {"baseline_state": self.frozen.state_dict()}

    def load_state_dict(self, state: dict[str, Any], module: Trainee) -> None:
        if "baseline_state" in state:
            self.freeze(module.policy)
            assert self.frozen is not None
            self.frozen.load_state_dict(state["baseline_state"])


BASELINES: dict[str, Callable[[float], Baseline]] = {
    "shared": lambda beta: SharedBaseline(),
    "exponential": ExponentialBaseline,
    "rollout": RolloutBaseline,
}


def make_baseline(name: str, beta: float = 0.8) -> Baseline:
    """The baseline called ``name`` (``beta``: the moving average's weight of the past, where one is kept)."""
    if name not in BASELINES:
        raise SolverError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}")
    return BASELINES[name](beta)
