"""Constructive heuristics as kernels: nearest neighbour and Clarke-Wright savings.

Both return a giant sequence (routes joined by depot 0). A TSP is solved by
passing zero demands, so capacity never binds and one route results.
"""

import numpy as np
from numba import njit


@njit(cache=True)
def nearest_neighbour(dist: np.ndarray, demand: np.ndarray, capacity: int) -> np.ndarray:
    """From the depot, always go to the nearest unvisited customer that still fits; else return."""
    n = dist.shape[0]
    visited = np.zeros(n, dtype=np.bool_)
    seq = np.zeros(2 * n, dtype=np.int64)
    m = 1
    cur = 0
    load = 0
    left = n - 1
    while left > 0:
        best = -1
        best_d = np.inf
        for c in range(1, n):
            if not visited[c] and load + demand[c] <= capacity and dist[cur, c] < best_d:
                best = c
                best_d = dist[cur, c]
        if best == -1:  # nothing fits: close this route
            seq[m] = 0
            m += 1
            cur = 0
            load = 0
            continue
        visited[best] = True
        seq[m] = best
        m += 1
        cur = best
        load += demand[best]
        left -= 1
    seq[m] = 0
    return seq[: m + 1].copy()


@njit(cache=True)
def _reverse(head, tail, nxt, prv, r):
    """Reverse route ``r`` in the linked lists (symmetric instances only)."""
    c = head[r]
    while c != -1:
        after = nxt[c]
        nxt[c] = prv[c]
        prv[c] = after
        c = after
    head[r], tail[r] = tail[r], head[r]


@njit(cache=True)
def join(head, tail, nxt, prv, route, load, i, j, symmetric):
    """Append the route holding ``j`` to the one holding ``i`` when ``i`` ends the first and ``j`` starts the
    second (on symmetric instances either is reversed to make it so); ``False`` when they cannot be joined
    there. Every customer of the appended route takes the first one's ``route`` label."""
    ri, rj = route[i], route[j]
    if symmetric:
        if tail[ri] != i and head[ri] == i:
            _reverse(head, tail, nxt, prv, ri)
        if head[rj] != j and tail[rj] == j:
            _reverse(head, tail, nxt, prv, rj)
    if tail[ri] != i or head[rj] != j:
        return False
    nxt[i] = j
    prv[j] = i
    tail[ri] = tail[rj]
    load[ri] += load[rj]
    c = j
    while c != -1:
        route[c] = ri
        c = nxt[c]
    return True


GRANULAR_FROM = 1000  # nodes from which savings weighs only pairs of near neighbours (all pairs: O(n^2 log n))
GRANULAR_NEIGHBOURS = 40


def savings(dist: np.ndarray, demand: np.ndarray, capacity: int, symmetric: bool,
            single_route: bool = False) -> np.ndarray:
    """Parallel Clarke-Wright savings (1964) as a giant sequence.

    Start with one route per customer and merge the end of one route with the
    start of another in decreasing order of ``d[i,0] + d[0,j] - d[i,j]`` while
    capacity allows. On asymmetric matrices only the travel direction counts;
    on symmetric ones a route may be reversed to join end to end. With
    ``single_route`` (a TSP) merging goes on past non-positive savings until
    one route is left. From :data:`GRANULAR_FROM` nodes on, only the pairs of
    each customer's :data:`GRANULAR_NEIGHBOURS` nearest are weighed (the
    granular savings of large-instance heuristics: at 3,000 nodes all 9 million
    pairs took 4.5 s); a TSP's remaining paths are then joined in one tour.
    """
    from .search import neighbour_lists

    n = dist.shape[0]
    near = neighbour_lists(dist, GRANULAR_NEIGHBOURS) if n >= GRANULAR_FROM else np.zeros((n, 0), dtype=np.int64)
    return _savings(dist, demand, capacity, symmetric, single_route, near)


@njit(cache=True)
def _pairs(dist: np.ndarray, near: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Savings and ends ``(value, i, j)`` of every ordered customer pair, or of each customer and its ``near``
    ones in both directions when ``near`` has columns."""
    n = dist.shape[0]
    m = n - 1
    num_pairs = m * (m - 1) if near.shape[1] == 0 else 2 * m * near.shape[1]
    value = np.empty(num_pairs)
    pi = np.empty(num_pairs, dtype=np.int64)
    pj = np.empty(num_pairs, dtype=np.int64)
    t = 0
    for i in range(1, n):
        if near.shape[1] == 0:
            for j in range(1, n):
                if i != j:
                    value[t] = dist[i, 0] + dist[0, j] - dist[i, j]
                    pi[t] = i
                    pj[t] = j
                    t += 1
        else:
            for c in range(near.shape[1]):
                j = near[i, c]
                value[t] = dist[i, 0] + dist[0, j] - dist[i, j]
                pi[t], pj[t] = i, j
                value[t + 1] = dist[j, 0] + dist[0, i] - dist[j, i]
                pi[t + 1], pj[t + 1] = j, i
                t += 2
    return value[:t], pi[:t], pj[:t]


@njit(cache=True)
def _savings(dist: np.ndarray, demand: np.ndarray, capacity: int, symmetric: bool, single_route: bool,
             near: np.ndarray) -> np.ndarray:
    n = dist.shape[0]
    value, pi, pj = _pairs(dist, near)
    num_pairs = value.shape[0]
    order = np.argsort(-value, kind="mergesort")
    route = np.arange(n)
    head = np.arange(n)
    tail = np.arange(n)
    load = demand.astype(np.int64).copy()
    nxt = np.full(n, -1, dtype=np.int64)
    prv = np.full(n, -1, dtype=np.int64)
    for q in range(num_pairs):
        k = order[q]
        if value[k] <= 0.0 and not single_route:
            break
        i = pi[k]
        j = pj[k]
        ri = route[i]
        rj = route[j]
        if ri == rj or load[ri] + load[rj] > capacity:
            continue
        join(head, tail, nxt, prv, route, load, i, j, symmetric)
    seq = np.zeros(2 * n, dtype=np.int64)
    s = 1
    for c in range(1, n):
        if route[c] == c and head[c] != -1:
            node = head[c]
            while node != -1:
                seq[s] = node
                s += 1
                node = nxt[node]
            if not single_route:  # a TSP's paths (left apart by granular pairs) join into one tour
                seq[s] = 0
                s += 1
    if single_route:
        seq[s] = 0
        s += 1
    return seq[:s].copy()
