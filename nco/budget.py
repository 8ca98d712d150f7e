"""Decoding within a time budget: as many greedy rollouts as fit, chunk after chunk.

A policy's decoding of one instance takes every start node and every
symmetric copy at once when that fits the budget; otherwise the rollouts run
in chunks (the copies in turn, each from its first start node on) while the
next chunk is predicted to fit. Every chunk runs against the budget's
deadline and stops after a few steps when its pace says it cannot make it
(:class:`nco.policies.decoding.OutOfTime`): on thousands of nodes one
rollout can outlast the whole budget, and then none is returned. A
:class:`BudgetedDecoder` belongs to one policy on one device
(:mod:`nco.neural` keeps one beside each loaded policy) and owns that pair's
speed estimate, so that a second instance in a row is planned from what the
first one measured.
"""

from __future__ import annotations

import time
from typing import Callable

import torch

from nco.envs.batch import Batch
from nco.envs.contracts import Env

from .policies import PolicyModule
from .policies.decoding import Deadline, OutOfTime, Rollout, augment, rollout, symmetric_copy

PROBE_STARTS = 32  # rollouts of the first chunk, which measures the speed (fewer: fixed costs dominate)
PROBE_SIZE = 100  # up to this many nodes the probe has all PROBE_STARTS; beyond, fewer as 1 / nodes^2


def greedy_rollouts(policy: PolicyModule, env: Env, batch: Batch, starts: int, factor: int, pomo: bool,
                    offset: int = 0, deadline: Deadline | None = None) -> Rollout:
    """Greedy rollouts in ``env`` from ``starts`` start nodes (from ``offset`` on) of ``factor`` symmetric copies,
    done by ``deadline`` or stopped early (:class:`OutOfTime`)."""
    with torch.inference_mode():
        return rollout(policy, env, augment(batch, factor), "greedy",
                       num_starts=starts if pomo else 1, multistart=pomo, log_prob=False, start_offset=offset,
                       deadline=deadline)


class BudgetedDecoder:
    """Greedy rollouts of one policy on one device within a budget, planned from its last measured speed.

    A rollout costs about nodes^2 (one step per node, each over every node);
    ``seconds_per_unit`` is the last chunk's seconds per rollout x nodes^2
    (for a chunk stopped early, its projected seconds; ``at_least`` when that
    projection stopped at the encoder) and ``measured_nodes``
    the instance size it was measured on (None until one has run: the first
    chunk then decodes ``probe_starts`` rollouts, fewer on large instances,
    see :meth:`_probe`). Fixed costs per step make a small chunk dearer per
    rollout than a large one, so the estimate errs on the safe side.
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter, probe_starts: int = PROBE_STARTS):
        self.clock = clock
        self.probe_starts = probe_starts
        self.seconds_per_unit: float | None = None
        self.measured_nodes: int | None = None
        self.at_least = False  # the estimate is a lower bound (the last chunk stopped in its encoder)

    def rollouts(self, policy: PolicyModule, env: Env, batch: Batch, starts: int, factor: int, pomo: bool,
                 budget: float | None) -> list[Rollout]:
        """Greedy rollouts of one instance from ``starts`` start nodes x ``factor`` symmetric copies, or as
        many of them as are done within ``budget`` seconds (None: no limit), as a list of chunks; empty when
        not even one rollout can be done in time."""
        if budget is None:
            return [greedy_rollouts(policy, env, batch, starts, factor, pomo)]
        starts = starts if pomo else 1  # other policies decode one rollout per copy
        began, unit = self.clock(), batch.num_nodes ** 2
        deadline = Deadline(began + budget, self.clock)
        rate = self.seconds_per_unit
        if rate is not None and self.measured_nodes == batch.num_nodes and rate * unit > budget:
            return []  # measured on this size: not even one rollout fits
        # stopped: a chunk stopped early, so its projected pace, not a guess, plans what follows
        stopped = False
        if rate is not None and rate * unit * starts * factor <= budget:
            whole = self._timed(policy, env, batch, starts, factor, pomo, 0, deadline)
            if whole is not None:
                return [whole]
            stopped = True
        chunks: list[Rollout] = []
        for k in range(factor):
            offset = 0
            while offset < starts:
                rate = self.seconds_per_unit
                fit = self._probe(batch.num_nodes) if rate is None else int((deadline.at - self.clock())
                                                                            / (rate * unit))
                if (chunks or stopped) and fit < 1:
                    return chunks
                size = min(starts - offset, max(1, fit))
                chunk = self._timed(policy, env, symmetric_copy(batch, k), size, 1, pomo, offset, deadline)
                if chunk is None:
                    if size == 1:
                        return chunks
                    stopped = True  # a smaller chunk may still fit (fit < size now)
                    continue
                chunks.append(chunk)
                offset += size
        return chunks

    def _probe(self, nodes: int) -> int:
        """Rollouts of the first chunk on ``nodes`` nodes: as many as cost about what ``probe_starts`` cost on
        ``PROBE_SIZE`` nodes (a chunk costs about rollouts x nodes^2), at least one."""
        return max(1, min(self.probe_starts, int(self.probe_starts * (PROBE_SIZE / nodes) ** 2)))

    def _timed(self, policy: PolicyModule, env: Env, batch: Batch, starts: int, factor: int, pomo: bool,
               offset: int, deadline: Deadline) -> Rollout | None:
        """One chunk, done by ``deadline`` (else None), whose time (or projected time) updates the speed
        estimate."""
        began = self.clock()
        try:
            result = greedy_rollouts(policy, env, batch, starts, factor, pomo, offset, deadline)
        except OutOfTime as stop:
            result, ended, self.at_least = None, stop.projected, not stop.whole
        else:
            ended, self.at_least = self.clock(), False
        self.seconds_per_unit = (ended - began) / (starts * factor * batch.num_nodes ** 2)
        self.measured_nodes = batch.num_nodes
        return result
