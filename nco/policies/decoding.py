"""One decoding loop for every policy: greedy, sampling, multi-start (POMO) and x8 augmentation."""

from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from nco.data import SolverError
from nco.envs.batch import Batch
from nco.envs.contracts import Env, State

from .contracts import Policy


@dataclass
class Rollout:
    """Actions ``[B, S, T]`` (``[B, S, M, T]`` when M vehicles move at each step), summed log-probabilities
    ``[B, S]`` (zeros when not asked for) and rewards ``[B, S]``."""

    actions: torch.Tensor
    log_prob: torch.Tensor
    reward: torch.Tensor


def symmetry(coords: torch.Tensor, k: int) -> torch.Tensor:
    """``coords [..., 2]`` under the ``k``-th of the eight symmetries of the unit square (0: unchanged)."""
    x, y = coords[..., :1], coords[..., 1:]
    variants = [(x, y), (y, x), (1 - x, y), (y, 1 - x), (x, 1 - y), (1 - y, x), (1 - x, 1 - y), (1 - y, 1 - x)]
    return torch.cat(variants[k], -1)


def augment(batch: Batch, factor: int = 8) -> Batch:
    """The batch ``factor`` times over (1 or 8), coordinates reflected/swapped in the unit square.

    The eight symmetries of the square preserve Euclidean distances, so the
    matrix is shared; instance ``b`` becomes rows ``b*factor .. b*factor+7``.
    """
    if factor == 1:
        return batch
    if factor != 8 or batch.coords is None:
        raise ValueError("augmentation needs coordinates and a factor of 1 or 8")
    coords = torch.stack([symmetry(batch.coords, k) for k in range(8)], 1).flatten(0, 1)
    out = batch.repeat(8)
    out.coords = coords
    return out


def symmetric_copy(batch: Batch, k: int) -> Batch:
    """The batch under the ``k``-th symmetry alone (row ``k`` of every instance's :func:`augment` group)."""
    if k == 0:
        return batch
    return dataclasses.replace(batch, coords=symmetry(batch.require("coords"), k))


def usable_factor(batch: Batch, factor: int) -> int:
    """``factor``, or 1 when the batch has no coordinates (the symmetries act on coordinates)."""
    return factor if batch.coords is not None else 1


@dataclass(frozen=True)
class Deadline:
    """The ``clock`` value by which a rollout must be done (see :func:`rollout`)."""

    at: float
    clock: Callable[[], float] = field(default=time.perf_counter)


class OutOfTime(Exception):
    """A rollout stopped before its end because it would not be done by its :class:`Deadline`.

    ``projected``: when, on the deadline's clock, it would have been done
    (estimated from its steps so far and the fewest steps still to come; the
    time it stopped when no step had run yet). ``whole``: whether that covers
    the whole rollout, or only the part begun (an encoder stopped between its
    layers: then the rollout would end later still).
    """

    def __init__(self, projected: float, whole: bool = True):
        super().__init__(f"the rollout would end at {projected:.3f}, past its deadline")
        self.projected = projected
        self.whole = whole


PROJECT_AFTER = 32  # steps before a rollout's pace predicts its end (after 8 it was up to 60% high, measured)


def keep_pace(deadline: Deadline, began: float, done: int, total: int, after: int = 1, whole: bool = True,
              cuda: bool = False) -> None:
    """Raise :class:`OutOfTime` when ``deadline`` has passed, or when ``done`` of ``total`` equal pieces of work
    since ``began`` (on the deadline's clock) say the rest cannot be done by then (judged once ``after`` are
    done): better to stop after a few pieces than at the deadline. ``whole``: the pieces are the whole
    rollout's work (see :class:`OutOfTime`). ``cuda``: the work is queued on a GPU, so wait for it first."""
    if cuda:
        torch.cuda.synchronize()
    now = deadline.clock()
    projected = now + (now - began) / max(1, done) * max(0, total - done)
    if now >= deadline.at or (done >= after and projected > deadline.at):
        raise OutOfTime(projected if done else now, whole and done > 0)


def encoder_pace(deadline: Deadline, cuda: bool) -> Callable[[int, int], None]:
    """What a policy's ``encode`` calls after each of its layers (done, total): stops it (:class:`OutOfTime`)
    when the layers left cannot be done by ``deadline``; on thousands of nodes each layer takes a tenth of a
    second on a CPU."""
    began = deadline.clock()

    def pace(done: int, total: int) -> None:
        keep_pace(deadline, began, done, total, whole=False, cuda=cuda)
    return pace


GPU_DONE_EVERY = 4  # on a GPU, ask whether every rollout is done only every few steps (see _finished)


def _finished(state: State, every: int) -> bool:
    """``state.done``, asked only once it can be true and then every ``every`` steps.

    Reading ``done`` makes the host wait for the device; on a GPU that stall,
    repeated at every step, costs more than the few steps that finished
    rollouts then spend waiting at the depot (which add no length and no
    log-probability: the depot is their only allowed action).
    """
    if state.steps < state.min_steps or (state.steps - state.min_steps) % every:
        return False
    return state.done


def sample(logits: torch.Tensor) -> torch.Tensor:
    """One draw per row from ``softmax(logits)`` by the Gumbel-max trick: ``argmax(logits - log E)``, E ~ Exp(1).

    The same distribution as ``torch.multinomial``, which reads its input
    back to the host twice per call to check it (a device stall at every step).
    Log-probabilities work as well as logits (they differ by a constant per row).
    """
    return (logits - _exponential(logits).log_()).argmax(-1)


def _exponential(like: torch.Tensor) -> torch.Tensor:
    """Exp(1) draws shaped like ``like``, all > 0 (so that their log is finite)."""
    tiny = torch.finfo(like.dtype).tiny
    if like.is_cuda:  # one kernel
        return torch.empty_like(like).exponential_().clamp_min_(tiny)
    # On the CPU exponential_ costs six times rand (measured: 0.89 ms against 0.15 ms for 40k draws),
    # so invert the CDF: -log U with U in [tiny, 1) is > 0.
    return torch.rand_like(like).clamp_min_(tiny).log_().neg_()


def decoding_step(policy: Policy, env: Env, cache: Any, state: State, greedy: bool, temperature: float = 1.0,
                  log_prob: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One step of every rollout: the chosen actions ``[B, S]`` and their log-probabilities (or None).

    Steps ``state`` in place. Kept free of host reads so that ``torch.compile``
    can take it whole (see :func:`compiled_step`).
    """
    logits = policy.logits(cache, state)
    if temperature != 1.0:
        logits = logits / temperature
    action = logits.argmax(-1) if greedy else sample(logits.detach())
    step_log_prob = torch.log_softmax(logits, -1).gather(-1, action[..., None]).squeeze(-1) if log_prob else None
    if step_log_prob is not None and step_log_prob.dim() > 2:  # one action per vehicle: their joint probability
        step_log_prob = step_log_prob.flatten(2).sum(-1)
    env.step(state, action)
    # what the env carried out, where it may differ from the choice (the parallel fleet env's conflicts)
    return getattr(state, "carried_out", action), step_log_prob


@functools.cache  # made on first use, then kept: compiling takes seconds
def compiled_step():
    """:func:`decoding_step` compiled by ``torch.compile``: its tensor operations (about 35 forward and 19
    backward for CVRP100, ``benchmarks/ops.py``) fused into a few kernels.

    On a GPU each operation is a kernel launch, and launches bound a training
    step at the usual batch sizes, so fewer of them should buy speed there
    (``benchmarks/throughput.py --compile`` measures it). On a CPU the
    operations are cheap to start and the compiled step is no faster.
    Compiling costs seconds to a minute on the first rollout, and again for
    a few variants (a TSP's last step, greedy or sampled, another policy);
    past torch's recompile limit the steps run eagerly.
    """
    # dynamic: one compiled step for every batch and instance size and step count (a curriculum
    # changes sizes; each static variant would cost another compile, up to a minute on a GPU)
    return functools.partial(_compiled_call, torch.compile(_step_on_fresh_visits, dynamic=True))


def _compiled_call(step, *args):
    """``step(*args)``, with torch.compile's failure to compile (no C++ compiler on a CPU, no triton on a
    GPU) turned into one clear line instead of a long traceback from inside the compiler."""
    try:
        return step(*args)
    except torch._dynamo.exc.BackendCompilerFailed as exc:
        inner = getattr(exc, "inner_exception", None) or exc
        reason = f"{type(inner).__name__}: {(str(inner).strip().splitlines() or [''])[0]}"
        raise SolverError(f"compile: torch.compile could not compile the decoding step ({reason}); "
                          "train without --compile") from exc


def _step_on_fresh_visits(policy: Policy, env: Env, cache: Any, state: State, greedy: bool, temperature: float = 1.0,
                          log_prob: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    """:func:`decoding_step` that marks the visit in a copy of ``state.visited``, not in place.

    The compiled backward may keep the step's ``visited`` itself (to rebuild
    the mask from it) where the eager one keeps the mask; marking the next
    visit in place would then change what that backward reads.
    """
    state.visited = state.visited.clone()
    return decoding_step(policy, env, cache, state, greedy, temperature, log_prob)


def rollout(policy: Policy, env: Env, batch: Batch, decode: str = "greedy", num_starts: int = 1,
            multistart: bool = False, temperature: float = 1.0, done_every: int | None = None,
            log_prob: bool = True, start_offset: int = 0, compiled: bool = False,
            deadline: Deadline | None = None) -> Rollout:
    """Build complete solutions for every instance of ``batch``.

    ``multistart`` forces rollout ``s`` to begin at the env's start node ``s``
    (POMO), ``start_offset + s`` when decoding the start nodes in several
    chunks; its forced first action adds nothing to the log-probability.
    ``done_every``: how often to ask whether all rollouts are done (by
    default every step on the CPU, every ``GPU_DONE_EVERY`` on a GPU); in
    between, finished rollouts take no-op steps (see :func:`_finished`), so
    ``actions`` can end with extra depot visits. ``log_prob=False`` skips the
    log-probabilities (left at zero) when only the solutions count.
    ``compiled``: take each step with :func:`compiled_step`. ``deadline``:
    raise :class:`OutOfTime` as soon as the rollout cannot be done by then
    (checked every step on the CPU, with the ``done`` reads on a GPU).
    """
    if decode not in ("greedy", "sample"):
        raise ValueError(f"unknown decoding {decode!r}; expected 'greedy' or 'sample'")
    if getattr(env, "one_step", False):
        return one_step_rollout(policy, env, batch, decode, num_starts, temperature, log_prob)
    cuda = batch.dist.is_cuda
    cache = policy.encode(batch, None if deadline is None else encoder_pace(deadline, cuda))
    state = env.reset(batch, num_starts)
    every = done_every or (GPU_DONE_EVERY if cuda else 1)
    step = compiled_step() if compiled else decoding_step
    actions, total = [], torch.zeros(state.visited.shape[:2], device=batch.dist.device)  # [B, S]
    if multistart:
        first = env.start_actions(state, start_offset)
        actions.append(first)
        state = env.step(state, first)
    began, begun = (deadline.clock() if deadline is not None else 0.0), state.steps  # the clock, the steps
    while not _finished(state, every):
        if deadline is not None and state.steps % every == 0:
            keep_pace(deadline, began, state.steps - begun, state.min_steps - begun, PROJECT_AFTER, cuda=cuda)
        action, step_log_prob = step(policy, env, cache, state, decode == "greedy", temperature, log_prob)
        if step_log_prob is not None:
            total = total + step_log_prob
        actions.append(action)
    return Rollout(torch.stack(actions, -1), total, state.reward)


def one_step_rollout(policy: Any, env: Any, batch: Any, decode: str = "greedy", num_samples: int = 1,
                     temperature: float = 1.0, log_prob: bool = True) -> Rollout:
    """A rollout of an env decided in one step (``env.one_step``: network paths, every demand at once): the
    policy's ``act`` gives ``num_samples`` whole actions per instance and their log-probabilities."""
    cache = policy.encode(batch)
    action, total = policy.act(cache, num_samples, decode == "greedy", env.mode, temperature)
    state = env.step(env.reset(batch, num_samples), action)
    return Rollout(action, total if log_prob else torch.zeros_like(total), state.reward)


def best_of(result: Rollout, group: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Best reward and its actions per instance, over starts and ``group`` consecutive (augmented) rows.

    Returns ``(reward [B], actions [B, ..., T])`` with B the un-augmented batch size.
    """
    b, s, *rest = result.actions.shape
    reward = result.reward.reshape(b // group, group * s)
    actions = result.actions.reshape(b // group, group * s, *rest)
    best = reward.argmax(1)
    rows = torch.arange(reward.shape[0], device=reward.device)
    return reward[rows, best], actions[rows, best]
