"""REINFORCE for any policy and environment, as a LightningModule; ``train`` runs it under a Trainer.

The module holds only the algorithm: roll out a batch of fresh instances,
compare each solution's reward with a baseline, and step along
``(reward - baseline) * grad log p``. Baselines: ``shared`` (POMO: the mean
over the rollouts of the same instance), ``exponential`` (a moving average of
the batch mean) and ``rollout`` (Kool et al.: the greedy solution of a frozen
copy of the policy, replaced when a paired t-test on held-out instances says
the trained one is better). Instances are uniform (Kool et al.) or, with
``cities``, subsets of real cities' matrices (:class:`nco.envs.cities.CityPool`),
optionally smaller ones first (``curriculum``, :mod:`nco.curriculum`); with the
shared baseline, ``leader_reward`` weighs each instance's best start more;
``compile`` takes the training rollouts' steps with ``torch.compile``.
Validation logs the greedy cost of a fixed instance set and, for uniform
instances, its approximate gap to the published reference. The
Trainer owns devices, precision, checkpoints, logs and the progress bar. On
several devices (DDP) each rank draws its own instances and every rank
validates the whole set, so that all ranks take the same checkpoint and
baseline decisions without gathering results.
"""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from scipy import stats
from torch.utils.data import DataLoader

from nco.data import KOOL_VALIDATION_SEED, SolverError, get_problem
from nco.envs import make_env
from nco.envs.batch import Batch, kool_batch, random_batch
from nco.envs.cities import CityPool

from .curriculum import parse_curriculum
from .policies import DEFAULT_BASELINE, MULTISTART, make_policy
from .policies.decoding import best_of, rollout

BASELINES = ("rollout", "shared", "exponential")
GRADIENT_CLIP = 1.0  # max gradient norm of every optimizer step (the Trainer's; benchmarks/throughput.py too)


def city_pool(cities: list[str]) -> CityPool:
    """The cities (bundled names or ``.npz`` paths, see :func:`nco.data.load_city`) as a training pool."""
    from nco.data import load_city

    return CityPool([load_city(c) for c in cities])


def with_leader_bonus(advantage: torch.Tensor, alpha: float) -> torch.Tensor:
    """Leader reward (Wang et al. 2024): the best rollout of each instance (``[B, starts]``, the
    highest advantage) gets ``1 + alpha`` times its advantage. POMO is judged by its best start, and
    this trains the policy towards that one rather than towards the average start."""
    leader = advantage.argmax(1, keepdim=True)
    bonus = torch.zeros_like(advantage).scatter_(1, leader, advantage.gather(1, leader))
    return advantage + alpha * bonus


class Reinforce(L.LightningModule):
    """REINFORCE with a shared, exponential or rollout baseline, on instances generated on the fly."""

    def __init__(self, problem: str, num_nodes: int, policy: str = "pomo", baseline: str | None = None,
                 batch_size: int = 64, steps_per_epoch: int = 100, lr: float = 1e-4, weight_decay: float = 1e-6,
                 val_size: int = 1000, val_batch_size: int = 250, policy_config: dict[str, Any] | None = None,
                 exp_beta: float = 0.8, cities: list[str] | None = None, curriculum: str | None = None,
                 leader_reward: float = 0.0, compile: bool = False):
        super().__init__()
        baseline = baseline or DEFAULT_BASELINE.get(policy, "exponential")
        if baseline not in BASELINES:
            raise SolverError(f"unknown baseline {baseline!r}; expected one of {', '.join(BASELINES)}")
        if baseline == "shared" and policy not in MULTISTART:
            raise SolverError("the shared baseline needs POMO's multiple starts (--policy pomo or matrix)")
        if leader_reward and baseline != "shared":
            raise SolverError("leader_reward weighs the best of POMO's starts: it needs the shared baseline")
        if leader_reward < 0:
            raise SolverError(f"leader_reward: expected a weight >= 0, got {leader_reward}")
        self.save_hyperparameters()
        self.policy = make_policy(policy, problem, **(policy_config or {}))
        self.env = make_env(problem)
        self.baseline_policy: torch.nn.Module | None = None
        self.register_buffer("ema", torch.zeros(()), persistent=True)
        self.pool = city_pool(cities) if cities else None
        self.curriculum = parse_curriculum(curriculum, num_nodes)
        # per training size: steps, instances and wall-clock seconds (validation included) spent on it
        self.stages: dict[int, dict[str, float]] = {}
        self._last_step: tuple[float, int] | None = None  # (perf_counter, size) of the previous step
        self._started: float | None = None  # perf_counter at the start of training
        if self.pool is None:
            self.val_batch = kool_batch(problem, num_nodes, val_size, KOOL_VALIDATION_SEED)
        else:
            generator = torch.Generator().manual_seed(KOOL_VALIDATION_SEED)
            self.val_batch = self.pool.sample(problem, num_nodes, val_size, generator)
        self.instances_seen = 0
        self._val_costs: list[torch.Tensor] = []

    # -- rollouts ---------------------------------------------------------------------------------
    @property
    def multistart(self) -> bool:
        """POMO decodes from every start node at once."""
        return self.hparams.policy in MULTISTART

    def solve(self, policy, batch: Batch, decode: str, log_prob: bool = True):
        """One rollout of ``policy`` on ``batch`` (all starts for POMO: one per city or customer).

        The training rollouts (those with log-probabilities) take their steps
        compiled when ``compile`` is set; the greedy baseline and validation
        rollouts run eagerly.
        """
        starts = batch.num_starts if self.multistart else 1
        return rollout(policy, self.env, batch, decode, num_starts=starts, multistart=self.multistart,
                       log_prob=log_prob, compiled=self.hparams.compile and log_prob)

    def greedy_cost(self, policy, batch: Batch) -> torch.Tensor:
        """``[B]`` cost of the greedy solution (best over starts for POMO)."""
        reward, _ = best_of(self.solve(policy, batch, "greedy", log_prob=False))
        return -reward

    # -- data -------------------------------------------------------------------------------------
    def train_dataloader(self) -> DataLoader:
        # Instances are drawn on the device inside training_step; the loader only counts steps.
        return DataLoader(range(self.hparams.steps_per_epoch), batch_size=None)

    def val_dataloader(self) -> DataLoader:
        chunks = math.ceil(self.hparams.val_size / self.hparams.val_batch_size)
        return DataLoader(range(chunks), batch_size=None)

    def draw(self, size: int, num_nodes: int | None = None) -> Batch:
        """Fresh training instances on the module's device (uniform, or from the city pool), of the
        run's size unless ``num_nodes`` says otherwise."""
        num_nodes = num_nodes or self.hparams.num_nodes
        if self.pool is None:
            return random_batch(self.hparams.problem, num_nodes, size, device=self.device)
        if self.pool.coords[0].device != self.device:
            self.pool.to(self.device)
        return self.pool.sample(self.hparams.problem, num_nodes, size)

    def train_size(self) -> int:
        """The size to train on now: the curriculum's stage, else the run's size."""
        if self.curriculum is None:
            return self.hparams.num_nodes
        return self.curriculum.size_at(self.global_step, self._training_minutes())

    def _training_minutes(self) -> float:
        from lightning.pytorch.callbacks import Timer

        # Lightning's Timer (there whenever max_time is set) keeps the elapsed time across a resume.
        timers = [c for c in self.trainer.callbacks if isinstance(c, Timer)] if self._trainer else []
        if timers:
            return (timers[0].time_elapsed("train") or 0.0) / 60
        return (time.perf_counter() - self._started) / 60 if self._started is not None else 0.0

    def _account(self, size: int | None) -> None:
        """Charge the time since the previous step to that step's size; ``size`` is this step's (None: the end)."""
        now = time.perf_counter()
        if self._last_step is not None:
            since, previous = self._last_step
            self.stages[previous]["seconds"] += now - since
        self._last_step = None if size is None else (now, size)
        if size is not None:
            entry = self.stages.setdefault(size, {"steps": 0, "instances": 0, "seconds": 0.0})
            entry["steps"] += 1
            entry["instances"] += self.hparams.batch_size * self.trainer.world_size

    # -- steps ------------------------------------------------------------------------------------
    def on_train_start(self) -> None:
        # Under DDP every rank starts from the same seed; offset it so that the ranks draw different
        # instances (and samples), not the same batch several times.
        if self.trainer.world_size > 1:
            torch.manual_seed(torch.initial_seed() + self.global_rank)
        self._started = time.perf_counter()

    def on_train_end(self) -> None:
        self._account(None)

    def training_step(self, _step, _index) -> torch.Tensor:
        hp = self.hparams
        size = self.train_size()
        self._account(size)
        loss, reward = self.reinforce_loss(self.draw(hp.batch_size, size))
        self.instances_seen += hp.batch_size * self.trainer.world_size  # every rank draws its own batch
        self.log_dict({"train/loss": loss, "train/cost": -reward.mean(), "train/num_nodes": float(size)},
                      prog_bar=True, batch_size=hp.batch_size)
        return loss

    def reinforce_loss(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """The REINFORCE loss of sampled rollouts on ``batch`` against the baseline, and their rewards
        ``[B, S]``. Also what ``benchmarks/throughput.py`` times, outside a Trainer (shared baseline)."""
        result = self.solve(self.policy, batch, "sample")
        reward = result.reward
        advantage = (reward - self._baseline(batch, reward)).detach()
        if self.hparams.leader_reward:
            advantage = with_leader_bonus(advantage, self.hparams.leader_reward)
        return -(advantage * result.log_prob).mean(), reward

    def _baseline(self, batch: Batch, reward: torch.Tensor) -> torch.Tensor:
        """What each rollout's reward is compared with (broadcasts against ``reward [B, S]``)."""
        hp = self.hparams
        if hp.baseline == "shared":
            return reward.mean(1, keepdim=True)
        if hp.baseline == "rollout" and self.baseline_policy is not None:
            with torch.no_grad():
                return -self.greedy_cost(self.baseline_policy, batch)[:, None]
        # exponential, and the rollout baseline's warm-up epoch (as in Kool et al.)
        mean = reward.mean().detach()
        if self.trainer.world_size > 1:  # one baseline for all ranks, as on one device
            mean = self.all_gather(mean).mean()
        self.ema = mean if self.global_step == 0 else hp.exp_beta * self.ema + (1 - hp.exp_beta) * mean
        return self.ema

    def validation_step(self, index, _batch_idx) -> None:
        size = self.hparams.val_batch_size
        batch = self.val_batch.slice(index * size, (index + 1) * size).to(self.device)
        cost = self.greedy_cost(self.policy, batch)
        self._val_costs.append(cost)
        self.log("val/cost", cost.mean(), prog_bar=True, batch_size=batch.size)

    def on_validation_epoch_end(self) -> None:
        costs = torch.cat(self._val_costs) if self._val_costs else None
        self._val_costs = []
        self.log("instances_seen", float(self.instances_seen))
        reference = None if self.pool else get_problem(self.hparams.problem).reference.get(self.hparams.num_nodes)
        if costs is not None and reference is not None:
            # Against the published test-set mean: the validation instances share its distribution,
            # not its instances, so this gap is approximate (nco eval measures the real one).
            self.log("val/gap_published", 100 * (float(costs.mean()) - reference) / reference, prog_bar=True)
        if self.hparams.baseline != "rollout" or costs is None or self.trainer.sanity_checking:
            return
        if self.baseline_policy is None:
            self._replace_baseline()
            return
        with torch.no_grad():
            base = torch.cat([self.greedy_cost(self.baseline_policy, self.val_batch.slice(
                i, i + self.hparams.val_batch_size).to(self.device))
                for i in range(0, self.hparams.val_size, self.hparams.val_batch_size)])
        t, p = stats.ttest_rel(costs.float().cpu().numpy(), base.float().cpu().numpy())
        # One-sided: replace only when the trained policy is better and the difference significant.
        if costs.mean() < base.mean() and p / 2 < 0.05:
            self._replace_baseline()

    def _replace_baseline(self) -> None:
        self.baseline_policy = copy.deepcopy(self.policy).eval()
        for param in self.baseline_policy.parameters():
            param.requires_grad_(False)

    def configure_optimizers(self):
        return torch.optim.Adam(self.policy.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)

    # -- checkpoints --------------------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["instances_seen"] = self.instances_seen
        checkpoint["stages"] = {str(k): v for k, v in self.stages.items()}
        if self.baseline_policy is not None:
            checkpoint["baseline_state"] = self.baseline_policy.state_dict()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.instances_seen = int(checkpoint.get("instances_seen", 0))
        self.stages = {int(k): dict(v) for k, v in checkpoint.get("stages", {}).items()}
        if "baseline_state" in checkpoint:
            self._replace_baseline()
            self.baseline_policy.load_state_dict(checkpoint["baseline_state"])


DEFAULTS = {  # batch size and learning rate per policy, as published (Kool 2019, Kwon 2020, Bello 2016)
    "am": {"batch_size": 512, "lr": 1e-4},
    "pomo": {"batch_size": 64, "lr": 1e-4},
    "matrix": {"batch_size": 64, "lr": 1e-4},
    "ptrnet": {"batch_size": 128, "lr": 1e-3},
}


def _device_count(accelerator: str, devices: str | int) -> int:
    """How many devices the Trainer will use (``devices`` as :func:`train` normalised it: a number, ``auto``,
    ``-1`` or a list such as ``"0,1"``; ``auto`` takes every GPU, or one CPU process)."""
    if isinstance(devices, int) and devices != -1:
        return devices
    if devices in ("auto", "-1", -1):
        gpus = torch.cuda.is_available() and accelerator in ("auto", "gpu", "cuda")
        return torch.cuda.device_count() if gpus else 1
    return len([d for d in str(devices).split(",") if d.strip()])  # a list such as "0,1"


def train(problem: str, num_nodes: int = 20, policy: str = "pomo", baseline: str | None = None,
          max_minutes: float = 10.0, out: str | Path = "runs/nco", accelerator: str = "auto",
          devices: str | int = "auto", resume: str | None = None, seed: int = 0, init: str | None = None,
          max_steps: int = -1, **overrides) -> dict[str, Any]:
    """Train a policy under Lightning's Trainer for at most ``max_minutes`` (and ``max_steps`` optimizer
    steps, when not -1); return paths and figures.

    Writes Lightning checkpoints (best and last), CSV and TensorBoard logs
    under ``out`` and the best policy as ``out/policy.pt`` (see
    :func:`nco.checkpoints.save_policy`). ``init`` starts from the weights of a
    policy file (a fresh optimizer); ``resume`` continues a Lightning
    checkpoint exactly.
    """
    from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    from .checkpoints import save_policy

    if max_minutes <= 0:
        raise SolverError(f"max_minutes: expected minutes > 0, got {max_minutes}")
    L.seed_everything(seed, workers=True, verbose=False)
    out = Path(out)
    if devices not in ("auto",) and str(devices).isdigit():
        devices = int(devices)
    params = DEFAULTS.get(policy, {}) | {k: v for k, v in overrides.items() if v is not None}
    module = Reinforce(problem, num_nodes, policy, baseline, **params)
    if init is not None:
        from .checkpoints import CheckpointError, load_policy

        start_policy, meta = load_policy(init, problem=problem)
        if meta["policy"] == policy:
            module.policy.load_state_dict(start_policy.state_dict())
        elif (meta["policy"], policy) == ("pomo", "matrix"):  # matrix-aware training from a trained POMO
            module.policy.load_pomo(start_policy.state_dict())
        else:
            raise CheckpointError(f"{init}: a {meta['policy']} policy cannot start a {policy} policy")
        module.instances_seen = int(meta["training"].get("instances_seen", 0))
        prior_minutes = float(meta["training"].get("minutes", 0.0))
        prior_device = meta["training"].get("device")
    else:
        prior_minutes, prior_device = 0.0, None
    count = _device_count(accelerator, devices)
    checkpoint = ModelCheckpoint(dirpath=out / "checkpoints", filename="best-{epoch}-{step}", monitor="val/cost",
                                 mode="min", save_last=True)
    trainer = L.Trainer(
        max_time={"minutes": max_minutes}, max_epochs=-1, max_steps=max_steps, accelerator=accelerator, devices=devices,
        # POMO leaves some weights unused (the TSP placeholder, the graph context), which plain DDP rejects.
        strategy="ddp_find_unused_parameters_true" if count > 1 else "auto", use_distributed_sampler=False,
        precision="bf16-mixed" if torch.cuda.is_available() and accelerator != "cpu" else "32-true",
        callbacks=[checkpoint, RichProgressBar()], gradient_clip_val=GRADIENT_CLIP, log_every_n_steps=10,
        logger=[CSVLogger(out, name="csv"), TensorBoardLogger(out, name="tensorboard")],
        enable_model_summary=False)
    if module.hparams.compile:
        from lightning.pytorch.utilities import rank_zero_info

        rank_zero_info("compile: the first training step compiles the decoding step (up to a minute)")
    start = time.perf_counter()
    trainer.fit(module, ckpt_path=resume)
    minutes = prior_minutes + (time.perf_counter() - start) / 60
    best = checkpoint.best_model_path or checkpoint.last_model_path
    stages = [{"num_nodes": k, "steps": int(v["steps"]), "instances": int(v["instances"]),
               "seconds": round(v["seconds"], 1)} for k, v in module.stages.items()]  # the whole run's
    if not trainer.is_global_zero:  # the other DDP ranks: rank 0 writes the policy file
        return {"checkpoint": best, "policy": str(out / "policy.pt"), "rank": trainer.global_rank}
    if best:
        module = Reinforce.load_from_checkpoint(best, map_location="cpu", weights_only=False)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() and accelerator != "cpu" else "CPU"
    if trainer.world_size > 1:
        device = f"{trainer.world_size} x {device} (DDP)"
    if prior_device and prior_device != device:
        device = f"{prior_device}, then {device}"
    training = {"minutes": round(minutes, 2), "instances_seen": module.instances_seen, "device": device,
                "baseline": module.hparams.baseline, "batch_size": module.hparams.batch_size, "lr": module.hparams.lr,
                "val_cost": float(checkpoint.best_model_score) if checkpoint.best_model_score is not None else None,
                "instances": "cities: " + ", ".join(module.pool.names) if module.pool else "uniform (Kool et al.)"}
    if module.hparams.leader_reward:
        training["leader_reward"] = module.hparams.leader_reward
    if module.hparams.compile:
        training["compile"] = True
    if module.curriculum is not None:
        training |= {"curriculum": module.hparams.curriculum, "stages": stages}
    policy_path = save_policy(out / "policy.pt", module.policy, policy, problem, num_nodes,
                              module.hparams.policy_config, training)
    return {"checkpoint": best, "policy": str(policy_path), **training}
