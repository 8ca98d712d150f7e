"""Local search for fleets whose vehicles differ: every move priced with the vehicles it touches.

The route state is :mod:`nco.kernels.routes`' (rows of customers between
depot sentinels, prefix sums of distance and load), with ``owner[row]`` the
vehicle that drives the row (-1: an empty row, a trip not yet given to
anyone). A vehicle may own several rows when the fleet reloads (one per
trip). The fleet is the tuple ``fleet = (capacity, rate, fixed, credit,
allowed, kind, zoned)``, per vehicle: capacity, cost per unit of distance (min-sum:
unit cost + time weight / speed; min-max: 1 / speed, so that it prices time),
fixed cost (charged once a vehicle drives), ``credit [m, n]`` (the preference
weight times the preference, taken off the cost for each customer served),
``allowed [m, n]``, ``kind [m]`` (vehicles of one kind are identical) and
whether any credit or bar is there at all (``fleet = (..., kind, zoned)``).

The objective a move is priced with: min-sum, the sum over vehicles of fixed
+ rate x distance, less the credits; min-max, the longest vehicle time plus
``balance`` times the sum of times (the sum guides the search where the
longest does not change). Loads above a vehicle's capacity cost ``penalty``
per unit (``penalty < 0``: forbidden), and a customer on a vehicle that may
not serve it costs ``barred`` (moves never put one there; a start may, and
moving it away pays).

The moves, on granular neighbourhoods as in :mod:`nco.kernels.search`:
relocate (1 to 3 customers), swap, 2-opt, 2-opt* and a customer alone into a
new trip (an unused vehicle's, or a reloading vehicle's next); then, per
pair of trips, the exchange of their vehicles, and each trip given to
another vehicle (what chooses the vehicle types of a heterogeneous fleet).
SWAP* is not used here.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .clock import CHECK_EVERY, past
from .moves import (apply_relocate, apply_swap, apply_two_opt, apply_two_opt_star, delta_relocate, delta_swap,
                    delta_two_opt)
from .routes import build_state, load_cost


@njit(cache=True, inline="always")
def _value(fleet, min_max, v, dist, trips):
    """Vehicle ``v``'s cost (min-max: its time) when it drives ``dist`` in ``trips`` trips."""
    value = fleet[1][v] * dist
    if trips > 0 and not min_max:
        value += fleet[2][v]
    return value


@njit(cache=True, inline="always")
def _change(fleet, min_max, vdist, vtrips, v, dv, tv):
    """How much vehicle ``v``'s cost (min-max: time) changes when its distance and trips change by ``dv, tv``."""
    change = fleet[1][v] * dv
    if not min_max and (vtrips[v] > 0) != (vtrips[v] + tv > 0):
        change += fleet[2][v] if tv > 0 else -fleet[2][v]
    return change


@njit(cache=True)
def _longest_after(fleet, vdist, a, da, b, db):
    """Min-max: the longest time once ``a``'s distance changed by ``da`` and ``b``'s (``b`` >= 0) by ``db``."""
    rate = fleet[1]
    longest = 0.0
    for w in range(vdist.shape[0]):
        dist = vdist[w]
        if w == a:
            dist += da
        if w == b:
            dist += db
        longest = max(longest, rate[w] * dist)
    return longest


@njit(cache=True, inline="always")
def _vehicles_delta(fleet, min_max, balance, vdist, vtrips, a, da, ta, b, db, tb):
    """Cost change when vehicle ``a``'s distance and trips change by ``da, ta`` and ``b``'s by ``db, tb``
    (``b`` < 0: only ``a`` changes; ``b == a``: ``a`` changes by the sums)."""
    if b == a:
        change = _change(fleet, min_max, vdist, vtrips, a, da + db, ta + tb)
    else:
        change = _change(fleet, min_max, vdist, vtrips, a, da, ta)
        if b >= 0:
            change += _change(fleet, min_max, vdist, vtrips, b, db, tb)
    if not min_max:
        return change
    return (_longest_after(fleet, vdist, a, da, b, db) - _longest_after(fleet, vdist, -1, 0.0, -1, 0.0)
            + balance * change)


@njit(cache=True, inline="always")
def _moved(fleet, barred, R, r, lo, hi, src, dst):
    """Cost change of customers ``R[r, lo..hi]`` going from vehicle ``src`` to ``dst``: credits and bars
    (inf when ``dst`` may not serve one of them)."""
    if src == dst or not fleet[6] or fleet[5][src] == fleet[5][dst]:
        return 0.0  # the same vehicle, no credits or bars anywhere, or an identical one
    credit = fleet[3]
    allowed = fleet[4]
    change = 0.0
    for q in range(lo, hi + 1):
        c = R[r, q]
        if not allowed[dst, c]:
            return np.inf
        change += credit[src, c] - credit[dst, c]
        if not allowed[src, c]:
            change -= barred
    return change


@njit(cache=True, inline="always")
def _loads(fleet, penalty, a, old_a, new_a, b, old_b, new_b):
    """Change of the load costs of two trips driven by ``a`` and ``b`` (``b`` < 0: one trip only)."""
    cap = fleet[0]
    change = load_cost(new_a, cap[a], penalty) - load_cost(old_a, cap[a], penalty)
    if b >= 0:
        change += load_cost(new_b, cap[b], penalty) - load_cost(old_b, cap[b], penalty)
    return change


@njit(cache=True, inline="always")
def _relocate(d, fleet, S, r, i, k, s, p, penalty, barred, balance, min_max):
    """Delta of moving ``R[r, i:i+k]`` after position ``p`` of row ``s`` (a non-empty row)."""
    R, L, cf, cl, owner, vdist, vtrips = S
    if p < 0 or p > L[s] or i + k - 1 > L[r]:
        return np.inf
    a = owner[r]
    if r == s:
        dd = delta_relocate(d, 0, R, L, cl, r, i, k, s, p)
        if dd == np.inf:
            return np.inf
        return _vehicles_delta(fleet, min_max, balance, vdist, vtrips, a, dd, 0, -1, 0.0, 0)
    b = owner[s]
    moved = _moved(fleet, barred, R, r, i, i + k - 1, a, b)
    if moved == np.inf:
        return np.inf
    before, first, last, after = R[r, i - 1], R[r, i], R[r, i + k - 1], R[r, i + k]
    x, y = R[s, p], R[s, p + 1]
    inner = cf[r, i + k - 1] - cf[r, i]
    dr = d[before, after] - d[before, first] - d[last, after] - inner
    ds = d[x, first] + inner + d[last, y] - d[x, y]
    seg = cl[r, i + k - 1] - cl[r, i - 1]
    load_r, load_s = cl[r, L[r] + 1], cl[s, L[s] + 1]
    loads = _loads(fleet, penalty, a, load_r, load_r - seg, b, load_s, load_s + seg)
    tr = -1 if L[r] == k else 0
    return moved + loads + _vehicles_delta(fleet, min_max, balance, vdist, vtrips, a, dr, tr, b, ds, 0)


@njit(cache=True, inline="always")
def _swap(d, demand, fleet, S, r, i, s, j, penalty, barred, balance, min_max):
    """Delta of exchanging the customers at ``(r, i)`` and ``(s, j)``."""
    R, L, cf, cl, owner, vdist, vtrips = S
    if i < 1 or j < 1 or i > L[r] or j > L[s] or (r == s and i == j):
        return np.inf
    a, b = owner[r], owner[s]
    if r == s:
        dd = delta_swap(d, demand, 0, R, L, cl, r, i, s, j)
        return _vehicles_delta(fleet, min_max, balance, vdist, vtrips, a, dd, 0, -1, 0.0, 0)
    u, v = R[r, i], R[s, j]
    moved = _moved(fleet, barred, R, r, i, i, a, b)
    if moved == np.inf:
        return np.inf
    back = _moved(fleet, barred, R, s, j, j, b, a)
    if back == np.inf:
        return np.inf
    pu, nu, pv, nv = R[r, i - 1], R[r, i + 1], R[s, j - 1], R[s, j + 1]
    dr = d[pu, v] + d[v, nu] - d[pu, u] - d[u, nu]
    ds = d[pv, u] + d[u, nv] - d[pv, v] - d[v, nv]
    load_r, load_s = cl[r, L[r] + 1], cl[s, L[s] + 1]
    loads = _loads(fleet, penalty, a, load_r, load_r - demand[u] + demand[v], b, load_s,
                   load_s - demand[v] + demand[u])
    return moved + back + loads + _vehicles_delta(fleet, min_max, balance, vdist, vtrips, a, dr, 0, b, ds, 0)


@njit(cache=True, inline="always")
def _two_opt_star(d, fleet, S, r, i, s, j, penalty, barred, balance, min_max):
    """Delta of row ``r`` keeping ``..R[r, i]`` then taking ``R[s, j+1..]``, and ``s`` the other way round."""
    R, L, cf, cl, owner, vdist, vtrips = S
    if r == s or i < 0 or j < 0 or i > L[r] or j > L[s]:
        return np.inf
    if (i == 0 and j == 0) or (i == L[r] and j == L[s]):
        return np.inf
    a, b = owner[r], owner[s]
    moved = _moved(fleet, barred, R, r, i + 1, L[r], a, b)
    if moved == np.inf:
        return np.inf
    back = _moved(fleet, barred, R, s, j + 1, L[s], b, a)
    if back == np.inf:
        return np.inf
    end_r, end_s = cf[r, L[r] + 1], cf[s, L[s] + 1]
    dr = cf[r, i] + d[R[r, i], R[s, j + 1]] + end_s - cf[s, j + 1] - end_r
    ds = cf[s, j] + d[R[s, j], R[r, i + 1]] + end_r - cf[r, i + 1] - end_s
    load_r, load_s = cl[r, L[r] + 1], cl[s, L[s] + 1]
    loads = _loads(fleet, penalty, a, load_r, cl[r, i] + load_s - cl[s, j], b, load_s, cl[s, j] + load_r - cl[r, i])
    tr = -1 if i + L[s] - j == 0 else 0
    ts = -1 if j + L[r] - i == 0 else 0
    return moved + back + loads + _vehicles_delta(fleet, min_max, balance, vdist, vtrips, a, dr, tr, b, ds, ts)


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


@njit(cache=True)
def _improve_pair(d, demand, fleet, S, rt, ps, cb, u, v, eps, penalty, barred, balance, min_max):
    """Apply the first improving move that makes ``u`` and ``v`` adjacent; return its delta (0 if none)."""
    R, L, cf, cl, owner, vdist, vtrips = S
    r, i, s, j = rt[u], ps[u], rt[v], ps[v]
    for k in range(1, 4):
        if i + k - 1 > L[r]:
            break
        for p in (j, j - 1):
            delta = _relocate(d, fleet, S, r, i, k, s, p, penalty, barred, balance, min_max)
            if delta < -eps:
                apply_relocate(d, demand, R, L, rt, ps, cf, cb, cl, r, i, k, s, p)
                return delta
    delta = _swap(d, demand, fleet, S, r, i, s, j, penalty, barred, balance, min_max)
    if delta < -eps:
        apply_swap(d, demand, R, L, rt, ps, cf, cb, cl, r, i, s, j)
        return delta
    if r == s:
        lo, hi = min(i, j), max(i, j)
        for x, y in ((lo, hi), (lo - 1, hi - 1)):
            dd = delta_two_opt(d, R, L, cf, cb, r, x, y)
            if dd == np.inf:
                continue
            delta = _vehicles_delta(fleet, min_max, balance, vdist, vtrips, owner[r], dd, 0, -1, 0.0, 0)
            if delta < -eps:
                apply_two_opt(d, demand, R, L, rt, ps, cf, cb, cl, r, x, y)
                return delta
    else:
        for x, y in ((i, j - 1), (i - 1, j)):
            delta = _two_opt_star(d, fleet, S, r, x, s, y, penalty, barred, balance, min_max)
            if delta < -eps:
                apply_two_opt_star(d, demand, R, L, rt, ps, cf, cb, cl, r, x, s, y)
                return delta
    return 0.0


@njit(cache=True, inline="always")
def _may_open(fleet, vtrips, multi_trip, w, tried):
    """Whether a new trip for vehicle ``w`` is worth pricing: it reloads or is unused, and no identical unused
    vehicle was priced already (``tried``: per kind)."""
    if vtrips[w] > 0:
        return multi_trip
    kind = fleet[5][w]
    if tried[kind]:
        return False
    tried[kind] = True
    return True


@njit(cache=True)
def _new_trip(d, demand, fleet, S, rt, ps, cb, u, multi_trip, eps, penalty, barred, balance, min_max):
    """Move ``u`` alone into a new trip of the vehicle where that pays most; return the delta (0 if none)."""
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
    tried = np.zeros(vdist.shape[0], dtype=np.bool_)
    best, best_w = -eps, -1
    for w in range(vdist.shape[0]):
        if not _may_open(fleet, vtrips, multi_trip, w, tried):
            continue
        moved = _moved(fleet, barred, R, r, i, i, a, w)
        if moved == np.inf:
            continue
        delta = (moved + _loads(fleet, penalty, a, load_r, load_r - demand[u], w, 0, demand[u])
                 + _vehicles_delta(fleet, min_max, balance, vdist, vtrips, a, dr, 0, w, ds, 1))
        if delta < best:
            best, best_w = delta, w
    if best_w < 0:
        return 0.0
    owner[empty] = best_w
    apply_relocate(d, demand, R, L, rt, ps, cf, cb, cl, r, i, 1, empty, 0)
    return best


@njit(cache=True, inline="always")
def _give_trip(fleet, S, r, w, s, penalty, barred, balance, min_max):
    """Delta of row ``r`` driven by vehicle ``w`` instead, and (``s >= 0``) row ``s`` by ``r``'s vehicle."""
    R, L, cf, cl, owner, vdist, vtrips = S
    a = owner[r]
    moved = _moved(fleet, barred, R, r, 1, L[r], a, w)
    if moved == np.inf:
        return np.inf
    dist_r, load_r = cf[r, L[r] + 1], cl[r, L[r] + 1]
    if s < 0:
        loads = _loads(fleet, penalty, a, load_r, 0, w, 0, load_r)
        return moved + loads + _vehicles_delta(fleet, min_max, balance, vdist, vtrips, a, -dist_r, -1, w, dist_r, 1)
    back = _moved(fleet, barred, R, s, 1, L[s], w, a)
    if back == np.inf:
        return np.inf
    dist_s, load_s = cf[s, L[s] + 1], cl[s, L[s] + 1]
    loads = _loads(fleet, penalty, a, load_r, load_s, w, load_s, load_r)
    return moved + back + loads + _vehicles_delta(fleet, min_max, balance, vdist, vtrips, a, dist_s - dist_r, 0,
                                                  w, dist_r - dist_s, 0)


@njit(cache=True)
def vehicle_pass(fleet, S, multi_trip, eps, penalty, barred, balance, min_max, modified, clock):
    """Give each trip to the vehicle that drives it best: exchange the vehicles of two trips, or hand a trip
    to another vehicle (an unused one, or any when the fleet reloads). Returns the moves applied."""
    R, L, cf, cl, owner, vdist, vtrips = S
    rows = L.shape[0]
    moves = 0
    for r in range(rows):
        if L[r] == 0:
            continue
        tried = np.zeros(vdist.shape[0], dtype=np.bool_)
        best, best_w, best_s = -eps, -1, -1
        for w in range(vdist.shape[0]):
            if w != owner[r] and _may_open(fleet, vtrips, multi_trip, w, tried):
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
                clock[0] += 1
                modified[r] = modified[s] = clock[0]
                moves += 1
        r = rt[u]
        if _new_trip(d, demand, fleet, S, rt, ps, cb, u, multi_trip, eps, penalty, barred, balance, min_max) < 0.0:
            refresh_vehicles(S, fleet)
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
    """Passes of node moves then of vehicle moves until one applies nothing or ``deadline`` (``perf_counter``;
    < 0: none). Returns the improved ``(sequence, vehicles)``."""
    S, rt, ps, cb = fleet_state(d, demand, fleet, seq, vehicles, spare)
    L = S[1]
    np.random.seed(seed)
    customers = seq[seq > 0].copy()
    modified = np.zeros(L.shape[0], dtype=np.int64)
    tested = np.full(d.shape[0], -1, dtype=np.int64)
    clock = np.zeros(1, dtype=np.int64)
    while not past(deadline):
        order = np.random.permutation(customers)
        moves = fleet_pass(d, demand, fleet, neigh, order, S, rt, ps, cb, multi_trip, eps, penalty, barred,
                           balance, min_max, modified, tested, clock, deadline)
        moves += vehicle_pass(fleet, S, multi_trip, eps, penalty, barred, balance, min_max, modified, clock)
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
        t = _value(fleet, min_max, v, vdist[v], vtrips[v])
        value = max(value, t) if min_max else value + t
    if not min_max:
        value -= credit
    return value, excess, barred
