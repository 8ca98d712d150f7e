"""Local search for fleets whose vehicles differ: every move priced with the vehicles it touches.

The route state is :mod:`nco.kernels.routes`' (rows of customers between
depot sentinels, prefix sums of distance and load), with ``owner[row]`` the
vehicle that drives the row (-1: an empty row, a trip not yet given to
anyone). A vehicle may own several rows when the fleet reloads (one per
trip). The fleet tuple and the objective moves are priced with are
:mod:`nco.kernels.fleet_price`'s. A customer on a vehicle that may not serve
it costs ``barred``: moves never put one there; a start may, and moving it
away pays.

The moves, on granular neighbourhoods as in :mod:`nco.kernels.search`:
relocate (1 to 3 customers), swap (one for one, two for one or two, between
trips), 2-opt, 2-opt* and a customer alone into a new trip (an unused
vehicle's, or a reloading vehicle's next); then, per pair of trips, the
exchange of their vehicles, each trip given to another vehicle (what chooses
the vehicle types of a heterogeneous fleet), two trips joined into one (on
the first one's vehicle or a free one of another kind), and SWAP* between
trips that hold neighbours (:mod:`nco.kernels.fleet_swapstar`). Customers of
overloaded trips may go to any trip (:mod:`nco.kernels.fleet_repair`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .clock import CHECK_EVERY, past
from .fleet_price import (exchange_delta, load_change, moved_cost, pair_context, priced, refresh_vehicles,
                          relocate_delta, swap_delta, two_opt_star_delta)
from .fleet_repair import overload_pass
from .fleet_swapstar import fleet_swap_star_pass
from .moves import (apply_relocate, apply_swap, apply_two_opt, apply_two_opt_star, delta_two_opt)
from .routes import build_state, load_cost


EXCHANGES = ((2, 1), (2, 2))  # segment lengths of the exchanges tried after the 1-1 swap (as HGS)


@njit(cache=True)
def apply_exchange(d, demand, R, L, rt, ps, cf, cb, cl, r, i, k1, s, j, k2):
    """Carry out :func:`exchange_delta`'s move as two relocations: ``r``'s segment before ``s``'s, then
    ``s``'s segment (now ``k1`` further on) into ``r``'s gap."""
    apply_relocate(d, demand, R, L, rt, ps, cf, cb, cl, r, i, k1, s, j - 1)
    apply_relocate(d, demand, R, L, rt, ps, cf, cb, cl, s, j + k1, k2, r, i - 1)


@njit(cache=True)
def _improve_pair(d, demand, fleet, S, rt, ps, cb, u, v, eps, penalty, barred, balance, min_max):
    """Apply the first improving move that makes ``u`` and ``v`` adjacent; return its delta (0 if none)."""
    R, L, cf, cl, owner, vdist, vtrips = S
    r, i, s, j = rt[u], ps[u], rt[v], ps[v]
    ctx = pair_context(fleet, vdist, vtrips, owner[r], owner[s], penalty, balance, min_max)
    Z = (fleet[3], fleet[4], barred, owner[r], owner[s])
    for k in range(1, 4):
        if i + k - 1 > L[r]:
            break
        for p in (j, j - 1):
            delta = relocate_delta(d, R, L, cf, cl, ctx, Z, r, i, k, s, p)
            if delta < -eps:
                apply_relocate(d, demand, R, L, rt, ps, cf, cb, cl, r, i, k, s, p)
                return delta
    delta = swap_delta(d, demand, R, L, cf, cl, ctx, Z, r, i, s, j)
    if delta < -eps:
        apply_swap(d, demand, R, L, rt, ps, cf, cb, cl, r, i, s, j)
        return delta
    if r != s:
        for k1, k2 in EXCHANGES:
            delta = exchange_delta(d, R, L, cf, cl, ctx, Z, r, i, k1, s, j, k2)
            if delta < -eps:
                apply_exchange(d, demand, R, L, rt, ps, cf, cb, cl, r, i, k1, s, j, k2)
                return delta
    if r == s:
        lo, hi = min(i, j), max(i, j)
        for x, y in ((lo, hi), (lo - 1, hi - 1)):
            dd = delta_two_opt(d, R, L, cf, cb, r, x, y)
            if dd != np.inf and priced(ctx, dd, 0, 0.0, 0) < -eps:
                apply_two_opt(d, demand, R, L, rt, ps, cf, cb, cl, r, x, y)
                return priced(ctx, dd, 0, 0.0, 0)
    else:
        for x, y in ((i, j - 1), (i - 1, j)):
            delta = two_opt_star_delta(d, R, L, cf, cl, ctx, Z, r, x, s, y)
            if delta < -eps:
                apply_two_opt_star(d, demand, R, L, rt, ps, cf, cb, cl, r, x, s, y)
                return delta
    return 0.0


@njit(cache=True)
def openable(fleet, vtrips, multi_trip):
    """The vehicles worth pricing for a new trip, in order: the first unused vehicle of each kind (identical
    vehicles price alike, and an unlimited fleet has thousands) and, when the fleet reloads, every used one."""
    kinds = fleet[5]
    seen = np.zeros(kinds.shape[0], dtype=np.bool_)
    out = np.empty(kinds.shape[0], dtype=np.int64)
    count = 0
    for w in range(kinds.shape[0]):
        if vtrips[w] > 0:
            if not multi_trip:
                continue
        else:
            if seen[kinds[w]]:
                continue
            seen[kinds[w]] = True
        out[count] = w
        count += 1
    return out[:count]


@njit(cache=True)
def _new_trip(d, demand, fleet, S, rt, ps, cb, u, eps, penalty, barred, balance, min_max, candidates):
    """Move ``u`` alone into a new trip of the vehicle (of ``candidates``, :func:`openable`'s) where that pays
    most; return the delta (0 if none)."""
    R, L, cf, cl, owner, vdist, vtrips = S
    r, i = rt[u], ps[u]
    a = owner[r]
    empty = -1
    for e in range(L.shape[0]):
        if L[e] == 0:
            empty = e
            break
    if empty < 0 or L[r] < 2:
        return 0.0
    before, after = R[r, i - 1], R[r, i + 1]
    dr = d[before, after] - d[before, u] - d[u, after]
    ds = d[0, u] + d[u, 0]
    load_r = cl[r, L[r] + 1]
    best, best_w = -eps, -1
    for w in candidates:
        ctx = pair_context(fleet, vdist, vtrips, a, w, penalty, balance, min_max)
        moved = 0.0 if ctx[15] != 0.0 else moved_cost(fleet[3], fleet[4], barred, R, r, i, i, a, w)
        if moved == np.inf:
            continue
        delta = moved + load_change(ctx, load_r, load_r - demand[u], 0, demand[u]) + priced(ctx, dr, 0, ds, 1)
        if delta < best:
            best, best_w = delta, w
    if best_w < 0:
        return 0.0
    owner[empty] = best_w
    apply_relocate(d, demand, R, L, rt, ps, cf, cb, cl, r, i, 1, empty, 0)
    return best


@njit(cache=True)
def _give_trip(fleet, S, r, w, s, penalty, barred, balance, min_max):
    """Delta of row ``r`` driven by vehicle ``w`` instead, and (``s >= 0``) row ``s`` by ``r``'s vehicle."""
    R, L, cf, cl, owner, vdist, vtrips = S
    a = owner[r]
    ctx = pair_context(fleet, vdist, vtrips, a, w, penalty, balance, min_max)
    moved = 0.0
    if ctx[15] == 0.0:
        moved = moved_cost(fleet[3], fleet[4], barred, R, r, 1, L[r], a, w)
        if s >= 0 and moved != np.inf:
            moved += moved_cost(fleet[3], fleet[4], barred, R, s, 1, L[s], w, a)
        if moved == np.inf:
            return np.inf
    dist_r, load_r = cf[r, L[r] + 1], cl[r, L[r] + 1]
    if s < 0:
        return moved + load_change(ctx, load_r, 0, 0, load_r) + priced(ctx, -dist_r, -1, dist_r, 1)
    dist_s, load_s = cf[s, L[s] + 1], cl[s, L[s] + 1]
    return (moved + load_change(ctx, load_r, load_s, load_s, load_r)
            + priced(ctx, dist_s - dist_r, 0, dist_r - dist_s, 0))


@njit(cache=True)
def vehicle_pass(fleet, S, multi_trip, eps, penalty, barred, balance, min_max, modified, clock):
    """Give each trip to the vehicle that drives it best: exchange the vehicles of two trips, or hand a trip
    to another vehicle (an unused one, or any when the fleet reloads). Returns the moves applied."""
    R, L, cf, cl, owner, vdist, vtrips = S
    rows = L.shape[0]
    moves = 0
    candidates = openable(fleet, vtrips, multi_trip)
    for r in range(rows):
        if L[r] == 0:
            continue
        best, best_w, best_s = -eps, -1, -1
        for w in candidates:
            if w != owner[r]:
                delta = _give_trip(fleet, S, r, w, -1, penalty, barred, balance, min_max)
                if delta < best:
                    best, best_w, best_s = delta, w, -1
        for s in range(rows):
            if L[s] > 0 and owner[s] != owner[r] and (min_max or fleet[5][owner[s]] != fleet[5][owner[r]]):
                delta = _give_trip(fleet, S, r, owner[s], s, penalty, barred, balance, min_max)
                if delta < best:
                    best, best_w, best_s = delta, owner[s], s
        if best_w < 0:
            continue
        if best_s >= 0:
            owner[best_s] = owner[r]
            modified[best_s] = clock[0] + 1
        owner[r] = best_w
        clock[0] += 1
        modified[r] = clock[0]
        refresh_vehicles(S, fleet)
        candidates = openable(fleet, vtrips, multi_trip)
        moves += 1
    return moves


@njit(cache=True)
def _dropped(fleet, vtrips, penalty, b, dist, load):
    """Min-sum: what vehicle ``b`` stops costing when its trip of ``dist`` and ``load`` goes to another."""
    saved = fleet[1][b] * dist + load_cost(load, float(fleet[0][b]), penalty)
    return saved + (fleet[2][b] if vtrips[b] == 1 else 0.0)


@njit(cache=True)
def _merge(d, fleet, S, r, s, penalty, barred, balance, min_max, candidates):
    """The best way to append row ``s`` to row ``r`` as one trip: on ``r``'s vehicle, or (min-sum) on an
    unused vehicle of another kind (of ``candidates``, :func:`openable`'s). Returns ``(delta, vehicle)``."""
    R, L, cf, cl, owner, vdist, vtrips = S
    a, b = owner[r], owner[s]
    join = d[R[r, L[r]], R[s, 1]] - d[R[r, L[r]], 0] - d[0, R[s, 1]]
    dist_r, dist_s = cf[r, L[r] + 1], cf[s, L[s] + 1]
    load_r, load_s = cl[r, L[r] + 1], cl[s, L[s] + 1]
    ctx = pair_context(fleet, vdist, vtrips, a, b, penalty, balance, min_max)
    moved = 0.0 if ctx[15] != 0.0 else moved_cost(fleet[3], fleet[4], barred, R, s, 1, L[s], b, a)
    best = moved + load_change(ctx, load_r, load_r + load_s, load_s, 0) + priced(ctx, dist_s + join, 0, -dist_s, -1)
    best_w = a
    if min_max or a == b:
        return best, best_w
    for w in candidates:
        if vtrips[w] > 0 or fleet[5][w] == fleet[5][a]:
            continue
        ctx = pair_context(fleet, vdist, vtrips, a, w, penalty, balance, min_max)
        moved = 0.0
        if ctx[15] == 0.0:
            moved = (moved_cost(fleet[3], fleet[4], barred, R, r, 1, L[r], a, w)
                     + moved_cost(fleet[3], fleet[4], barred, R, s, 1, L[s], b, w))
            if moved == np.inf:
                continue
        delta = (moved + load_change(ctx, load_r, 0, 0, load_r + load_s)
                 + priced(ctx, -dist_r, -1, dist_r + dist_s + join, 1) - _dropped(fleet, vtrips, penalty, b, dist_s,
                                                                                    load_s))
        if delta < best:
            best, best_w = delta, w
    return best, best_w


@njit(cache=True)
def merge_pass(d, demand, fleet, S, rt, ps, cb, multi_trip, eps, penalty, barred, balance, min_max, modified, tested,
               clock):
    """Join two trips into one where that pays, on the first trip's vehicle or (min-sum) an unused vehicle of
    another kind: what consolidates many small trips onto a bigger vehicle, which single relocations do not
    (each would overload a small one on the way). Pairs of rows neither of which changed since the row was
    last tried (``tested``, as in SWAP*) are skipped: all pairs every pass cost 70% of an education on
    X270-FSMD. Returns the moves applied."""
    R, L, cf, cl, owner, vdist, vtrips = S
    moves = 0
    candidates = openable(fleet, vtrips, multi_trip)
    for r in range(L.shape[0]):
        last = tested[r]
        tested[r] = clock[0]
        for s in range(L.shape[0]):
            if s == r or L[r] == 0 or L[s] == 0 or max(modified[r], modified[s]) <= last:
                continue
            delta, w = _merge(d, fleet, S, r, s, penalty, barred, balance, min_max, candidates)
            if delta < -eps:
                apply_relocate(d, demand, R, L, rt, ps, cf, cb, cl, s, 1, L[s], r, L[r])
                owner[r] = w
                refresh_vehicles(S, fleet)
                candidates = openable(fleet, vtrips, multi_trip)
                clock[0] += 1
                modified[r] = clock[0]
                modified[s] = clock[0]
                moves += 1
    return moves


@njit(cache=True)
def fleet_pass(d, demand, fleet, neigh, order, S, rt, ps, cb, multi_trip, eps, penalty, barred, balance, min_max,
               modified, tested, clock, deadline):
    """One pass of node moves over the customers in ``order`` (the bookkeeping of
    :func:`nco.kernels.search.search_pass`); returns the moves applied."""
    R, L, cf, cl, owner, vdist, vtrips = S
    moves = 0
    work = 0
    candidates = openable(fleet, vtrips, multi_trip)
    for idx in range(order.shape[0]):
        if work >= CHECK_EVERY:
            if past(deadline):
                break
            work = 0
        u = order[idx]
        last = tested[u]
        tested[u] = clock[0]
        for t in range(neigh.shape[1]):
            v = neigh[u, t]
            r, s = rt[u], rt[v]
            if max(modified[r], modified[s]) <= last:
                continue
            work += 1
            if _improve_pair(d, demand, fleet, S, rt, ps, cb, u, v, eps, penalty, barred, balance, min_max) < 0.0:
                refresh_vehicles(S, fleet)
                candidates = openable(fleet, vtrips, multi_trip)
                clock[0] += 1
                modified[r] = modified[s] = clock[0]
                moves += 1
        r = rt[u]
        if _new_trip(d, demand, fleet, S, rt, ps, cb, u, eps, penalty, barred, balance, min_max, candidates) < 0.0:
            refresh_vehicles(S, fleet)
            candidates = openable(fleet, vtrips, multi_trip)
            clock[0] += 1
            modified[r] = modified[rt[u]] = clock[0]
            moves += 1
    return moves


@njit(cache=True)
def fleet_state(d, demand, fleet, seq, vehicles, spare):
    """The search state of trips ``seq`` (a giant sequence) driven by ``vehicles``, with ``spare`` empty rows
    for new trips: ``(S, rt, ps, cb)`` with ``S = (R, L, cf, cl, owner, vdist, vtrips)``."""
    R, L, rt, ps, cf, cb, cl = build_state(d, demand, seq, spare)
    owner = np.full(L.shape[0], -1, dtype=np.int64)
    owner[:vehicles.shape[0]] = vehicles
    m = fleet[0].shape[0]
    S = (R, L, cf, cl, owner, np.zeros(m), np.zeros(m, dtype=np.int64))
    refresh_vehicles(S, fleet)
    return S, rt, ps, cb


@njit(cache=True)
def fleet_routes(S):
    """The giant sequence of the non-empty rows and the vehicle of each."""
    R, L, cf, cl, owner, vdist, vtrips = S
    total, count = 1, 0
    for r in range(L.shape[0]):
        if L[r] > 0:
            total += L[r] + 1
            count += 1
    seq = np.zeros(total, dtype=np.int64)
    vehicles = np.zeros(count, dtype=np.int64)
    pos, k = 1, 0
    for r in range(L.shape[0]):
        if L[r] > 0:
            for i in range(1, L[r] + 1):
                seq[pos] = R[r, i]
                pos += 1
            pos += 1
            vehicles[k] = owner[r]
            k += 1
    return seq, vehicles


@njit(cache=True)
def fleet_search(d, demand, fleet, neigh, seq, vehicles, spare, multi_trip, min_max, seed, deadline, eps, penalty,
                 barred, balance):
    """Rounds of passes (node moves, overloaded trips emptied, vehicle hand-overs, joins, SWAP*) until a round
    applies nothing or ``deadline`` (``perf_counter``; < 0: none). Returns the improved ``(sequence, vehicles)``."""
    S, rt, ps, cb = fleet_state(d, demand, fleet, seq, vehicles, spare)
    L = S[1]
    np.random.seed(seed)
    customers = seq[seq > 0].copy()
    modified = np.zeros(L.shape[0], dtype=np.int64)
    tested = np.full(d.shape[0], -1, dtype=np.int64)
    tested_rows = np.full(L.shape[0], -1, dtype=np.int64)
    merged_rows = np.full(L.shape[0], -1, dtype=np.int64)
    clock = np.zeros(1, dtype=np.int64)
    while not past(deadline):
        order = np.random.permutation(customers)
        moves = fleet_pass(d, demand, fleet, neigh, order, S, rt, ps, cb, multi_trip, eps, penalty, barred,
                           balance, min_max, modified, tested, clock, deadline)
        moves += overload_pass(d, demand, fleet, S, rt, ps, cb, eps, penalty, barred, balance, min_max, modified, clock)
        moves += vehicle_pass(fleet, S, multi_trip, eps, penalty, barred, balance, min_max, modified, clock)
        moves += merge_pass(d, demand, fleet, S, rt, ps, cb, multi_trip, eps, penalty, barred, balance, min_max,
                            modified, merged_rows, clock)
        moves += fleet_swap_star_pass(d, demand, fleet, neigh, S, rt, ps, cb, eps, penalty, barred, balance, min_max,
                                      modified, tested_rows, clock, deadline)
        if moves == 0:
            break
    return fleet_routes(S)


@njit(cache=True)
def fleet_value(d, demand, fleet, min_max, seq, vehicles):
    """``(objective, load above capacity, customers on a vehicle that may not serve them)`` of trips ``seq``
    driven by ``vehicles``; the objective is the instance's (min-max: the longest time, no balance term)."""
    m = fleet[0].shape[0]
    vdist = np.zeros(m)
    vtrips = np.zeros(m, dtype=np.int64)
    credit = 0.0
    excess = 0
    barred = 0
    trip, load = 0, 0
    for i in range(1, seq.shape[0]):
        v = vehicles[trip]
        vdist[v] += d[seq[i - 1], seq[i]]
        c = seq[i]
        if c == 0:
            excess += max(0, load - fleet[0][v])
            vtrips[v] += 1
            trip += 1
            load = 0
        else:
            load += demand[c]
            credit += fleet[3][v, c]
            if not fleet[4][v, c]:
                barred += 1
    value = 0.0
    for v in range(m):
        t = fleet[1][v] * vdist[v] + (fleet[2][v] if vtrips[v] > 0 and not min_max else 0.0)
        value = max(value, t) if min_max else value + t
    if not min_max:
        value -= credit
    return value, excess, barred
