"""Local search on granular neighbourhoods: relocate, Or-opt, swap, 2-opt, 2-opt*.

State: route ``r`` is ``R[r, 0..L[r]+1]`` with depot sentinels at both ends;
``rt[c], ps[c]`` locate customer ``c``; ``cf``/``cb`` are prefix sums of the
forward and backward arc costs along each route and ``cl`` prefix loads, so
that every move is evaluated in O(1), reversals included, on asymmetric
matrices too. For a customer ``u`` and each ``v`` among its ``k`` nearest
(the granular neighbourhood of Toth & Vigo), the moves that make ``u`` and
``v`` adjacent are tried; the first improving one is applied (first
improvement), until a pass over all customers finds none.

A TSP tour is the one-route case: node 0 is the fixed start, capacity is never
binding and only the intra-route moves apply.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit

from .cost import sequence_cost

RELOCATE, SWAP, TWO_OPT, TWO_OPT_STAR = 0, 1, 2, 3


@njit(cache=True)
def neighbour_lists(dist: np.ndarray, k: int) -> np.ndarray:
    """For each customer, the ``k`` nearest other customers (row 0, the depot, is unused).

    Nearness is ``dist[i, j] + dist[j, i]`` so that it is symmetric on ATSP matrices.
    """
    n = dist.shape[0]
    k = max(0, min(k, n - 2))
    out = np.zeros((n, k), dtype=np.int64)
    for i in range(1, n):
        key = np.empty(n - 2)
        ids = np.empty(n - 2, dtype=np.int64)
        m = 0
        for j in range(1, n):
            if j != i:
                key[m] = dist[i, j] + dist[j, i]
                ids[m] = j
                m += 1
        order = np.argsort(key, kind="mergesort")
        for t in range(k):
            out[i, t] = ids[order[t]]
    return out


# ----------------------------------------------------------------------------- state


@njit(cache=True)
def _refresh(d, demand, R, L, rt, ps, cf, cb, cl, r):
    """Recompute prefix sums and positions of route ``r`` after it changed."""
    cf[r, 0] = 0.0
    cb[r, 0] = 0.0
    cl[r, 0] = 0
    for i in range(1, L[r] + 2):
        a = R[r, i - 1]
        b = R[r, i]
        cf[r, i] = cf[r, i - 1] + d[a, b]
        cb[r, i] = cb[r, i - 1] + d[b, a]
        cl[r, i] = cl[r, i - 1] + demand[b]
        if i <= L[r]:
            rt[b] = r
            ps[b] = i


@njit(cache=True)
def build_state(d, demand, seq, spare):
    """Route arrays for the giant sequence ``seq`` plus ``spare`` empty routes."""
    n = d.shape[0]
    routes = 0
    for i in range(1, seq.shape[0]):
        if seq[i] == 0:
            routes += 1
    m = routes + spare
    R = np.zeros((m, n + 1), dtype=np.int64)
    L = np.zeros(m, dtype=np.int64)
    r = 0
    for i in range(1, seq.shape[0]):
        if seq[i] == 0:
            r += 1
        else:
            L[r] += 1
            R[r, L[r]] = seq[i]
    rt = np.zeros(n, dtype=np.int64)
    ps = np.zeros(n, dtype=np.int64)
    cf = np.zeros((m, n + 1))
    cb = np.zeros((m, n + 1))
    cl = np.zeros((m, n + 1), dtype=np.int64)
    for r in range(m):
        _refresh(d, demand, R, L, rt, ps, cf, cb, cl, r)
    return R, L, rt, ps, cf, cb, cl


@njit(cache=True)
def state_sequence(R, L):
    """The giant sequence of the non-empty routes."""
    total = 1
    for r in range(L.shape[0]):
        if L[r] > 0:
            total += L[r] + 1
    seq = np.zeros(total, dtype=np.int64)
    pos = 1
    for r in range(L.shape[0]):
        if L[r] > 0:
            for i in range(1, L[r] + 1):
                seq[pos] = R[r, i]
                pos += 1
            seq[pos] = 0
            pos += 1
    return seq


# ----------------------------------------------------------------------------- deltas
# Each returns the cost change of a move, or +inf when it is a no-op or, with hard
# capacities, overloads a route. With ``penalty >= 0`` capacity is soft: each unit
# of load above capacity costs ``penalty`` (the infeasible search of HGS).


@njit(cache=True)
def load_cost(load, capacity, penalty):
    """What a route's load adds to the objective: 0 or inf (hard, ``penalty < 0``), else the penalised excess."""
    excess = load - capacity
    if excess <= 0:
        return 0.0
    if penalty < 0:
        return np.inf
    return penalty * excess


@njit(cache=True)
def _load_delta(capacity, penalty, old_r, new_r, old_s, new_s):
    return (load_cost(new_r, capacity, penalty) + load_cost(new_s, capacity, penalty)
            - load_cost(old_r, capacity, penalty) - load_cost(old_s, capacity, penalty))


@njit(cache=True)
def delta_relocate(d, capacity, R, L, cl, r, i, k, s, p, penalty=-1.0):
    """Move the segment ``R[r, i:i+k]`` (k customers) to just after position ``p`` of route ``s``."""
    if k < 1 or i < 1 or i + k - 1 > L[r] or p < 0 or p > L[s]:
        return np.inf
    extra = 0.0
    if r == s:
        if p >= i - 1 and p <= i + k - 1:
            return np.inf
    else:
        seg_load = cl[r, i + k - 1] - cl[r, i - 1]
        load_r = cl[r, L[r] + 1]
        load_s = cl[s, L[s] + 1]
        extra = _load_delta(capacity, penalty, load_r, load_r - seg_load, load_s, load_s + seg_load)
        if extra == np.inf:
            return np.inf
    a = R[r, i - 1]
    first = R[r, i]
    last = R[r, i + k - 1]
    b = R[r, i + k]
    x = R[s, p]
    y = R[s, p + 1]
    return d[a, b] - d[a, first] - d[last, b] + d[x, first] + d[last, y] - d[x, y] + extra


@njit(cache=True)
def delta_swap(d, demand, capacity, R, L, cl, r, i, s, j, penalty=-1.0):
    """Exchange the customers at ``(r, i)`` and ``(s, j)``."""
    if i < 1 or j < 1 or i > L[r] or j > L[s] or (r == s and i == j):
        return np.inf
    u = R[r, i]
    v = R[s, j]
    extra = 0.0
    if r != s:
        load_r = cl[r, L[r] + 1]
        load_s = cl[s, L[s] + 1]
        extra = _load_delta(capacity, penalty, load_r, load_r - demand[u] + demand[v],
                            load_s, load_s - demand[v] + demand[u])
        if extra == np.inf:
            return np.inf
    elif j == i + 1 or i == j + 1:
        if i > j:  # make (u, v) the consecutive pair in route order
            i, j = j, i
            u, v = v, u
        a = R[r, i - 1]
        b = R[r, j + 1]
        return d[a, v] + d[v, u] + d[u, b] - d[a, u] - d[u, v] - d[v, b]
    pu = R[r, i - 1]
    nu = R[r, i + 1]
    pv = R[s, j - 1]
    nv = R[s, j + 1]
    return (d[pu, v] + d[v, nu] + d[pv, u] + d[u, nv]
            - d[pu, u] - d[u, nu] - d[pv, v] - d[v, nv]) + extra


@njit(cache=True)
def delta_two_opt(d, R, L, cf, cb, r, i, j):
    """Reverse ``R[r, i+1..j]`` (needs ``0 <= i`` and ``i + 1 < j <= L[r]``)."""
    if i < 0 or j <= i + 1 or j > L[r]:
        return np.inf
    a = R[r, i]
    b = R[r, i + 1]
    c = R[r, j]
    e = R[r, j + 1]
    inner_fwd = cf[r, j] - cf[r, i + 1]
    inner_bwd = cb[r, j] - cb[r, i + 1]
    return d[a, c] + d[b, e] + inner_bwd - d[a, b] - d[c, e] - inner_fwd


@njit(cache=True)
def delta_two_opt_star(d, capacity, R, L, cl, r, i, s, j, penalty=-1.0):
    """Swap tails: route r keeps ``..R[r,i]`` then takes ``R[s,j+1..]``, and vice versa."""
    if r == s or i < 0 or j < 0 or i > L[r] or j > L[s]:
        return np.inf
    if (i == 0 and j == 0) or (i == L[r] and j == L[s]):
        return np.inf
    load_r = cl[r, L[r] + 1]
    load_s = cl[s, L[s] + 1]
    extra = _load_delta(capacity, penalty, load_r, cl[r, i] + load_s - cl[s, j], load_s, cl[s, j] + load_r - cl[r, i])
    if extra == np.inf:
        return np.inf
    a = R[r, i]
    b = R[r, i + 1]
    x = R[s, j]
    y = R[s, j + 1]
    return d[a, y] + d[x, b] - d[a, b] - d[x, y] + extra


# ----------------------------------------------------------------------------- apply


@njit(cache=True)
def apply_relocate(d, demand, R, L, rt, ps, cf, cb, cl, r, i, k, s, p):
    """Carry out :func:`delta_relocate`'s move."""
    seg = R[r, i:i + k].copy()
    if r == s:
        old = R[r, : L[r] + 2].copy()
        out = 0
        for q in range(L[r] + 2):
            if q >= i and q < i + k:
                continue
            R[r, out] = old[q]
            out += 1
            if q == p:
                for t in range(k):
                    R[r, out] = seg[t]
                    out += 1
    else:
        for q in range(i, L[r] + 2 - k):
            R[r, q] = R[r, q + k]
        L[r] -= k
        tail = R[s, p + 1: L[s] + 2].copy()
        for t in range(k):
            R[s, p + 1 + t] = seg[t]
        for t in range(tail.shape[0]):
            R[s, p + 1 + k + t] = tail[t]
        L[s] += k
        _refresh(d, demand, R, L, rt, ps, cf, cb, cl, s)
    _refresh(d, demand, R, L, rt, ps, cf, cb, cl, r)


@njit(cache=True)
def apply_swap(d, demand, R, L, rt, ps, cf, cb, cl, r, i, s, j):
    """Carry out :func:`delta_swap`'s move."""
    u = R[r, i]
    R[r, i] = R[s, j]
    R[s, j] = u
    _refresh(d, demand, R, L, rt, ps, cf, cb, cl, r)
    if s != r:
        _refresh(d, demand, R, L, rt, ps, cf, cb, cl, s)


@njit(cache=True)
def apply_two_opt(d, demand, R, L, rt, ps, cf, cb, cl, r, i, j):
    """Carry out :func:`delta_two_opt`'s move."""
    R[r, i + 1: j + 1] = R[r, i + 1: j + 1][::-1].copy()
    _refresh(d, demand, R, L, rt, ps, cf, cb, cl, r)


@njit(cache=True)
def apply_two_opt_star(d, demand, R, L, rt, ps, cf, cb, cl, r, i, s, j):
    """Carry out :func:`delta_two_opt_star`'s move."""
    tail_r = R[r, i + 1: L[r] + 2].copy()
    tail_s = R[s, j + 1: L[s] + 2].copy()
    R[r, i + 1: i + 1 + tail_s.shape[0]] = tail_s
    R[s, j + 1: j + 1 + tail_r.shape[0]] = tail_r
    new_lr = i + tail_s.shape[0] - 1
    new_ls = j + tail_r.shape[0] - 1
    L[r] = new_lr
    L[s] = new_ls
    _refresh(d, demand, R, L, rt, ps, cf, cb, cl, r)
    _refresh(d, demand, R, L, rt, ps, cf, cb, cl, s)


# ----------------------------------------------------------------------------- search


@njit(cache=True)
def _improve_pair(d, demand, capacity, R, L, rt, ps, cf, cb, cl, u, v, eps, penalty):
    """Apply the first improving move that makes ``u`` and ``v`` adjacent; return its delta (0 if none)."""
    r = rt[u]
    i = ps[u]
    s = rt[v]
    j = ps[v]
    # Relocate / Or-opt: the segment of 1..3 customers starting at u, after v or before v.
    for k in range(1, 4):
        if i + k - 1 > L[r]:
            break
        for p in (j, j - 1):
            delta = delta_relocate(d, capacity, R, L, cl, r, i, k, s, p, penalty)
            if delta < -eps:
                apply_relocate(d, demand, R, L, rt, ps, cf, cb, cl, r, i, k, s, p)
                return delta
    delta = delta_swap(d, demand, capacity, R, L, cl, r, i, s, j, penalty)
    if delta < -eps:
        apply_swap(d, demand, R, L, rt, ps, cf, cb, cl, r, i, s, j)
        return delta
    if r == s:
        lo = min(i, j)
        hi = max(i, j)
        for a, b in ((lo, hi), (lo - 1, hi - 1)):
            delta = delta_two_opt(d, R, L, cf, cb, r, a, b)
            if delta < -eps:
                apply_two_opt(d, demand, R, L, rt, ps, cf, cb, cl, r, a, b)
                return delta
    else:
        for a, b in ((i, j - 1), (i - 1, j)):
            delta = delta_two_opt_star(d, capacity, R, L, cl, r, a, s, b, penalty)
            if delta < -eps:
                apply_two_opt_star(d, demand, R, L, rt, ps, cf, cb, cl, r, a, s, b)
                return delta
    return 0.0


@njit(cache=True)
def _to_empty_route(d, demand, capacity, R, L, rt, ps, cf, cb, cl, u, eps, penalty):
    """Move ``u`` alone into an empty route when that pays off."""
    r = rt[u]
    if L[r] < 2:
        return 0.0
    for e in range(L.shape[0]):
        if L[e] == 0:
            delta = delta_relocate(d, capacity, R, L, cl, r, ps[u], 1, e, 0, penalty)
            if delta < -eps:
                apply_relocate(d, demand, R, L, rt, ps, cf, cb, cl, r, ps[u], 1, e, 0)
                return delta
            return 0.0
    return 0.0


@njit(cache=True)
def search_pass(d, demand, capacity, neigh, order, R, L, rt, ps, cf, cb, cl, eps, penalty):
    """One pass over the customers in ``order``; returns ``(moves applied, total delta)``."""
    moves = 0
    total = 0.0
    for idx in range(order.shape[0]):
        u = order[idx]
        for t in range(neigh.shape[1]):
            delta = _improve_pair(d, demand, capacity, R, L, rt, ps, cf, cb, cl, u, neigh[u, t], eps, penalty)
            if delta < 0.0:
                moves += 1
                total += delta
        delta = _to_empty_route(d, demand, capacity, R, L, rt, ps, cf, cb, cl, u, eps, penalty)
        if delta < 0.0:
            moves += 1
            total += delta
    return moves, total


@njit(cache=True)
def penalised_excess(demand, capacity, seq, penalty):
    """Sum over routes of the penalised load above capacity (0 with hard capacities)."""
    if penalty < 0:
        return 0.0
    total = 0.0
    load = 0
    for i in range(1, seq.shape[0]):
        if seq[i] == 0:
            total += penalty * max(0, load - capacity)
            load = 0
        else:
            load += demand[seq[i]]
    return total


def local_search(dist: np.ndarray, demand: np.ndarray, capacity: int, seq: np.ndarray,
                 neighbours: np.ndarray, seed: int = 0, deadline: float | None = None,
                 spare_routes: int | None = None, penalty: float = -1.0) -> tuple[float, np.ndarray]:
    """Improve the giant sequence ``seq`` to a local optimum (or until ``deadline``, a ``time.perf_counter`` value).

    ``spare_routes`` empty routes are kept for moves that open a route (by
    default enough for every customer to have its own, so opening one is always
    possible). ``penalty < 0`` keeps capacities hard (``seq`` must be feasible); otherwise
    loads above capacity cost ``penalty`` per unit and ``seq`` may overload
    routes. Returns ``(cost, sequence)``; the cost (distance plus penalties) is
    the start cost plus the applied deltas, which the checker recomputes.
    """
    d = np.array(dist, dtype=np.float64)
    np.fill_diagonal(d, 0.0)  # an emptied route costs d[0, 0]; ATSP files put "infinity" there
    demand = np.asarray(demand, dtype=np.int64)
    seq = np.asarray(seq, dtype=np.int64)
    # Moves below eps are rounding noise of the prefix sums, not improvements.
    eps = 1e-9 * max(1.0, float(np.mean(d)))
    if spare_routes is None:
        spare_routes = max(1, int((seq > 0).sum()) - int((seq[1:] == 0).sum()))
    R, L, rt, ps, cf, cb, cl = build_state(d, demand, seq, spare_routes)
    rng = np.random.default_rng(seed)
    customers = np.unique(seq[seq > 0])
    cost = sequence_cost(d, seq) + penalised_excess(demand, int(capacity), seq, penalty)
    while deadline is None or time.perf_counter() < deadline:
        order = rng.permutation(customers)
        moves, total = search_pass(d, demand, int(capacity), neighbours, order, R, L, rt, ps, cf, cb, cl, eps,
                                   float(penalty))
        cost += total
        if moves == 0:
            break
    return cost, state_sequence(R, L)
