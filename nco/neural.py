"""Neural solving: run a trained policy on instances and return checker-verified solutions.

Used by ``nco.solve(..., solver="neural")``, ``nco eval`` and the neural
benchmark. Policies were trained on the unit square, so instances whose
coordinates lie outside it are shifted and scaled into it (one factor for both
axes, which keeps the geometry); the matrix is scaled by the same factor, and
the returned cost is recomputed on the instance's own matrix. Asymmetric
instances (real roads) and instances without coordinates go to the shipped
matrix-aware policy (:mod:`nco.policies.matrix`), the others to POMO; a fleet
goes to the policy trained on its preset (:mod:`nco.policies.camp`), decoded
in the mode it was trained in.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nco.data import Instance, InstanceError, Solution, SolverError, get_problem, make_solution, problem_of
from nco.envs import make_env
from nco.envs.batch import Batch, from_instances, unit_square
from nco.envs.contracts import Env

from .budget import BudgetedDecoder
from .checkpoints import expect, load_policy, shipped
from .policies import MULTISTART, PolicyModule
from .policies.decoding import Rollout, augment, best_of, rollout, usable_factor

DECODES = ("greedy", "sample", "multistart")


@dataclass
class Decoded:
    """Per-instance best cost (in the batch's units) and actions, and the seconds it took."""

    cost: torch.Tensor  # [B]
    actions: torch.Tensor  # [B, T]
    seconds: float


def default_device() -> torch.device:
    """The GPU when there is one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_named(name: str | None) -> torch.device:
    """The torch device called ``name`` (``cpu``, ``cuda``, ``cuda:1``; None: the default), or a
    :class:`SolverError` when torch does not know it or this machine does not have it."""
    if name is None:
        return default_device()
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise SolverError(f"device: expected cpu or cuda (cuda:N), got {name!r}") from None
    if device.type == "cuda" and (not torch.cuda.is_available()
                                  or (device.index or 0) >= torch.cuda.device_count()):
        raise SolverError(f"device: {name} asked, but torch sees {torch.cuda.device_count()} CUDA GPU(s) here")
    if device.type not in ("cpu", "cuda"):
        raise SolverError(f"device: expected cpu or cuda (cuda:N), got {name!r}")
    return device


def decode(policy, meta: dict, batch: Batch, how: str = "multistart", augment_factor: int = 1,
           samples: int = 16, seed: int = 0) -> Decoded:
    """Solve ``batch`` with ``policy``, keeping the best solution per instance.

    ``greedy``: one greedy rollout. ``multistart``: greedy from every start
    node (POMO). ``sample``: ``samples`` sampled rollouts (POMO: one from every
    start node). ``augment_factor`` 8 decodes the 8 symmetric copies too.
    """
    if how not in DECODES:
        raise SolverError(f"unknown decoding {how!r}; expected one of {', '.join(DECODES)}")
    if how == "multistart" and meta["policy"] == "ptrnet":
        raise SolverError("the pointer network decodes from its own first city; use greedy or sample")
    env = env_for(meta)
    starts = batch.num_starts
    pomo = meta["policy"] in MULTISTART
    augment_factor = usable_factor(batch, augment_factor)
    # (rollouts per instance, forced distinct first nodes, action choice)
    if how == "multistart":
        num_starts, forced, mode = starts, True, "greedy"
    elif how == "greedy":  # POMO never learned to pick its first node: it starts at the first start node
        num_starts, forced, mode = 1, pomo, "greedy"
    else:  # POMO samples one rollout from every start node; the others draw ``samples`` rollouts
        num_starts, forced, mode = (starts, True, "sample") if pomo else (samples, False, "sample")
    torch.manual_seed(seed)
    sync = torch.cuda.synchronize if batch.dist.is_cuda else (lambda: None)
    sync()
    start = time.perf_counter()
    with torch.inference_mode():
        result = rollout(policy, env, augment(batch, augment_factor), mode, num_starts=num_starts,
                         multistart=forced, log_prob=False)
        reward, actions = best_of(result, augment_factor)
    sync()
    return Decoded(-reward, actions, time.perf_counter() - start)


def to_batch(instances: list[Instance], device: torch.device | str = "cpu", need_coords: bool = True) -> Batch:
    """Instances as a batch in the unit square (see the module docstring); all of one problem and size.

    ``need_coords``: the policy reads coordinates, so an instance without
    them gets an :class:`InstanceError` (the matrix-aware policy does not).
    """
    if need_coords and any(i.coords is None for i in instances):
        raise InstanceError("this policy reads node coordinates; this instance has only a matrix "
                            "(use the matrix-aware policy or a classical solver)", field="coords")
    batch = from_instances(instances, device)
    if batch.coords is not None and not bool(((batch.coords >= 0) & (batch.coords <= 1)).all()):
        batch.coords, span = unit_square(batch.coords)
        batch.dist = batch.dist / span
    return batch


def env_for(meta: dict) -> Env:
    """The env a checkpoint's policy decodes in: its problem's, in the mode it was trained in (a fleet's)."""
    mode = meta.get("training", {}).get("mode")
    return make_env(meta["problem"], **({} if mode is None else {"mode": mode}))


def policy_kind(instance: Instance) -> str:
    """The shipped policy for ``instance``: ``matrix`` when its matrix is asymmetric or it has no
    coordinates (road networks), else ``pomo`` (trained on Euclidean instances); a problem that POMO does not
    solve (fleets), its own first policy."""
    policies = problem_of(instance).policies
    if "pomo" not in policies:
        return policies[0]
    if instance.coords is None:
        return "matrix"
    # the exact check is cached on the instance; allclose (0.25 s at n = 3000) only for what it leaves
    if instance.symmetric or np.allclose(instance.distance, instance.distance.T):
        return "pomo"
    return "matrix"


def routes_of(problem: str, actions: torch.Tensor) -> tuple[tuple[int, ...], ...]:
    """The routes of one decoded action sequence (the problem's own reading: a tour, depot-separated routes)."""
    return get_problem(problem).data.routes_of(actions.tolist())


def decoded_routes(env: Env, instance: Instance, actions: torch.Tensor) -> tuple[tuple[tuple[int, ...], ...],
                                                                                 tuple[int, ...]]:
    """The routes of one rollout's actions and the vehicle of each (empty where the vehicles are alike): an env
    whose actions name the vehicle too (a fleet's) reads them itself (its ``trips``)."""
    trips = getattr(env, "trips", None)
    if trips is not None:
        return trips(actions.cpu(), instance)
    return routes_of(instance.problem, actions.cpu()), ()


@dataclass
class LoadedPolicy:
    """A policy ready for inference on one device, its checkpoint's metadata and its budgeted decoder."""

    policy: PolicyModule
    meta: dict
    decoder: BudgetedDecoder
    env: Env  # the env it decodes in (env_for its meta)

    @property
    def pomo(self) -> bool:
        """Whether it decodes from every start node at once."""
        return self.meta["policy"] in MULTISTART

    def rollouts(self, batch: Batch, augment_factor: int, budget: float | None) -> list[Rollout]:
        """Greedy rollouts of one instance from every start node and symmetric copy, or those that fit in
        ``budget`` seconds (see :class:`nco.budget.BudgetedDecoder`)."""
        factor = usable_factor(batch, augment_factor)
        return self.decoder.rollouts(self.policy, self.env, batch, batch.num_starts, factor,
                                     self.pomo, budget)


def loaded_policy(instance: Instance, checkpoint: str | None = None) -> tuple[LoadedPolicy, Batch]:
    """The policy (``checkpoint``, else the shipped one nearest in size) and the instance, on the default device."""
    preset = _preset_of(instance)
    path = Path(checkpoint or shipped(instance.problem, instance.size, policy_kind(instance), preset)).resolve()
    try:
        stamp = path.stat()
    except OSError:
        stamp = None  # load_policy names the missing file
    device = default_device()
    version = (stamp.st_ino, stamp.st_mtime_ns, stamp.st_size) if stamp else None
    loaded = _inference_policy(path, version, str(device))
    expect(path, loaded.meta, problem=instance.problem, preset=preset,
           vehicles=getattr(instance, "num_vehicles", None))
    return loaded, to_batch([instance], device, need_coords=loaded.meta["policy"] != "matrix")


@functools.lru_cache(maxsize=8)
def _inference_policy(path: Path, version: tuple[int, int, int] | None, device: str) -> LoadedPolicy:
    """A policy loaded once per file version and device: solving many instances in a row
    (``nco.solve`` in a loop, the benchmarks) would otherwise rebuild and reload it every time,
    which costs about a fifth of a CVRP100 decoding on the CPU, and would forget its decoding speed.
    Only used under inference mode, where nothing changes the weights; ``version`` (inode, mtime,
    size) makes a rewritten file load again."""
    policy, meta = load_policy(path)
    return LoadedPolicy(policy.to(device), meta, BudgetedDecoder(), env_for(meta))


def _preset_of(instance: Instance) -> str | None:
    """The generator preset whose policies can serve ``instance`` (a fleet's; None for other problems)."""
    spec = problem_of(instance)
    return spec.data.preset_of(instance) if spec.presets else None


def candidate_solutions(instance: Instance, count: int = 25, checkpoint: str | None = None,
                        augment_factor: int | None = None, budget: float | None = None) -> list[Solution]:
    """Up to ``count`` distinct solutions from one batched decoding (all starts x augmentation), best first.

    By default x8 augmentation on a GPU and none on the CPU, where it would
    cost about a second per 100-node instance before any refinement starts.
    ``budget``: seconds the decoding may take, fewer starts when all would
    not fit, none (an empty list) when not even one rollout would (see
    :class:`nco.budget.BudgetedDecoder`).
    """
    loaded, batch = loaded_policy(instance, checkpoint)
    if augment_factor is None:
        augment_factor = 8 if batch.dist.is_cuda else 1
    chunks = loaded.rollouts(batch, augment_factor, budget)
    if not chunks:
        return []
    rewards = torch.cat([c.reward.flatten() for c in chunks]).cpu()
    actions = [c.actions.flatten(0, 1).cpu() for c in chunks]  # one transfer per chunk, not one per row read
    rows = [(c, r) for c, chunk in enumerate(actions) for r in range(chunk.shape[0])]
    found: dict[tuple, Solution] = {}
    for k in torch.argsort(rewards, descending=True).tolist():
        c, r = rows[k]
        routes, vehicles = decoded_routes(loaded.env, instance, actions[c][r])
        key = tuple(sorted(zip(routes, vehicles or [0] * len(routes))))
        if key not in found:
            found[key] = make_solution(instance, routes, solver="neural", vehicles=vehicles)
            if len(found) == count:
                break
    return list(found.values())


def solve_neural(instance: Instance, time_limit: float = 10.0, seed: int = 0, initial: Solution | None = None,
                 checkpoint: str | None = None, how: str = "multistart", augment_factor: int = 8) -> Solution:
    """Solve one instance with a trained policy (by default the shipped one nearest in size, see
    :func:`policy_kind`).

    ``multistart`` (POMO, the default) decodes from every start node and its
    ``augment_factor`` symmetric copies, or as many of them as fit in
    ``time_limit`` (see :class:`nco.budget.BudgetedDecoder`); a
    :class:`SolverError` says so when not even one rollout can be done in
    time. The other decodings run once whatever the limit.
    ``initial`` is not used.
    """
    start = time.perf_counter()
    loaded, batch = loaded_policy(instance, checkpoint)
    if loaded.meta["policy"] == "ptrnet" and how == "multistart":
        how = "greedy"
    if how == "multistart":
        budget = max(0.0, time_limit - (time.perf_counter() - start))
        chunks = loaded.rollouts(batch, augment_factor, budget)
        if not chunks:
            raise SolverError(_too_slow(loaded, batch, time_limit, budget))
        best = max(chunks, key=lambda c: float(c.reward.max()))
        actions = best.actions.flatten(0, 1)[int(best.reward.flatten().argmax())]
    else:
        actions = decode(loaded.policy, loaded.meta, batch, how, augment_factor, seed=seed).actions[0]
    routes, vehicles = decoded_routes(loaded.env, instance, actions)
    return make_solution(instance, routes, solver="neural", runtime=time.perf_counter() - start, vehicles=vehicles)


def _too_slow(loaded: LoadedPolicy, batch: Batch, time_limit: float, budget: float) -> str:
    """Why no rollout was returned: what one costs here (as last measured) against the ``budget`` seconds that
    loading left of ``time_limit``."""
    need = (loaded.decoder.seconds_per_unit or 0.0) * batch.num_nodes ** 2
    about = "at least" if loaded.decoder.at_least else "about"
    return (f"time_limit: one rollout of the policy on {batch.num_nodes} nodes takes {about} {need:.1f} s on "
            f"{batch.dist.device.type}, and loading left {budget:.1f} s of the {time_limit:g} s limit; give a "
            "longer limit or use ga or ls")
