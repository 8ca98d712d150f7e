"""REINFORCE for any policy and environment, as a LightningModule; ``train`` runs it under a Trainer.

The module holds only the algorithm: roll out a batch of fresh instances,
compare each solution's reward with a baseline, and step along
``(reward - baseline) * grad log p``. Baselines: ``shared`` (POMO: the mean
over the rollouts of the same instance), ``exponential`` (a moving average of
the batch mean) and ``rollout`` (Kool et al.: the greedy solution of a frozen
copy of the policy, replaced when a paired t-test on held-out instances says
the trained one is better), each a class of :mod:`nco.baselines`. The run's
options are one :class:`nco.train_config.TrainConfig`. Instances are uniform (Kool et al.) or, with
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

import datetime
import math
import time
from pathlib import Path
from typing import Any, cast

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from torch.utils.data import DataLoader, Dataset

from nco.data import KOOL_VALIDATION_SEED, get_problem
from nco.envs import make_env
from nco.envs.batch import Batch, kool_batch, random_batch
from nco.envs.cities import CityPool

from .baselines import Baseline, make_baseline
from .curriculum import parse_curriculum
from .policies import MULTISTART, MatrixPolicy, PolicyModule, make_policy
from .policies.decoding import Rollout, best_of, rollout
from .train_config import TrainConfig
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

    def __init__(self, config: TrainConfig | None = None, **options: Any):
        # Lightning rebuilds a module from a checkpoint by passing its saved options as keywords.
        super().__init__()
        self.config = config if config is not None else TrainConfig.from_options(options, source="Reinforce")
        cfg = self.config
        self.save_hyperparameters(cfg.hparams())
        self.policy = make_policy(cfg.policy, cfg.problem, **(cfg.policy_config or {}))
        self.env = make_env(cfg.problem, **cfg.env_options())
        self.baseline: Baseline = make_baseline(cfg.baseline or "", cfg.exp_beta)
        self.pool = city_pool(cfg.cities) if cfg.cities else None
        self.curriculum = parse_curriculum(cfg.curriculum, cfg.num_nodes)
        # per training size: steps, instances and wall-clock seconds (validation included) spent on it
        self.stages: dict[int, dict[str, float]] = {}
        self._last_step: tuple[float, int] | None = None  # (perf_counter, size) of the previous step
        self._started: float | None = None  # perf_counter at the start of training
        if self.pool is None and hasattr(get_problem(cfg.problem).data, "kool_arrays"):
            self.val_batch = kool_batch(cfg.problem, cfg.num_nodes, cfg.val_size, KOOL_VALIDATION_SEED)
        elif self.pool is None:  # no published validation set (fleets, networks): the generator's own, seeded
            generator = torch.Generator().manual_seed(KOOL_VALIDATION_SEED)
            self.val_batch = random_batch(cfg.problem, cfg.num_nodes, cfg.val_size, generator=generator,
                                          **cfg.draw_options())
        else:
            generator = torch.Generator().manual_seed(KOOL_VALIDATION_SEED)
            self.val_batch = self.pool.sample(cfg.problem, cfg.num_nodes, cfg.val_size, generator)
        self.instances_seen = 0
        self.minutes_before = 0.0  # training minutes of the segments before a resume
        self._val_costs: list[torch.Tensor] = []

    # -- rollouts ---------------------------------------------------------------------------------
    @property
    def multistart(self) -> bool:
        """POMO decodes from every start node at once."""
        return self.config.policy in MULTISTART

    @property
    def world_size(self) -> int:
        """How many processes train together (1 outside a Trainer)."""
        return self.trainer.world_size if self._trainer else 1

    def mean_over_ranks(self, value: torch.Tensor) -> torch.Tensor:
        """``value`` averaged over the DDP ranks."""
        gathered = self.all_gather(value)
        assert isinstance(gathered, torch.Tensor)  # a tensor in, a tensor out
        return gathered.mean()

    def solve(self, policy: PolicyModule, batch: Batch, decode: str, log_prob: bool = True) -> Rollout:
        """One rollout of ``policy`` on ``batch`` (all starts for POMO: one per city or customer).

        The training rollouts (those with log-probabilities) take their steps
        compiled when ``compile`` is set; the greedy baseline and validation
        rollouts run eagerly.
        """
        starts = batch.num_starts if self.multistart else (self.config.num_samples if decode == "sample" else 1)
        return rollout(policy, self.env, batch, decode, num_starts=starts, multistart=self.multistart,
                       log_prob=log_prob, compiled=self.config.compile and log_prob)

    def greedy_cost(self, policy: PolicyModule, batch: Batch) -> torch.Tensor:
        """``[B]`` cost of the greedy solution (best over starts for POMO)."""
        reward, _ = best_of(self.solve(policy, batch, "greedy", log_prob=False))
        return -reward

    def validation_costs(self, policy: PolicyModule) -> torch.Tensor:
        """Greedy costs of ``policy`` on the whole validation set, in validation-sized chunks."""
        size = self.config.val_batch_size
        return torch.cat([self.greedy_cost(policy, self.val_batch.slice(i, i + size).to(self.device))
                          for i in range(0, self.config.val_size, size)])

    # -- data -------------------------------------------------------------------------------------
    def train_dataloader(self) -> DataLoader:
        # Instances are drawn on the device inside training_step; the loader only counts steps.
        return DataLoader(cast(Dataset, range(self.config.steps_per_epoch)), batch_size=None)

    def val_dataloader(self) -> DataLoader:
        chunks = math.ceil(self.config.val_size / self.config.val_batch_size)
        return DataLoader(cast(Dataset, range(chunks)), batch_size=None)  # a range is a map-style dataset

    def draw(self, size: int, num_nodes: int | None = None) -> Batch:
        """Fresh training instances on the module's device (uniform, or from the city pool), of the
        run's size unless ``num_nodes`` says otherwise; a fleet's vehicles drawn from the run's range."""
        num_nodes = num_nodes or self.config.num_nodes
        if self.pool is None:
            vehicles = self.config.vehicle_range()
            count = None if vehicles is None else int(torch.randint(vehicles[0], vehicles[1] + 1, ()))
            return random_batch(self.config.problem, num_nodes, size, device=self.device,
                                **self.config.draw_options(count))
        if self.pool.coords[0].device != self.device:
            self.pool.to(self.device)
        return self.pool.sample(self.config.problem, num_nodes, size)

    def train_size(self) -> int:
        """The size to train on now: the curriculum's stage, else one drawn from the run's range (its size
        when it has none)."""
        if self.curriculum is None:
            low, high = self.config.size_range()
            return low if low == high else int(torch.randint(low, high + 1, ()))
        return self.curriculum.size_at(self.global_step, self._training_minutes())

    def _training_minutes(self) -> float:
        from lightning.pytorch.callbacks import Timer

        # Lightning's Timer (there whenever max_time is set) keeps the elapsed time across a resume.
        callbacks = getattr(self.trainer, "callbacks", []) if self._trainer else []
        timers = [c for c in callbacks if isinstance(c, Timer)]
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
            entry["instances"] += self.config.batch_size * self.world_size

    # -- steps ------------------------------------------------------------------------------------
    def on_train_start(self) -> None:
        # Under DDP every rank starts from the same seed; offset it so that the ranks draw different
        # instances (and samples), not the same batch several times.
        if self.world_size > 1:
            torch.manual_seed(torch.initial_seed() + self.global_rank)
        self._started = time.perf_counter()

    def on_train_end(self) -> None:
        self._account(None)

    def training_step(self, _step: int, _index: int) -> torch.Tensor:
        size = self.train_size()
        self._account(size)
        loss, reward = self.reinforce_loss(self.draw(self.config.batch_size, size))
        self.instances_seen += self.config.batch_size * self.world_size  # every rank draws its own batch
        self.log_dict({"train/loss": loss, "train/cost": -reward.mean(), "train/num_nodes": float(size)},
                      prog_bar=True, batch_size=self.config.batch_size)
        return loss

    def reinforce_loss(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """The REINFORCE loss of sampled rollouts on ``batch`` against the baseline, and their rewards
        ``[B, S]``. Also what ``benchmarks/throughput.py`` times, outside a Trainer (shared baseline)."""
        result = self.solve(self.policy, batch, "sample")
        reward = result.reward
        assert result.log_prob is not None  # sampled with log_prob=True
        advantage = (reward - self.baseline(self, batch, reward)).detach()
        if self.config.leader_reward:
            advantage = with_leader_bonus(advantage, self.config.leader_reward)
        return -(advantage * result.log_prob).mean(), reward

    def validation_step(self, index: int, _batch_idx: int) -> None:
        size = self.config.val_batch_size
        batch = self.val_batch.slice(index * size, (index + 1) * size).to(self.device)
        cost = self.greedy_cost(self.policy, batch)
        self._val_costs.append(cost)
        self.log("val/cost", cost.mean(), prog_bar=True, batch_size=batch.size)

    def on_validation_epoch_end(self) -> None:
        costs = torch.cat(self._val_costs) if self._val_costs else None
        self._val_costs = []
        self.log("instances_seen", float(self.instances_seen))
        reference = None if self.pool else get_problem(self.config.problem).reference.get(self.config.num_nodes)
        if costs is not None and reference is not None:
            # Against the published test-set mean: the validation instances share its distribution,
            # not its instances, so this gap is approximate (nco eval measures the real one).
            self.log("val/gap_published", 100 * (float(costs.mean()) - reference) / reference, prog_bar=True)
        if costs is not None and not self.trainer.sanity_checking:
            self.baseline.epoch_end(self, costs)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.policy.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay)

    # -- checkpoints --------------------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["instances_seen"] = self.instances_seen
        # training minutes up to this checkpoint, over every resumed segment
        since = time.perf_counter() - self._started if self._started is not None else 0.0
        checkpoint["minutes"] = self.minutes_before + since / 60
        checkpoint["stages"] = {str(k): v for k, v in self.stages.items()}
        checkpoint |= self.baseline.state_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.instances_seen = int(checkpoint.get("instances_seen", 0))
        self.minutes_before = float(checkpoint.get("minutes", 0.0))
        self.stages = {int(k): dict(v) for k, v in checkpoint.get("stages", {}).items()}
        # Checkpoints before nco.baselines kept the moving average as the module's buffer "ema".
        if "ema" in checkpoint.get("state_dict", {}):
            checkpoint["ema"] = checkpoint["state_dict"].pop("ema")
        self.baseline.load_state_dict(checkpoint, self)


def _device_count(accelerator: str, devices: str | int) -> int:
    """How many devices the Trainer will use (``devices`` a number, ``auto``, ``-1`` or a list such as
    ``"0,1"``; ``auto`` takes every GPU, or one CPU process)."""
    if isinstance(devices, int) and devices != -1:
        return devices
    if devices in ("auto", "-1", -1):
        gpus = torch.cuda.is_available() and accelerator in ("auto", "gpu", "cuda")
        return torch.cuda.device_count() if gpus else 1
    return len([d for d in str(devices).split(",") if d.strip()])  # a list such as "0,1"


def _on_gpu(config: TrainConfig) -> bool:
    return torch.cuda.is_available() and config.accelerator != "cpu"


def train(problem: str, num_nodes: int = 20, **options: Any) -> dict[str, Any]:
    """Train a policy for ``problem`` at ``num_nodes``; ``options`` are :class:`TrainConfig`'s fields.
    See :func:`fit`."""
    return fit(TrainConfig.from_options({"problem": problem, "num_nodes": num_nodes} | options, source="train()"))


def fit(config: TrainConfig) -> dict[str, Any]:
    """Train under Lightning's Trainer for at most ``max_minutes`` (and ``max_steps`` optimizer steps, when
    not -1); return paths and figures.

    Writes Lightning checkpoints (best and last), CSV and TensorBoard logs
    under ``out`` and the best policy as ``out/policy.pt`` (see
    :func:`nco.checkpoints.save_policy`). ``init`` starts from the weights of a
    policy file (a fresh optimizer); ``resume`` continues a Lightning
    checkpoint exactly.
    """
    L.seed_everything(config.seed, workers=True, verbose=False)
    module = Reinforce(config)
    prior = _start_from(module, config)
    folder = Path(config.out) / "checkpoints"
    checkpoint = ModelCheckpoint(dirpath=folder, filename="best-{epoch}-{step}", monitor="val/cost", mode="min")
    # The latest state after every epoch, improved or not: a crash (kill -9) loses at most one epoch
    # (steps_per_epoch steps). Lightning's own save_last writes only when a new best is saved.
    latest = ModelCheckpoint(dirpath=folder, filename="last", monitor=None, save_top_k=1,
                             enable_version_counter=False)
    interrupt = SaveOnInterrupt(folder / "interrupted.ckpt")
    trainer = _trainer(config, [checkpoint, latest, interrupt])
    start = time.perf_counter()
    try:
        trainer.fit(module, ckpt_path=config.resume)
    except SystemExit:  # Lightning exits 1 after Ctrl-C; the callback has saved the state by then
        if interrupt.saved is None:
            raise
        policy = None
        if trainer.is_global_zero and checkpoint.best_model_path:  # the best policy so far, as on a normal end
            minutes = prior.get("minutes", 0.0) + module.minutes_before + (time.perf_counter() - start) / 60
            policy = _save(config, module, trainer, checkpoint, minutes, prior.get("device"))["policy"]
        raise TrainingInterrupted(interrupt.saved, policy) from None
    minutes = prior.get("minutes", 0.0) + module.minutes_before + (time.perf_counter() - start) / 60
    best = checkpoint.best_model_path or latest.best_model_path
    if not trainer.is_global_zero:  # the other DDP ranks: rank 0 writes the policy file
        return {"checkpoint": best, "policy": str(Path(config.out) / "policy.pt"), "rank": trainer.global_rank}
    return _save(config, module, trainer, checkpoint, minutes, prior.get("device"))


class TrainingInterrupted(Exception):
    """Training stopped by Ctrl-C after saving its state to ``path`` (resume with ``--resume path``)."""

    def __init__(self, path: Path, policy: str | None = None):
        best = f"the best policy so far is {policy}; " if policy else ""
        super().__init__(f"interrupted: {best}the state is saved in {path}; continue with --resume {path}")
        self.path, self.policy = path, policy


class SaveOnInterrupt(Callback):
    """On Ctrl-C, save the whole training state (weights, optimizer, step, baseline) to ``path``."""

    def __init__(self, path: Path):
        self.path = path
        self.saved: Path | None = None

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, KeyboardInterrupt):
            trainer.save_checkpoint(self.path)
            self.saved = self.path


def _start_from(module: Reinforce, config: TrainConfig) -> dict[str, Any]:
    """Load ``config.init``'s weights into ``module``; the training record of that policy file ({} without)."""
    if config.init is None:
        return {}
    from .checkpoints import CheckpointError, load_policy

    start_policy, meta = load_policy(config.init, problem=config.problem)
    if meta["policy"] == config.policy:
        module.policy.load_state_dict(start_policy.state_dict())
    elif meta["policy"] == "pomo" and isinstance(module.policy, MatrixPolicy):  # matrix-aware from a trained POMO
        module.policy.load_pomo(start_policy.state_dict())
    else:
        raise CheckpointError(f"{config.init}: a {meta['policy']} policy cannot start a {config.policy} policy")
    module.instances_seen = int(meta["training"].get("instances_seen", 0))
    return {"minutes": float(meta["training"].get("minutes", 0.0)), "device": meta["training"].get("device")}


def _trainer(config: TrainConfig, callbacks: list[Callback]) -> L.Trainer:
    """Lightning's Trainer for ``config``: its budget, devices, precision, logs and progress bar."""
    from lightning.pytorch.callbacks import RichProgressBar
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
    from lightning.pytorch.utilities import rank_zero_info

    if config.compile:
        rank_zero_info("compile: the first training step compiles the decoding step (up to a minute)")
    many = _device_count(config.accelerator, config.devices) > 1 or config.machines > 1
    return L.Trainer(
        max_time=datetime.timedelta(minutes=config.max_minutes), max_epochs=-1, max_steps=config.max_steps,
        accelerator=config.accelerator, devices=config.devices, num_nodes=config.machines,
        # POMO leaves some weights unused (the TSP placeholder, the graph context), which plain DDP rejects.
        strategy="ddp_find_unused_parameters_true" if many else "auto", use_distributed_sampler=False,
        precision="bf16-mixed" if _on_gpu(config) else "32-true",
        callbacks=[*callbacks, RichProgressBar()], gradient_clip_val=GRADIENT_CLIP, log_every_n_steps=10,
        logger=[CSVLogger(config.out, name="csv"), TensorBoardLogger(config.out, name="tensorboard")],
        enable_model_summary=False)


def _save(config: TrainConfig, module: Reinforce, trainer: L.Trainer, checkpoint: ModelCheckpoint,
          minutes: float, prior_device: str | None) -> dict[str, Any]:
    """Write the best checkpoint's policy as ``out/policy.pt`` with its training record; return the record."""
    from .checkpoints import save_policy

    stages: list[dict[str, Any]] = [{"num_nodes": k, "steps": int(v["steps"]), "instances": int(v["instances"]),
               "seconds": round(v["seconds"], 3)} for k, v in module.stages.items()]  # the whole run's
    best = checkpoint.best_model_path or checkpoint.last_model_path
    if best:
        module = Reinforce.load_from_checkpoint(best, map_location="cpu", weights_only=False)
    device = torch.cuda.get_device_name() if _on_gpu(config) else "CPU"
    if trainer.world_size > 1:
        device = f"{trainer.world_size} x {device} (DDP)"
    if prior_device and prior_device != device:
        device = f"{prior_device}, then {device}"
    cfg = module.config
    training: dict[str, Any] = {
        "minutes": round(minutes, 2), "instances_seen": module.instances_seen, "device": device,
        "baseline": cfg.baseline, "batch_size": cfg.batch_size, "lr": cfg.lr,
        "val_cost": float(checkpoint.best_model_score) if checkpoint.best_model_score is not None else None,
        "instances": "cities: " + ", ".join(module.pool.names) if module.pool else
        "uniform (Kool et al.)" if cfg.preset is None else f"the {cfg.preset} generator"}
    for key in ("preset", "distribution", "num_vehicles", "sizes", "mode", "objective"):  # what it was trained on
        if getattr(cfg, key) is not None:
            training[key] = getattr(cfg, key)
    if cfg.num_samples > 1:
        training["num_samples"] = cfg.num_samples
    if cfg.leader_reward:
        training["leader_reward"] = cfg.leader_reward
    if cfg.compile:
        training["compile"] = True
    if module.curriculum is not None:
        training |= {"curriculum": cfg.curriculum, "stages": stages}
    policy_path = save_policy(Path(config.out) / "policy.pt", module.policy, config.policy, config.problem,
                              config.num_nodes, cfg.policy_config, training)
    return {"checkpoint": best, "policy": str(policy_path), **training}
