"""Clarke-Wright savings for fleets whose vehicles differ: the routes of a giant tour that a fleet Split cuts.

The savings of :mod:`nco.kernels.construct` with two changes a fleet needs:
two routes merge only if some vehicle may serve every customer of both (the
allowed masks intersect; zones stay whole), and only while the merged load
fits the largest capacity among those vehicles. Which vehicle drives which
route, and where a route is cut for a smaller vehicle, is left to the fleet
Split (:func:`nco.kernels.fleet_split.fleet_split`), which prices every
vehicle's rate, fixed cost and preferences on the savings order.
"""

import numpy as np
from numba import njit

from .construct import _pairs, join


@njit(cache=True)
def _room(capacity, allowed):
    """The largest capacity among the vehicles ``allowed`` marks (0 when none may serve)."""
    best = 0
    for v in range(capacity.shape[0]):
        if allowed[v] and capacity[v] > best:
            best = capacity[v]
    return best


@njit(cache=True)
def fleet_savings(dist, demand, capacity, allowed, symmetric, near):
    """The customers in savings order, each route's consecutive: ``(order, starts)``, ``starts`` the index in
    ``order`` where each route begins. ``allowed`` is ``[m, n]`` over all nodes (the depot's column True);
    ``near`` as in :func:`nco.kernels.construct._pairs` (no columns: every pair weighed)."""
    n = dist.shape[0]
    value, pi, pj = _pairs(dist, near)
    rank = np.argsort(-value, kind="mergesort")
    route = np.arange(n)
    head = np.arange(n)
    tail = np.arange(n)
    load = demand.astype(np.int64).copy()
    serves = allowed.T.copy()  # serves[r, v]: vehicle v may serve all of route r
    nxt = np.full(n, -1, dtype=np.int64)
    prv = np.full(n, -1, dtype=np.int64)
    both = np.empty(capacity.shape[0], dtype=np.bool_)
    for q in range(rank.shape[0]):
        k = rank[q]
        if value[k] <= 0.0:
            break
        i, j = pi[k], pj[k]
        ri, rj = route[i], route[j]
        if ri == rj:
            continue
        both[:] = serves[ri] & serves[rj]
        if load[ri] + load[rj] > _room(capacity, both):
            continue
        if join(head, tail, nxt, prv, route, load, i, j, symmetric):
            serves[ri] = both
    order = np.empty(n - 1, dtype=np.int64)
    starts = np.empty(n - 1, dtype=np.int64)
    s, count = 0, 0
    for c in range(1, n):
        if route[c] == c:
            starts[count] = s
            count += 1
            node = head[c]
            while node != -1:
                order[s] = node
                s += 1
                node = nxt[node]
    return order, starts[:count].copy()
