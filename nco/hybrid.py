"""Hybrids: a trained policy's solutions seed a classical solver, which refines them to the time limit.

``neural+ga``: the policy's distinct solutions are the genetic search's first
population. ``neural+ortools``: its best solution is OR-Tools' first one. The
decoding takes at most ``HYBRID_DECODE_SHARE`` of the limit (fewer start
nodes on large instances); the refiner gets the rest. When not even one
rollout fits in that share (thousands of nodes on a CPU) the refiner runs
alone from the start: a hybrid is never left with the policy's solution
for lack of time. The history starts when the policy's solutions exist, so
a time-to-quality curve shows both.
"""

from __future__ import annotations

from nco.data import Instance, Solution, make_solution, problem_of

from .neural import candidate_solutions

HYBRID_DECODE_SHARE = 0.2  # of a hybrid's time limit, at most, for the policy's decoding


def solve_hybrid(instance: Instance, refiner: str, time_limit: float = 10.0, seed: int = 0,
                 initial: Solution | None = None) -> Solution:
    """The policy's solutions seed a classical refiner (``ga``: the first population; ``ortools``: the best
    as its first solution), which then runs for what is left of ``time_limit``. The decoding takes at most
    about ``HYBRID_DECODE_SHARE`` of the limit (fewer start nodes on large instances)."""
    from nco.solvers import get_solver
    from nco.solvers.common import Clock

    clock = Clock(time_limit)
    seeds = candidate_solutions(instance, budget=HYBRID_DECODE_SHARE * time_limit)
    ready = clock.elapsed()  # the policy's solutions (if any) exist from here on
    left = max(0.05 * time_limit, clock.remaining())
    solver = get_solver(refiner, problem_of(instance))  # the problem's own (a fleet's GA) where it has them
    if refiner == "ga":
        refined = solver(instance, time_limit=left, seed=seed, seeds=seeds)
    else:
        refined = solver(instance, time_limit=left, seed=seed, initial=seeds[0] if seeds else None)
    history = [(ready, seeds[0].cost)] if seeds else []
    history += [(ready + t, c) for t, c in refined.history]
    return make_solution(instance, refined.routes, solver=f"neural+{refiner}", runtime=clock.elapsed(),
                         history=history, vehicles=refined.vehicles)
