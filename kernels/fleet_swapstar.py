"""SWAP* between trips of vehicles that differ: :mod:`nco.kernels.swapstar`'s exact search, priced per vehicle.

Where each customer goes in the other trip does not depend on who drives it
(a vehicle's cost is its rate times the distance, so the cheapest insertion
positions are the same for every rate); what the vehicles change is the
price of each candidate exchange: each trip's distance change times its own
vehicle's rate, each load against its own vehicle's capacity, and credits
and bars for the customers that change vehicle (:mod:`nco.kernels.fleet_price`'s
pricing). So the top-three insertion positions and the removal costs are
:mod:`nco.kernels.swapstar`'s, and only the comparison of candidates is new.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .clock import CHECK_EVERY, past
from .fleet_price import load_change, moved_cost, pair_context, priced, refresh_vehicles
from .swapstar import (EXCHANGE, MOVE_U, MOVE_V, NO_MOVE, _insert_without, _removal, _top_three, apply_swap_star,
                       close_routes)


@njit(cache=True)
def _moved_each(fleet, barred, R, r, length, src, dst, plain):
    """Per position of row ``r``: the credit and bar change of its customer going from ``src`` to ``dst``."""
    out = np.zeros(length + 1)
    if not plain:
        for i in range(1, length + 1):
            out[i] = moved_cost(fleet[3], fleet[4], barred, R, r, i, i, src, dst)
    return out


@njit(cache=True)
def best_fleet_swap_star(d, demand, fleet, S, r, s, penalty, barred, balance, min_max):
    """The best SWAP* or single-customer transfer between rows ``r`` and ``s``, priced with their vehicles.

    Returns ``(delta, kind, i, j, p_u, p_v)`` as :func:`nco.kernels.swapstar.best_swap_star` does.
    """
    R, L, cf, cl, owner, vdist, vtrips = S
    best = np.inf
    kind, bi, bj, bpu, bpv = NO_MOVE, 0, 0, 0, 0
    if r == s or L[r] == 0 or L[s] == 0:
        return best, kind, bi, bj, bpu, bpv
    a, b = owner[r], owner[s]
    ctx = pair_context(fleet, vdist, vtrips, a, b, penalty, balance, min_max)
    plain = ctx[15] != 0.0
    to_b = _moved_each(fleet, barred, R, r, L[r], a, b, plain)
    to_a = _moved_each(fleet, barred, R, s, L[s], b, a, plain)
    cost_u, pos_u = _top_three(d, R, L, r, s)
    cost_v, pos_v = _top_three(d, R, L, s, r)
    load_r, load_s = cl[r, L[r] + 1], cl[s, L[s] + 1]
    empties_r = -1 if L[r] == 1 else 0
    empties_s = -1 if L[s] == 1 else 0
    for i in range(1, L[r] + 1):
        if to_b[i] == np.inf:
            continue
        u = R[r, i]
        rem_u = _removal(d, R, r, i)
        # u alone to its best place in s
        delta = (to_b[i] + load_change(ctx, load_r, load_r - demand[u], load_s, load_s + demand[u])
                 + priced(ctx, rem_u, empties_r, cost_u[i, 0], 0))
        if delta < best:
            best, kind, bi, bj, bpu, bpv = delta, MOVE_U, i, 0, pos_u[i, 0], 0
        for j in range(1, L[s] + 1):
            if to_a[j] == np.inf:
                continue
            v = R[s, j]
            extra = load_change(ctx, load_r, load_r - demand[u] + demand[v], load_s, load_s - demand[v] + demand[u])
            if extra == np.inf:
                continue
            ins_u, p_u = _insert_without(d, R, s, j, u, cost_u, pos_u, i)
            ins_v, p_v = _insert_without(d, R, r, i, v, cost_v, pos_v, j)
            delta = (to_b[i] + to_a[j] + extra
                     + priced(ctx, rem_u + ins_v, 0, _removal(d, R, s, j) + ins_u, 0))
            if delta < best:
                best, kind, bi, bj, bpu, bpv = delta, EXCHANGE, i, j, p_u, p_v
    for j in range(1, L[s] + 1):
        if to_a[j] == np.inf:
            continue
        v = R[s, j]
        delta = (to_a[j] + load_change(ctx, load_r, load_r + demand[v], load_s, load_s - demand[v])
                 + priced(ctx, cost_v[j, 0], 0, _removal(d, R, s, j), empties_s))
        if delta < best:
            best, kind, bi, bj, bpu, bpv = delta, MOVE_V, 0, j, 0, pos_v[j, 0]
    return best, kind, bi, bj, bpu, bpv


@njit(cache=True)
def fleet_swap_star_pass(d, demand, fleet, neigh, S, rt, ps, cb, eps, penalty, barred, balance, min_max, modified,
                         tested, clock, deadline):
    """SWAP* over pairs of rows that hold granular neighbours and changed since last tried (the bookkeeping
    of :func:`nco.kernels.swapstar.swap_star_pass`). Returns the moves applied."""
    R, L, cf, cl, owner, vdist, vtrips = S
    m = L.shape[0]
    close = close_routes(neigh, R, L, rt)
    moves = 0
    work = CHECK_EVERY
    for r in range(m):
        if work >= CHECK_EVERY:
            if past(deadline):
                break
            work = 0
        last = tested[r]
        tested[r] = clock[0]
        for s in range(r + 1, m):
            if L[r] == 0 or L[s] == 0 or not close[r, s] or max(modified[r], modified[s]) <= last:
                continue
            work += L[r] * L[s]
            delta, kind, i, j, p_u, p_v = best_fleet_swap_star(d, demand, fleet, S, r, s, penalty, barred, balance,
                                                               min_max)
            if delta < -eps:
                apply_swap_star(d, demand, R, L, rt, ps, cf, cb, cl, r, s, kind, i, j, p_u, p_v)
                refresh_vehicles(S, fleet)
                clock[0] += 1
                modified[r] = clock[0]
                modified[s] = clock[0]
                moves += 1
    return moves
