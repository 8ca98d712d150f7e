"""Local search to a local optimum from the savings solution (or a given one)."""

from __future__ import annotations

from nco import kernels
from nco.data import Instance, Solution, from_sequence, to_sequence

from .common import Clock, check_time_limit, initial_sequence
from .constructive import savings

NEIGHBOURS = 40  # granular neighbourhood size: moves only between each customer and its 40 nearest


def local_search(instance: Instance, time_limit: float = 10.0, seed: int = 0,
                 initial: Solution | None = None) -> Solution:
    """Relocate, Or-opt, swap, 2-opt and 2-opt* until no move improves or ``time_limit`` runs out.

    Starts from ``initial`` when given, else from Clarke-Wright savings. The
    visiting order of customers is shuffled with ``seed``.
    """
    clock = Clock(check_time_limit(time_limit))
    seq = initial_sequence(instance, initial)
    if seq is None:
        seq = to_sequence(savings(instance).routes)
    dist, demand, capacity = instance.kernel_arrays()
    clock.record(kernels.sequence_cost(dist, seq))
    neighbours = kernels.neighbour_lists(dist, NEIGHBOURS)
    spare = None if instance.max_routes is None else 0  # None: the default spare routes may open
    _, seq = kernels.local_search(dist, demand, capacity, seq, neighbours, seed=seed,
                                  deadline=clock.deadline, spare_routes=spare)
    return clock.finish(instance, from_sequence(seq), "ls")
