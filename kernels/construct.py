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
def savings(dist: np.ndarray, demand: np.ndarray, capacity: int, symmetric: bool,
            single_route: bool = False) -> np.ndarray:
    """Parallel Clarke-Wright savings (1964).

    Start with one route per customer and merge the end of one route with the
    start of another in decreasing order of ``d[i,0] + d[0,j] - d[i,j]`` while
    capacity allows. On asymmetric matrices only the travel direction counts;
    on symmetric ones a route may be reversed to join end to end. With
    ``single_route`` (a TSP) merging goes on past non-positive savings until
    one route is left.
    """
    n = dist.shape[0]
    m = n - 1
    num_pairs = m * (m - 1)
    value = np.empty(num_pairs)
    pi = np.empty(num_pairs, dtype=np.int64)
    pj = np.empty(num_pairs, dtype=np.int64)
    t = 0
    for i in range(1, n):
        for j in range(1, n):
            if i != j:
                value[t] = dist[i, 0] + dist[0, j] - dist[i, j]
                pi[t] = i
                pj[t] = j
                t += 1
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
        if symmetric:
            if tail[ri] != i and head[ri] == i:
                _reverse(head, tail, nxt, prv, ri)
            if head[rj] != j and tail[rj] == j:
                _reverse(head, tail, nxt, prv, rj)
        if tail[ri] != i or head[rj] != j:
            continue
        nxt[i] = j
        prv[j] = i
        tail[ri] = tail[rj]
        load[ri] += load[rj]
        c = j
        while c != -1:
            route[c] = ri
            c = nxt[c]
    seq = np.zeros(2 * n, dtype=np.int64)
    s = 1
    for c in range(1, n):
        if route[c] == c and head[c] != -1:
            node = head[c]
            while node != -1:
                seq[s] = node
                s += 1
                node = nxt[node]
            seq[s] = 0
            s += 1
    return seq[:s].copy()
