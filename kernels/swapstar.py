"""SWAP* (Vidal 2022): exchange two customers of two routes, each inserted at its best place in the other.

Unlike a plain swap, ``u`` need not take ``v``'s place: it goes wherever it is
cheapest in ``v``'s route once ``v`` has left, and vice versa. Removing ``v``
spoils at most two insertion positions of that route (the arcs into and out
of ``v``), so the three cheapest positions for ``u``, computed once per route
pair, always hold the best one that survives; together with "in ``v``'s
place" that makes the search over a pair exact in O(|r| |s|). Moving one
customer to the other route alone (at its best place) is tried as well, as
in HGS. Works on asymmetric matrices: every cost is read in travel direction.

Positions: "after position ``p`` of route ``s``" means between ``R[s, p]`` and
``R[s, p + 1]`` (``p = 0`` is right after the depot).
"""

import numpy as np
from numba import njit

from .clock import CHECK_EVERY, past
from .routes import load_delta, refresh_route

NO_MOVE, EXCHANGE, MOVE_U, MOVE_V = 0, 1, 2, 3


@njit(cache=True)
def _top_three(d, R, L, r, s):
    """For each customer of route ``r``: the three cheapest insertion costs into route ``s`` and their positions."""
    cost = np.full((L[r] + 1, 3), np.inf)
    pos = np.full((L[r] + 1, 3), -1, dtype=np.int64)
    for i in range(1, L[r] + 1):
        u = R[r, i]
        for p in range(L[s] + 1):
            x = R[s, p]
            y = R[s, p + 1]
            c = d[x, u] + d[u, y] - d[x, y]
            if c < cost[i, 2]:
                if c < cost[i, 1]:
                    cost[i, 2], pos[i, 2] = cost[i, 1], pos[i, 1]
                    if c < cost[i, 0]:
                        cost[i, 1], pos[i, 1] = cost[i, 0], pos[i, 0]
                        cost[i, 0], pos[i, 0] = c, p
                    else:
                        cost[i, 1], pos[i, 1] = c, p
                else:
                    cost[i, 2], pos[i, 2] = c, p
    return cost, pos


@njit(cache=True)
def _removal(d, R, r, i):
    """Cost change of taking the customer at position ``i`` out of route ``r``."""
    a = R[r, i - 1]
    u = R[r, i]
    b = R[r, i + 1]
    return d[a, b] - d[a, u] - d[u, b]


@njit(cache=True)
def _insert_without(d, R, s, j, u, cost, pos, i):
    """Cheapest insertion of ``u`` (row ``i`` of the top three) into route ``s`` once position ``j`` has left.

    Returns ``(cost, position)``; ``position == j - 1`` stands for ``v``'s own place.
    """
    a = R[s, j - 1]
    b = R[s, j + 1]
    best = d[a, u] + d[u, b] - d[a, b]
    where = j - 1
    for t in range(3):
        p = pos[i, t]
        if p < 0:
            break
        if p != j - 1 and p != j:
            if cost[i, t] < best:
                best = cost[i, t]
                where = p
            break
    return best, where


@njit(cache=True)
def best_swap_star(d, demand, capacity, R, L, cl, r, s, penalty):
    """The best SWAP* or single-customer transfer between routes ``r`` and ``s``.

    Returns ``(delta, kind, i, j, p_u, p_v)``: the customer at position ``i`` of
    ``r`` goes after position ``p_u`` of ``s`` and the one at ``j`` of ``s``
    after position ``p_v`` of ``r`` (``kind`` says which of them move).
    """
    best = np.inf
    kind, bi, bj, bpu, bpv = NO_MOVE, 0, 0, 0, 0
    if r == s or L[r] == 0 or L[s] == 0:
        return best, kind, bi, bj, bpu, bpv
    cost_u, pos_u = _top_three(d, R, L, r, s)
    cost_v, pos_v = _top_three(d, R, L, s, r)
    load_r = cl[r, L[r] + 1]
    load_s = cl[s, L[s] + 1]
    for i in range(1, L[r] + 1):
        u = R[r, i]
        rem_u = _removal(d, R, r, i)
        # u alone to its best place in s
        delta = rem_u + cost_u[i, 0] + load_delta(capacity, penalty, load_r, load_r - demand[u], load_s,
                                                 load_s + demand[u])
        if delta < best:
            best, kind, bi, bj, bpu, bpv = delta, MOVE_U, i, 0, pos_u[i, 0], 0
        for j in range(1, L[s] + 1):
            v = R[s, j]
            extra = load_delta(capacity, penalty, load_r, load_r - demand[u] + demand[v], load_s,
                               load_s - demand[v] + demand[u])
            if extra == np.inf:
                continue
            ins_u, p_u = _insert_without(d, R, s, j, u, cost_u, pos_u, i)
            ins_v, p_v = _insert_without(d, R, r, i, v, cost_v, pos_v, j)
            delta = rem_u + _removal(d, R, s, j) + ins_u + ins_v + extra
            if delta < best:
                best, kind, bi, bj, bpu, bpv = delta, EXCHANGE, i, j, p_u, p_v
    for j in range(1, L[s] + 1):
        v = R[s, j]
        delta = _removal(d, R, s, j) + cost_v[j, 0] + load_delta(capacity, penalty, load_s, load_s - demand[v],
                                                                  load_r, load_r + demand[v])
        if delta < best:
            best, kind, bi, bj, bpu, bpv = delta, MOVE_V, 0, j, 0, pos_v[j, 0]
    return best, kind, bi, bj, bpu, bpv


@njit(cache=True)
def _rebuild(R, L, r, drop, add, after):
    """Route ``r`` without the customer at position ``drop`` (0: none), with ``add`` after position ``after``
    (-1: none)."""
    old = R[r, :L[r] + 2].copy()
    out = 0
    for q in range(L[r] + 2):
        if q != drop or drop == 0:
            R[r, out] = old[q]
            out += 1
        if q == after and add >= 0:
            R[r, out] = add
            out += 1
    L[r] = out - 2


@njit(cache=True)
def apply_swap_star(d, demand, R, L, rt, ps, cf, cb, cl, r, s, kind, i, j, p_u, p_v):
    """Carry out the move :func:`best_swap_star` returned."""
    u = R[r, i] if kind != MOVE_V else -1
    v = R[s, j] if kind != MOVE_U else -1
    _rebuild(R, L, r, i if kind != MOVE_V else 0, v, p_v if kind != MOVE_U else -1)
    _rebuild(R, L, s, j if kind != MOVE_U else 0, u, p_u if kind != MOVE_V else -1)
    refresh_route(d, demand, R, L, rt, ps, cf, cb, cl, r)
    refresh_route(d, demand, R, L, rt, ps, cf, cb, cl, s)


@njit(cache=True)
def close_routes(neigh, R, L, rt):
    """``close[r, s]``: whether routes ``r`` and ``s`` hold granular neighbours (the pairs SWAP* tries)."""
    m = L.shape[0]
    close = np.zeros((m, m), dtype=np.bool_)
    for r in range(m):
        for i in range(1, L[r] + 1):
            for t in range(neigh.shape[1]):
                s = rt[neigh[R[r, i], t]]
                close[r, s] = True
                close[s, r] = True
    return close


@njit(cache=True)
def swap_star_pass(d, demand, capacity, neigh, R, L, rt, ps, cf, cb, cl, eps, penalty, modified, tested, clock,
                   deadline):
    """SWAP* over pairs of routes that hold granular neighbours and changed since last tried.

    ``modified[r]`` is the ``clock[0]`` tick of route ``r``'s last change and
    ``tested[r]`` the tick when its pairs were last tried; both are updated
    here. Returns ``(moves applied, total delta)``; stops early at ``deadline``
    (checked between routes, see :mod:`nco.kernels.clock`).
    """
    m = L.shape[0]
    close = close_routes(neigh, R, L, rt)
    moves = 0
    total = 0.0
    work = CHECK_EVERY  # customer pairs compared since the clock was last read (first: read it now)
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
            delta, kind, i, j, p_u, p_v = best_swap_star(d, demand, capacity, R, L, cl, r, s, penalty)
            if delta < -eps:
                apply_swap_star(d, demand, R, L, rt, ps, cf, cb, cl, r, s, kind, i, j, p_u, p_v)
                clock[0] += 1
                modified[r] = clock[0]
                modified[s] = clock[0]
                moves += 1
                total += delta
    return moves, total
