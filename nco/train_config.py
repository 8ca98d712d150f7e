"""The options of one training run, spelled once: ``nco train``'s flags, its YAML file, :func:`nco.training.train`
and the LightningModule all read :class:`TrainConfig`.

Each field's ``help`` is its ``nco train`` flag's help (a field without one is
set in YAML or Python only). Options left unset take the policy's published
defaults (batch size and learning rate: Kool 2019, Kwon 2020, Bello 2016) and
its usual baseline.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from nco.data import NcoError, SolverError
from nco.data.problems import problem_for

from .baselines import BASELINES
from .policies import DEFAULT_BASELINE, MULTISTART, PRESETS

POLICY_DEFAULTS: dict[str, dict[str, Any]] = {  # batch size and learning rate per policy, as published
    "am": {"batch_size": 512, "lr": 1e-4},
    "pomo": {"batch_size": 64, "lr": 1e-4},
    "matrix": {"batch_size": 64, "lr": 1e-4},
    "ptrnet": {"batch_size": 128, "lr": 1e-3},
    "camp": {"batch_size": 64, "lr": 1e-4, "num_samples": 8},
    "gnn": {"batch_size": 16, "lr": 1e-3, "num_samples": 16},  # 16 matrices of one network, 16 splits of each
}
MODES = ("parallel", "sequential")  # a fleet env's decoding modes (nco.envs.pvrp)


def _flag(help: str, default: Any = None, **argparse_options: Any) -> Any:
    """A field that is also an ``nco train`` flag."""
    return field(default=default, metadata={"help": help, **argparse_options})


@dataclass
class TrainConfig:
    """Everything one ``nco train`` run reads; construct with keywords, or from a YAML file and flags."""

    problem: str
    num_nodes: int = _flag("instance size: cities or customers, as the problem counts them (default 20)", 20,
                           metavar="N")
    policy: str = _flag("default: pomo; matrix: POMO whose attention also reads the distance matrix", "pomo",
                        choices=tuple(PRESETS))
    baseline: str | None = _flag("default: shared for pomo, rollout for am, exponential for ptrnet",
                                 choices=tuple(BASELINES))
    max_minutes: float = _flag("wall-clock budget (default 10)", 10.0, metavar="M")
    max_steps: int = _flag("also stop after this many optimizer steps", -1)
    accelerator: str = _flag("auto, cpu, gpu (default auto)", "auto")
    devices: str | int = _flag("auto, or a number of devices (default auto)", "auto")
    machines: int = _flag("machines of a multi-node run, each with --devices (Lightning's num_nodes, DDP; "
                          "default 1)", 1, metavar="N")
    out: str = _flag("output folder (default runs/nco)", "runs/nco", metavar="DIR")
    resume: str | None = _flag("continue from a Lightning checkpoint", metavar="CKPT")
    init: str | None = _flag("start from these weights (fresh optimizer)", metavar="POLICY.pt")
    cities: list[str] | None = _flag("train on subsets of these cities (bundled names or .npz files of nco data "
                                     "build-city), distance and duration matrices alike, instead of uniform "
                                     "instances", metavar="CITY")
    curriculum: str | None = _flag("train on smaller instances first: 20:1.5m,50:2m is 1.5 minutes at 20 nodes, "
                                   "2 at 50, then --num-nodes for the rest; 20:300,50:200 counts optimizer steps",
                                   metavar="SIZE:AMOUNT,...")
    leader_reward: float = _flag("with the shared baseline: the best start's advantage counts 1 + ALPHA times "
                                 "(Wang et al. 2024; default 0, plain POMO)", 0.0, metavar="ALPHA")
    compile: bool = _flag("take the training rollouts' steps with torch.compile: fewer, fused kernels, for a GPU "
                          "where launching them bounds the step (no faster on a CPU; compiling takes a minute)",
                          False)
    seed: int = _flag("random seed (default 0)", 0)
    # None until __post_init__ puts the policy's published value there (_flag's Any lets the type say int)
    batch_size: int = _flag("instances per optimizer step (default: the policy's published one)", None)
    lr: float = _flag("learning rate (default 1e-4 for pomo, as published)", None)
    steps_per_epoch: int = _flag("training steps between validations (default 100)", 100)
    val_size: int = _flag("validation instances (default 1000)", 1000)
    val_batch_size: int = 250
    weight_decay: float = 1e-6
    exp_beta: float = 0.8  # the exponential baseline's weight of the past
    policy_config: dict[str, Any] | None = None  # the policy's constructor options (see nco.policies.PRESETS)
    preset: str | None = _flag("a fleet's generator preset, one of its problem's presets (nco train PRESET sets "
                               "it; default the first)", metavar="NAME")
    distribution: str | None = _flag("the generator's pattern (a fleet preset's preferences or zones, such as pi "
                                     "or cluster; default uniform, for fleets random)", metavar="NAME")
    num_vehicles: str | None = _flag("a fleet's vehicles: a number, or a range drawn for each batch such as 3-7 "
                                     "(the default; validation at its middle)", metavar="M[-M]")
    sizes: str | None = _flag("draw each batch's size from this range, such as 40-100 (validation at "
                              "--num-nodes)", metavar="N-N")
    mode: str | None = _flag("a fleet env's decoding: parallel (every vehicle moves at each step, as CAMP; the "
                             "default) or sequential (one vehicle-node pair a step)", choices=MODES)
    num_samples: int = _flag("rollouts sampled per instance by a policy without POMO's starts, the shared "
                             "baseline's group (default: camp 8, else 1)", None)

    objective: str | None = _flag("what the env's reward is, where it has more than one (a network env's: mlu, "
                                  "minus the most loaded link's utilisation, the default; or satisfied, the share "
                                  "of the traffic carried)", metavar="NAME")
    topologies: list[str] | None = _flag("draw the traffic on these networks (REPETITA .graph, "
                                         "SNDlib .xml, Topology Zoo .graphml with capacities; default random "
                                         "networks of --num-nodes nodes)", metavar="FILE")

    def __post_init__(self) -> None:
        spec, preset = problem_for(self.problem)  # unknown: the one error that lists the registered problems
        if preset is not None:  # a preset's name (nco train hcvrp): its problem, with that preset
            self.problem, self.preset = spec.name, preset
        self._fleet_defaults(spec)
        if self.policy == "pomo" and "pomo" not in spec.policies:  # the default policy, where it does not serve
            self.policy = spec.policies[0]
        if self.objective is not None:
            if spec.env is None or "objective" not in getattr(spec.env_module(), "ENV_OPTIONS", ()):
                raise SolverError(f"objective: the {spec.title}'s environment has one reward")
            spec.env_module().ENV(objective=self.objective)  # an unknown one: the env's error, naming the field
        if self.topologies is not None and not getattr(spec.data, "NETWORKS", False):
            raise SolverError(f"topologies: the {spec.title} is not routed over networks")
        if self.policy not in PRESETS:
            raise SolverError(f"unknown policy {self.policy!r}; expected one of {', '.join(PRESETS)}")
        self.baseline = self.baseline or DEFAULT_BASELINE.get(self.policy, "exponential")
        defaults = POLICY_DEFAULTS.get(self.policy, {})
        if self.batch_size is None:
            self.batch_size = int(defaults.get("batch_size", 64))
        if self.lr is None:
            self.lr = float(defaults.get("lr", 1e-4))
        if self.num_samples is None:
            self.num_samples = int(defaults.get("num_samples", 1))
        if isinstance(self.devices, str) and self.devices.isdigit():
            self.devices = int(self.devices)
        self.out = str(self.out)
        self._check_ranges()
        if self.baseline not in BASELINES:
            raise SolverError(f"unknown baseline {self.baseline!r}; expected one of {', '.join(BASELINES)}")
        if self.baseline == "shared" and self.policy not in MULTISTART and self.num_samples < 2:
            raise SolverError("the shared baseline needs POMO's multiple starts (--policy pomo or matrix) or "
                              "several samples per instance (--num-samples)")
        if self.leader_reward < 0:
            raise SolverError(f"leader_reward: expected a weight >= 0, got {self.leader_reward}")
        if self.leader_reward and self.baseline != "shared":
            raise SolverError("leader_reward weighs the best of POMO's starts: it needs the shared baseline")

    def _fleet_defaults(self, spec: Any) -> None:
        """A problem with generator presets (a fleet) takes its first preset, 3-7 vehicles, the parallel mode
        and the camp policy unless told otherwise; any other problem refuses these options."""
        fleet = {"preset": self.preset, "num_vehicles": self.num_vehicles, "mode": self.mode}
        if not spec.presets:
            given = [k for k, v in fleet.items() if v is not None]
            if given:
                raise SolverError(f"{', '.join(given)}: the {spec.title} has no vehicles or presets")
            return
        if self.preset is None:
            self.preset = spec.presets[0]
        if self.preset not in spec.presets:
            raise SolverError(f"preset: expected one of {', '.join(spec.presets)}, got {self.preset!r}")
        self.num_vehicles = str(self.num_vehicles or "3-7")
        self.mode = self.mode or MODES[0]

    def vehicle_range(self) -> tuple[int, int] | None:
        """The fewest and most vehicles to draw (None: the problem has no fleet)."""
        return None if self.num_vehicles is None else _range(self.num_vehicles, "num_vehicles", 1)

    def size_range(self) -> tuple[int, int]:
        """The smallest and largest training size."""
        return _range(self.sizes, "sizes", 2) if self.sizes else (self.num_nodes, self.num_nodes)

    def env_options(self) -> dict[str, Any]:
        """What the problem's env is made with (a fleet's decoding mode, a network env's objective)."""
        options = {"mode": self.mode, "objective": self.objective}
        return {k: v for k, v in options.items() if v is not None}

    def draw_options(self, num_vehicles: int | None = None) -> dict[str, Any]:
        """What the generator draws with: the pattern, and a fleet's preset and vehicles (the middle of the
        range unless given)."""
        options: dict[str, Any] = {} if self.distribution is None else {"distribution": self.distribution}
        vehicles = self.vehicle_range()
        if vehicles is not None:
            options |= {"preset": self.preset, "num_vehicles": num_vehicles or (vehicles[0] + vehicles[1]) // 2}
        if self.topologies:
            from nco.data.paths import load_networks

            options["networks"] = load_networks(tuple(self.topologies))
        return options

    def _check_ranges(self) -> None:
        """Each number within what training can use, the devices there, the files to start from readable."""
        need = {"num_nodes": (self.num_nodes, 2, "nodes"), "batch_size": (self.batch_size, 1, "instances"),
                "steps_per_epoch": (self.steps_per_epoch, 1, "steps"), "val_size": (self.val_size, 1, "instances"),
                "val_batch_size": (self.val_batch_size, 1, "instances"),
                "machines": (self.machines, 1, "machines")}
        for name, (value, low, unit) in need.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise SolverError(f"{name}: expected {unit} >= {low}, got {value!r}")
        for name, amount in (("max_minutes", self.max_minutes), ("lr", self.lr)):
            if not isinstance(amount, (int, float)) or not math.isfinite(amount) or amount <= 0:
                raise SolverError(f"{name}: expected a number > 0, got {amount!r}")
        if self.max_steps != -1 and self.max_steps < 1:
            raise SolverError(f"max_steps: expected steps >= 1 (or -1: no limit), got {self.max_steps}")
        self.vehicle_range(), self.size_range()  # each a clear error when malformed
        if not isinstance(self.num_samples, int) or self.num_samples < 1:
            raise SolverError(f"num_samples: expected rollouts >= 1, got {self.num_samples!r}")
        if self.weight_decay < 0 or not 0 <= self.exp_beta < 1:
            raise SolverError("weight_decay: expected >= 0; exp_beta: expected in [0, 1)")
        accelerators = ("auto", "cpu", "gpu", "cuda", "mps", "tpu")
        if self.accelerator not in accelerators:
            raise SolverError(f"accelerator: expected one of {', '.join(accelerators)}, got {self.accelerator!r}")
        if self.accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
            raise SolverError(f"accelerator: {self.accelerator} asked, but torch sees no CUDA GPU here "
                              "(use cpu or auto)")
        if isinstance(self.devices, int) and self.devices == 0 or self.devices in ("0", ""):
            raise SolverError("devices: expected auto, -1, a number >= 1 or a list such as 0,1; got 0")
        from .checkpoints import verify_archive

        for name in ("resume", "init"):
            if getattr(self, name) is not None:  # missing, truncated or corrupted: one error before training
                verify_archive(getattr(self, name))

    @classmethod
    def from_options(cls, options: dict[str, Any], source: str = "options") -> TrainConfig:
        """A config from a mapping of option names; an unknown name is an error naming ``source``."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise NcoError(f"{source}: unknown options {unknown}; expected some of {sorted(names)}")
        return cls(**options)

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides: Any) -> TrainConfig:
        """The options in a YAML file (a mapping of option: value), ``overrides`` taking precedence."""
        import yaml

        try:
            with open(path) as fh:
                data = yaml.safe_load(fh) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise NcoError(f"{path}: cannot read the YAML config ({exc})") from None
        if not isinstance(data, dict):
            raise NcoError(f"{path}: expected a mapping of option: value")
        return cls.from_options(data | overrides, source=str(path))

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """One ``--flag`` per field with a help text; unset flags stay None so that a YAML file's value holds."""
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if "help" not in f.metadata:
                continue
            flag = "--" + f.name.replace("_", "-")
            options = {k: v for k, v in f.metadata.items()}
            kind = hints[f.name]
            if kind is bool:
                parser.add_argument(flag, action="store_const", const=True, default=None, **options)
                continue
            if kind == list[str] | None:
                options["nargs"] = "+"
            elif kind in (int, float):
                options["type"] = kind
            parser.add_argument(flag, default=None, **options)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> TrainConfig:
        """The config of parsed ``nco train`` arguments: the ``--config`` file, then the flags given."""
        given = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
                 if "help" in f.metadata and getattr(args, f.name, None) is not None}
        if args.config:
            return cls.from_yaml(args.config, problem=args.problem, **given)
        return cls(problem=args.problem, **given)

    def hparams(self) -> dict[str, Any]:
        """The options as a plain dict (what Lightning saves with a checkpoint)."""
        return dataclasses.asdict(self)


def _range(text: str, name: str, least: int) -> tuple[int, int]:
    """``"3-7"`` as (3, 7), ``"5"`` as (5, 5); an error naming ``name`` otherwise."""
    parts = str(text).split("-")
    try:
        low, high = int(parts[0]), int(parts[-1])
    except ValueError:
        low = high = -1
    if len(parts) > 2 or low < least or high < low:
        raise SolverError(f"{name}: expected a number >= {least} or a range such as 3-7, got {text!r}")
    return low, high
