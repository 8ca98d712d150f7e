"""Emptying overloaded trips: each of their customers moved to, or swapped with one of, any other trip.

The fleet search's node moves look only at granular neighbours, and a fleet
filled close to its capacity (X115-HVRP: 19 vehicles, 96% full) is a packing
problem: the trip with room may be far away, and often only an exchange of a
large customer for a small one fits. Without this pass the GA ended 2 of 4
runs of 10 s on X115-HVRP with every child 3 units over capacity. A trip is
overloaded rarely and holds few customers, so trying every position of every
trip for each of them costs little (about ``n`` relocations and ``n`` swaps
per customer). Moves are priced at the search's penalty like every other, so
a distant exchange pays only once the penalty (or the repair's tenfold one)
makes the excess dearer than the detour.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .fleet_price import pair_context, refresh_vehicles, relocate_delta, swap_delta
from .moves import apply_relocate, apply_swap


@njit(cache=True)
def _best_for(d, demand, fleet, S, r, i, penalty, barred, balance, min_max):
    """The best move of the customer at ``(r, i)`` to, or exchange with, any other non-empty row:
    ``(delta, row, position, is swap)``."""
    R, L, cf, cl, owner, vdist, vtrips = S
    best, best_s, best_p, swap = np.inf, -1, -1, False
    for s in range(L.shape[0]):
        if s == r or L[s] == 0:
            continue
        ctx = pair_context(fleet, vdist, vtrips, owner[r], owner[s], penalty, balance, min_max)
        Z = (fleet[3], fleet[4], barred, owner[r], owner[s])
        for p in range(L[s] + 1):
            delta = relocate_delta(d, R, L, cf, cl, ctx, Z, r, i, 1, s, p)
            if delta < best:
                best, best_s, best_p, swap = delta, s, p, False
        for j in range(1, L[s] + 1):
            delta = swap_delta(d, demand, R, L, cf, cl, ctx, Z, r, i, s, j)
            if delta < best:
                best, best_s, best_p, swap = delta, s, j, True
    return best, best_s, best_p, swap


@njit(cache=True)
def overload_pass(d, demand, fleet, S, rt, ps, cb, eps, penalty, barred, balance, min_max, modified, clock):
    """For each customer of a trip over its vehicle's capacity, the best relocation or swap with any
    other trip, applied where it pays, until the trip fits. Returns the moves applied."""
    R, L, cf, cl, owner, vdist, vtrips = S
    if penalty < 0:  # hard capacities: no trip is overloaded
        return 0
    moves = 0
    for r in range(L.shape[0]):
        i = 1
        while L[r] > 0 and i <= L[r] and cl[r, L[r] + 1] > fleet[0][owner[r]]:
            delta, s, p, swap = _best_for(d, demand, fleet, S, r, i, penalty, barred, balance, min_max)
            if delta >= -eps:
                i += 1
                continue
            if swap:
                apply_swap(d, demand, R, L, rt, ps, cf, cb, cl, r, i, s, p)
                i += 1
            else:
                apply_relocate(d, demand, R, L, rt, ps, cf, cb, cl, r, i, 1, s, p)
            refresh_vehicles(S, fleet)
            clock[0] += 1
            modified[r] = modified[s] = clock[0]
            moves += 1
    return moves
