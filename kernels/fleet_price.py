"""Pricing a move between vehicles that differ: what the fleet local search and its SWAP* share.

The fleet is the tuple ``fleet = (capacity, rate, fixed, credit, allowed,
kind, zoned)``: per vehicle its capacity, its cost per unit of distance
(min-sum: unit cost + time weight / speed; min-max: 1 / speed, so that it
prices time) and its fixed cost (charged once it drives); ``credit [m, n]``
(the preference weight times the preference, taken off the cost for each
customer served), ``allowed [m, n]``, ``kind [m]`` (vehicles of one kind are
identical), and ``zoned``: whether any credit or bar is there.

The objective a move is priced with: min-sum, the sum over vehicles of fixed
+ rate x distance, less the credits; min-max, the longest vehicle time plus
``balance`` times the sum of times (the sum guides the search where the
longest does not change). Loads above a vehicle's capacity cost ``penalty``
per unit (``penalty < 0``: forbidden), and a customer on a vehicle that may
not serve it costs ``barred``.

The route state is :mod:`nco.kernels.routes`' with ``owner[row]`` the vehicle
that drives the row, ``vdist`` and ``vtrips`` each vehicle's distance and
trips: ``S = (R, L, cf, cl, owner, vdist, vtrips)``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .moves import delta_relocate, delta_swap
from .routes import load_cost


@njit(cache=True)
def pair_context(fleet, vdist, vtrips, a, b, penalty, balance, min_max):
    """What pricing a move between vehicles ``a`` and ``b`` (maybe the same) reads, as one tuple of numbers
    (passed by value: a move's delta reads no per-vehicle array, which made it three times dearer):
    ``(rate a, rate b, fixed saved when a's last trip empties, fixed paid when b starts, fixed saved when b's
    last trip empties, same vehicle, min-max, distance a, distance b, longest time of the others, longest
    time, balance, capacity a, capacity b, penalty, no credits or bars to price)``."""
    cap, rate, fixed, kind, zoned = fleet[0], fleet[1], fleet[2], fleet[5], fleet[6]
    others = 0.0
    longest = 0.0
    if min_max:
        for w in range(vdist.shape[0]):
            t = rate[w] * vdist[w]
            longest = max(longest, t)
            if w != a and w != b:
                others = max(others, t)
    plain = a == b or not zoned or kind[a] == kind[b]
    return (rate[a], rate[b], fixed[a] if vtrips[a] == 1 else 0.0, fixed[b] if vtrips[b] == 0 else 0.0,
            fixed[b] if vtrips[b] == 1 else 0.0, 1.0 if a == b else 0.0, 1.0 if min_max else 0.0, vdist[a],
            vdist[b], others, longest, balance, float(cap[a]), float(cap[b]), penalty, 1.0 if plain else 0.0)


@njit(cache=True, inline="always")
def priced(ctx, dr, tr, ds, ts):
    """The objective's change when the first vehicle's distance and trips change by ``dr, tr`` and the
    second's by ``ds, ts`` (the same vehicle: by the sums)."""
    if ctx[5] != 0.0:
        change = ctx[0] * (dr + ds)
    else:
        change = ctx[0] * dr + ctx[1] * ds
        if ctx[6] == 0.0:
            if tr < 0:
                change -= ctx[2]
            if ts > 0:
                change += ctx[3]
            elif ts < 0:
                change -= ctx[4]
    if ctx[6] == 0.0:
        return change
    time_a = ctx[0] * (ctx[7] + dr + (ds if ctx[5] != 0.0 else 0.0))
    time_b = 0.0 if ctx[5] != 0.0 else ctx[1] * (ctx[8] + ds)
    return max(ctx[9], time_a, time_b) - ctx[10] + ctx[11] * change


@njit(cache=True, inline="always")
def load_change(ctx, old_a, new_a, old_b, new_b):
    """Change of the load costs of a trip of the first vehicle and one of the second."""
    return (load_cost(new_a, ctx[12], ctx[14]) - load_cost(old_a, ctx[12], ctx[14])
            + load_cost(new_b, ctx[13], ctx[14]) - load_cost(old_b, ctx[13], ctx[14]))


@njit(cache=True)
def moved_cost(credit, allowed, barred, R, r, lo, hi, src, dst):
    """Cost change of customers ``R[r, lo..hi]`` going from vehicle ``src`` to ``dst``: credits and bars
    (inf when ``dst`` may not serve one of them). Only called when the pair has credits or bars to price."""
    change = 0.0
    for q in range(lo, hi + 1):
        c = R[r, q]
        if not allowed[dst, c]:
            return np.inf
        change += credit[src, c] - credit[dst, c]
        if not allowed[src, c]:
            change -= barred
    return change


@njit(cache=True)
def refresh_vehicles(S, fleet):
    """Recompute each vehicle's distance and trips from its rows (after a move changed them)."""
    R, L, cf, cl, owner, vdist, vtrips = S
    vdist[:] = 0.0
    vtrips[:] = 0
    for row in range(L.shape[0]):
        if L[row] == 0:
            owner[row] = -1
        elif owner[row] >= 0:
            vdist[owner[row]] += cf[row, L[row] + 1]
            vtrips[owner[row]] += 1


@njit(cache=True, inline="always")
def relocate_delta(d, R, L, cf, cl, ctx, Z, r, i, k, s, p):
    """Delta of moving ``R[r, i:i+k]`` after position ``p`` of row ``s`` (a non-empty row); ``ctx`` is
    :func:`_pair`'s for the rows' vehicles, ``Z = (credit, allowed, barred, vehicle of r, vehicle of s)``."""
    if p < 0 or p > L[s] or i + k - 1 > L[r]:
        return np.inf
    if r == s:
        dd = delta_relocate(d, 0, R, L, cl, r, i, k, s, p)
        return np.inf if dd == np.inf else priced(ctx, dd, 0, 0.0, 0)
    moved = 0.0
    if ctx[15] == 0.0:
        moved = moved_cost(Z[0], Z[1], Z[2], R, r, i, i + k - 1, Z[3], Z[4])
        if moved == np.inf:
            return np.inf
    before, first, last, after = R[r, i - 1], R[r, i], R[r, i + k - 1], R[r, i + k]
    x, y = R[s, p], R[s, p + 1]
    inner = cf[r, i + k - 1] - cf[r, i]
    dr = d[before, after] - d[before, first] - d[last, after] - inner
    ds = d[x, first] + inner + d[last, y] - d[x, y]
    seg = cl[r, i + k - 1] - cl[r, i - 1]
    load_r, load_s = cl[r, L[r] + 1], cl[s, L[s] + 1]
    tr = -1 if L[r] == k else 0
    return moved + load_change(ctx, load_r, load_r - seg, load_s, load_s + seg) + priced(ctx, dr, tr, ds, 0)


@njit(cache=True, inline="always")
def swap_delta(d, demand, R, L, cf, cl, ctx, Z, r, i, s, j):
    """Delta of exchanging the customers at ``(r, i)`` and ``(s, j)`` (of two rows: :func:`exchange_delta`, one
    for one)."""
    if i < 1 or j < 1 or i > L[r] or j > L[s] or (r == s and i == j):
        return np.inf
    if r == s:
        return priced(ctx, delta_swap(d, demand, 0, R, L, cl, r, i, s, j), 0, 0.0, 0)
    return exchange_delta(d, R, L, cf, cl, ctx, Z, r, i, 1, s, j, 1)


@njit(cache=True, inline="always")
def exchange_delta(d, R, L, cf, cl, ctx, Z, r, i, k1, s, j, k2):
    """Delta of exchanging the segments ``R[r, i:i+k1]`` and ``R[s, j:j+k2]`` of two rows (HGS's swaps of
    two customers for one or two: capacity-tight fleets need them where relocations and 1-1 swaps stall)."""
    if r == s or i < 1 or j < 1 or i + k1 - 1 > L[r] or j + k2 - 1 > L[s]:
        return np.inf
    moved = 0.0
    if ctx[15] == 0.0:
        moved = (moved_cost(Z[0], Z[1], Z[2], R, r, i, i + k1 - 1, Z[3], Z[4])
                 + moved_cost(Z[0], Z[1], Z[2], R, s, j, j + k2 - 1, Z[4], Z[3]))
        if moved == np.inf:
            return np.inf
    a0, a1, b0, b1 = R[r, i], R[r, i + k1 - 1], R[s, j], R[s, j + k2 - 1]
    pa, na, pb, nb = R[r, i - 1], R[r, i + k1], R[s, j - 1], R[s, j + k2]
    inner_a, inner_b = cf[r, i + k1 - 1] - cf[r, i], cf[s, j + k2 - 1] - cf[s, j]
    dr = d[pa, b0] + inner_b + d[b1, na] - d[pa, a0] - inner_a - d[a1, na]
    ds = d[pb, a0] + inner_a + d[a1, nb] - d[pb, b0] - inner_b - d[b1, nb]
    seg_a, seg_b = cl[r, i + k1 - 1] - cl[r, i - 1], cl[s, j + k2 - 1] - cl[s, j - 1]
    load_r, load_s = cl[r, L[r] + 1], cl[s, L[s] + 1]
    loads = load_change(ctx, load_r, load_r - seg_a + seg_b, load_s, load_s - seg_b + seg_a)
    return moved + loads + priced(ctx, dr, 0, ds, 0)


@njit(cache=True, inline="always")
def two_opt_star_delta(d, R, L, cf, cl, ctx, Z, r, i, s, j):
    """Delta of row ``r`` keeping ``..R[r, i]`` then taking ``R[s, j+1..]``, and ``s`` the other way round."""
    if r == s or i < 0 or j < 0 or i > L[r] or j > L[s]:
        return np.inf
    if (i == 0 and j == 0) or (i == L[r] and j == L[s]):
        return np.inf
    moved = 0.0
    if ctx[15] == 0.0:
        moved = (moved_cost(Z[0], Z[1], Z[2], R, r, i + 1, L[r], Z[3], Z[4])
                 + moved_cost(Z[0], Z[1], Z[2], R, s, j + 1, L[s], Z[4], Z[3]))
        if moved == np.inf:
            return np.inf
    end_r, end_s = cf[r, L[r] + 1], cf[s, L[s] + 1]
    dr = cf[r, i] + d[R[r, i], R[s, j + 1]] + end_s - cf[s, j + 1] - end_r
    ds = cf[s, j] + d[R[s, j], R[r, i + 1]] + end_r - cf[r, i + 1] - end_s
    load_r, load_s = cl[r, L[r] + 1], cl[s, L[s] + 1]
    loads = load_change(ctx, load_r, cl[r, i] + load_s - cl[s, j], load_s, cl[s, j] + load_r - cl[r, i])
    tr = -1 if i + L[s] - j == 0 else 0
    ts = -1 if j + L[r] - i == 0 else 0
    return moved + loads + priced(ctx, dr, tr, ds, ts)
