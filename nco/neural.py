"""Neural solving: run a trained policy on instances and return checker-verified solutions.

Used by ``nco.solve(..., solver="neural")``, ``nco eval`` and the neural
benchmark. Policies were trained on the unit square, so instances whose
coordinates lie outside it are shifted and scaled into it (one factor for both
axes, which keeps the geometry); the matrix is scaled by the same factor, and
the returned cost is recomputed on the instance's own matrix. Asymmetric
instances (real roads) and instances without coordinates go to the shipped
matrix-aware policy (:mod:`nco.policies.matrix`), the others to POMO.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nco.data import Instance, InstanceError, Solution, SolverError, get_problem, make_solution
from nco.envs import make_env
from nco.envs.batch import Batch, from_instances
from nco.envs.cities import unit_square

from .checkpoints import expect, load_policy, shipped
from .policies import MULTISTART
from .policies.decoding import Rollout, augment, best_of, rollout, symmetric_copy, usable_factor

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
    env = make_env(meta["problem"])
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


def policy_kind(instance: Instance) -> str:
    """The shipped policy for ``instance``: ``matrix`` when its matrix is asymmetric or it has no
    coordinates (road networks), else ``pomo`` (trained on Euclidean instances)."""
    if instance.coords is None or not np.allclose(instance.distance, instance.distance.T):
        return "matrix"
    return "pomo"


def routes_of(problem: str, actions: torch.Tensor) -> tuple[tuple[int, ...], ...]:
    """The routes of one decoded action sequence (the problem's own reading: a tour, depot-separated routes)."""
    return get_problem(problem).data.routes_of(actions.tolist())


def _policy_and_batch(instance: Instance, checkpoint: str | None) -> tuple[torch.nn.Module, dict, Batch]:
    """The policy (``checkpoint``, else the shipped one nearest in size) and the instance, on the default device."""
    path = Path(checkpoint or shipped(instance.problem, instance.size, policy_kind(instance))).resolve()
    try:
        stamp = path.stat()
    except OSError:
        stamp = None  # load_policy names the missing file
    device = default_device()
    version = (stamp.st_ino, stamp.st_mtime_ns, stamp.st_size) if stamp else None
    policy, meta = _inference_policy(path, version, str(device))
    expect(path, meta, problem=instance.problem)
    return policy, meta, to_batch([instance], device, need_coords=meta["policy"] != "matrix")


@functools.lru_cache(maxsize=8)
def _inference_policy(path: Path, version: tuple[int, int, int] | None, device: str) -> tuple[torch.nn.Module, dict]:
    """A policy loaded once per file version and device: solving many instances in a row
    (``nco.solve`` in a loop, the benchmarks) would otherwise rebuild and reload it every time,
    which costs about a fifth of a CVRP100 decoding on the CPU. Only used under inference mode,
    where nothing changes the weights; ``version`` (inode, mtime, size) makes a rewritten file load again."""
    policy, meta = load_policy(path)
    return policy.to(device), meta


PROBE_STARTS = 32  # rollouts of the first decoding on a device, which measures its speed (fewer: fixed costs dominate)
HYBRID_DECODE_SHARE = 0.2  # of a hybrid's time limit, at most, for the policy's decoding
_SECONDS_PER_UNIT: dict[str, float] = {}  # by device: decoding seconds per rollout x nodes^2, the last measured
_now = time.perf_counter  # the clock of the budgeted decoding (a test replaces it)


def _greedy_rollouts(policy, problem: str, batch: Batch, starts: int, factor: int, pomo: bool,
                     offset: int = 0) -> Rollout:
    with torch.inference_mode():
        return rollout(policy, make_env(problem), augment(batch, factor), "greedy",
                       num_starts=starts if pomo else 1, multistart=pomo, log_prob=False, start_offset=offset)


def rollouts_within(policy, problem: str, batch: Batch, starts: int, factor: int, pomo: bool,
                    budget: float | None) -> list[Rollout]:
    """Greedy rollouts of one instance from ``starts`` start nodes x ``factor`` augmentations, or as many
    of them as fit in ``budget`` seconds (None: no limit), as a list of chunks.

    Within the budget, one decoding when all of it is predicted to fit, else
    chunk after chunk (the symmetric copies in turn, each from its first
    start node on) while the next chunk is predicted to fit; at least one
    rollout runs. A rollout costs about nodes^2 (one step per node, each over
    every node) at a rate per device taken from the last chunk; the first
    chunk on a device measures it on ``PROBE_STARTS`` rollouts. Fixed costs
    per step make a small chunk dearer per rollout than a large one, so the
    rate errs on the safe side; a very tight budget can be overrun by one
    chunk's error.
    """
    if budget is None:
        return [_greedy_rollouts(policy, problem, batch, starts, factor, pomo)]
    starts = starts if pomo else 1  # other policies decode one rollout per copy
    clock, device, unit = _now(), str(batch.dist.device), batch.num_nodes ** 2

    def timed(copy: Batch, size: int, copies: int, offset: int) -> Rollout:
        began = _now()
        result = _greedy_rollouts(policy, problem, copy, size, copies, pomo, offset)
        _SECONDS_PER_UNIT[device] = (_now() - began) / (size * copies * unit)
        return result

    rate = _SECONDS_PER_UNIT.get(device)
    if rate is not None and rate * unit * starts * factor <= budget:
        return [timed(batch, starts, factor, 0)]
    chunks: list[Rollout] = []
    for k in range(factor):
        offset = 0
        while offset < starts:
            rate = _SECONDS_PER_UNIT.get(device)
            fit = PROBE_STARTS if rate is None else int((budget - (_now() - clock)) / (rate * unit))
            if chunks and fit < 1:
                return chunks
            size = min(starts - offset, max(1, fit))
            chunks.append(timed(symmetric_copy(batch, k), size, 1, offset))
            offset += size
    return chunks


def candidate_solutions(instance: Instance, count: int = 25, checkpoint: str | None = None,
                        augment_factor: int | None = None, budget: float | None = None) -> list[Solution]:
    """Up to ``count`` distinct solutions from one batched decoding (all starts x augmentation), best first.

    By default x8 augmentation on a GPU and none on the CPU, where it would
    cost about a second per 100-node instance before any refinement starts.
    ``budget``: seconds the decoding may take, fewer starts when all would
    not fit (see :func:`rollouts_within`).
    """
    policy, meta, batch = _policy_and_batch(instance, checkpoint)
    if augment_factor is None:
        augment_factor = 8 if batch.dist.is_cuda else 1
    chunks = _budgeted(policy, meta, batch, augment_factor, budget)
    rewards = torch.cat([c.reward.flatten() for c in chunks]).cpu()
    actions = [c.actions.flatten(0, 1).cpu() for c in chunks]  # one transfer per chunk, not one per row read
    rows = [(c, r) for c, chunk in enumerate(actions) for r in range(chunk.shape[0])]
    found: dict[tuple, Solution] = {}
    for k in torch.argsort(rewards, descending=True).tolist():
        c, r = rows[k]
        routes = routes_of(instance.problem, actions[c][r])
        key = tuple(sorted(routes))
        if key not in found:
            found[key] = make_solution(instance, routes, solver="neural")
            if len(found) == count:
                break
    return list(found.values())


def _budgeted(policy, meta: dict, batch: Batch, augment_factor: int, budget: float | None) -> list[Rollout]:
    """:func:`rollouts_within` from every start node of ``batch`` (one instance) and its symmetric copies."""
    factor = usable_factor(batch, augment_factor)
    return rollouts_within(policy, meta["problem"], batch, batch.num_starts, factor, meta["policy"] in MULTISTART,
                           budget)


def solve_hybrid(instance: Instance, refiner: str, time_limit: float = 10.0, seed: int = 0,
                 initial: Solution | None = None) -> Solution:
    """The policy's solutions seed a classical refiner (``ga``: the first population; ``ortools``: the best
    as its first solution), which then runs for what is left of ``time_limit``. The decoding takes at most
    about ``HYBRID_DECODE_SHARE`` of the limit (fewer start nodes on large instances)."""
    from nco.solvers import get_solver
    from nco.solvers.common import Clock

    clock = Clock(time_limit)
    seeds = candidate_solutions(instance, budget=HYBRID_DECODE_SHARE * time_limit)
    ready = clock.elapsed()  # the policy's solutions exist from here on
    left = max(0.05 * time_limit, clock.remaining())
    if refiner == "ga":
        from nco.solvers.genetic import genetic

        refined = genetic(instance, time_limit=left, seed=seed, seeds=seeds)
    else:
        refined = get_solver(refiner)(instance, time_limit=left, seed=seed, initial=seeds[0])
    history = [(ready, seeds[0].cost)] + [(ready + t, c) for t, c in refined.history]
    return make_solution(instance, refined.routes, solver=f"neural+{refiner}", runtime=clock.elapsed(),
                         history=history)


def solve_neural(instance: Instance, time_limit: float = 10.0, seed: int = 0, initial: Solution | None = None,
                 checkpoint: str | None = None, how: str = "multistart", augment_factor: int = 8) -> Solution:
    """Solve one instance with a trained policy (by default the shipped one nearest in size, see
    :func:`policy_kind`).

    ``multistart`` (POMO, the default) decodes from every start node and its
    ``augment_factor`` symmetric copies, or as many of them as fit in
    ``time_limit`` (see :func:`rollouts_within`; at least one rollout runs).
    The other decodings run once whatever the limit. ``initial`` is not used.
    """
    start = time.perf_counter()
    policy, meta, batch = _policy_and_batch(instance, checkpoint)
    if meta["policy"] == "ptrnet" and how == "multistart":
        how = "greedy"
    if how == "multistart":
        budget = max(0.0, time_limit - (time.perf_counter() - start))
        chunks = _budgeted(policy, meta, batch, augment_factor, budget)
        best = max(chunks, key=lambda c: float(c.reward.max()))
        actions = best.actions.flatten(0, 1)[int(best.reward.flatten().argmax())]
    else:
        actions = decode(policy, meta, batch, how, augment_factor, seed=seed).actions[0]
    routes = routes_of(instance.problem, actions.cpu())
    return make_solution(instance, routes, solver="neural", runtime=time.perf_counter() - start)
