"""Node moves of the local search: relocate / Or-opt, swap, 2-opt and 2-opt*.

Each ``delta_*`` returns the cost change of a move in O(1) from the route
state of :mod:`nco.kernels.routes`, or +inf when it is a no-op or, with hard
capacities, overloads a route; each ``apply_*`` carries it out.
"""

import numpy as np
from numba import njit

from .routes import load_delta, refresh_route

RELOCATE, SWAP, TWO_OPT, TWO_OPT_STAR = 0, 1, 2, 3


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
        extra = load_delta(capacity, penalty, load_r, load_r - seg_load, load_s, load_s + seg_load)
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
        extra = load_delta(capacity, penalty, load_r, load_r - demand[u] + demand[v],
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
    extra = load_delta(capacity, penalty, load_r, cl[r, i] + load_s - cl[s, j], load_s, cl[s, j] + load_r - cl[r, i])
    if extra == np.inf:
        return np.inf
    a = R[r, i]
    b = R[r, i + 1]
    x = R[s, j]
    y = R[s, j + 1]
    return d[a, y] + d[x, b] - d[a, b] - d[x, y] + extra


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
        refresh_route(d, demand, R, L, rt, ps, cf, cb, cl, s)
    refresh_route(d, demand, R, L, rt, ps, cf, cb, cl, r)


@njit(cache=True)
def apply_swap(d, demand, R, L, rt, ps, cf, cb, cl, r, i, s, j):
    """Carry out :func:`delta_swap`'s move."""
    u = R[r, i]
    R[r, i] = R[s, j]
    R[s, j] = u
    refresh_route(d, demand, R, L, rt, ps, cf, cb, cl, r)
    if s != r:
        refresh_route(d, demand, R, L, rt, ps, cf, cb, cl, s)


@njit(cache=True)
def apply_two_opt(d, demand, R, L, rt, ps, cf, cb, cl, r, i, j):
    """Carry out :func:`delta_two_opt`'s move."""
    R[r, i + 1: j + 1] = R[r, i + 1: j + 1][::-1].copy()
    refresh_route(d, demand, R, L, rt, ps, cf, cb, cl, r)


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
    refresh_route(d, demand, R, L, rt, ps, cf, cb, cl, r)
    refresh_route(d, demand, R, L, rt, ps, cf, cb, cl, s)
