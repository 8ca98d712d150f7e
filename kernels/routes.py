"""Route state for the local search, shared by the node moves and SWAP*.

Route ``r`` is ``R[r, 0..L[r]+1]`` with depot sentinels at both ends;
``rt[c], ps[c]`` locate customer ``c``; ``cf``/``cb`` are prefix sums of the
forward and backward arc costs along each route and ``cl`` prefix loads, so
that moves are evaluated in O(1), reversals included, on asymmetric matrices
too. Loads above capacity are either forbidden (``penalty < 0``) or cost
``penalty`` per unit (the infeasible search of HGS).
"""

import numpy as np
from numba import njit


@njit(cache=True)
def refresh_route(d, demand, R, L, rt, ps, cf, cb, cl, r):
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
        refresh_route(d, demand, R, L, rt, ps, cf, cb, cl, r)
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
def load_delta(capacity, penalty, old_r, new_r, old_s, new_s):
    """Change of the load costs of two routes whose loads go from ``old_*`` to ``new_*``."""
    return (load_cost(new_r, capacity, penalty) + load_cost(new_s, capacity, penalty)
            - load_cost(old_r, capacity, penalty) - load_cost(old_s, capacity, penalty))



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
