"""Plain-Python references that the Numba kernels are tested against."""

from __future__ import annotations

import numpy as np


def routes_cost(d: np.ndarray, routes: list[list[int]]) -> float:
    total = 0.0
    for route in routes:
        path = [0, *route, 0]
        total += sum(d[a, b] for a, b in zip(path, path[1:]))
    return total


def feasible(demand: np.ndarray, capacity: int, routes: list[list[int]]) -> bool:
    return all(sum(demand[c] for c in r) <= capacity for r in routes)


def relocate(routes, r, i, k, s, p):
    """Move customers at 1-based positions i..i+k-1 of route r to after position p of route s."""
    out = [list(x) for x in routes]
    seg = out[r][i - 1:i - 1 + k]
    if r == s:
        full = [0, *out[r], 0]
        rest = [(q, node) for q, node in enumerate(full) if not (i <= q < i + k)]
        new = []
        for q, node in rest:
            new.append(node)
            if q == p:
                new.extend(seg)
        out[r] = new[1:-1]
    else:
        del out[r][i - 1:i - 1 + k]
        out[s][p:p] = seg
    return out


def swap(routes, r, i, s, j):
    out = [list(x) for x in routes]
    out[r][i - 1], out[s][j - 1] = out[s][j - 1], out[r][i - 1]
    return out


def two_opt(routes, r, i, j):
    """Reverse 1-based positions i+1..j of route r."""
    out = [list(x) for x in routes]
    full = [0, *out[r], 0]
    full[i + 1:j + 1] = full[i + 1:j + 1][::-1]
    out[r] = full[1:-1]
    return out


def two_opt_star(routes, r, i, s, j):
    """Route r keeps positions 0..i and takes route s's tail after j, and vice versa."""
    out = [list(x) for x in routes]
    a, b = out[r], out[s]
    out[r] = a[:i] + b[j:]
    out[s] = b[:j] + a[i:]
    return out


def split_brute_force(d, demand, capacity, order) -> float:
    """Best cost over every way of cutting ``order`` into consecutive feasible routes."""
    n = len(order)
    best = np.inf
    for mask in range(1 << max(0, n - 1)):
        routes, cur = [], [order[0]]
        for k in range(1, n):
            if mask >> (k - 1) & 1:
                routes.append(cur)
                cur = []
            cur.append(order[k])
        routes.append(cur)
        if feasible(demand, capacity, routes):
            best = min(best, routes_cost(d, routes))
    return best


def swap_star_candidates(routes, r, s):
    """Every exchange of one customer of route r with one of route s, each inserted anywhere in the other route."""
    out = []
    for i, u in enumerate(routes[r]):
        for j, v in enumerate(routes[s]):
            rest_r = routes[r][:i] + routes[r][i + 1:]
            rest_s = routes[s][:j] + routes[s][j + 1:]
            for a in range(len(rest_r) + 1):
                for b in range(len(rest_s) + 1):
                    new = [list(x) for x in routes]
                    new[r] = rest_r[:a] + [v] + rest_r[a:]
                    new[s] = rest_s[:b] + [u] + rest_s[b:]
                    out.append(new)
    return out


def neighbour_lists(dist: np.ndarray, k: int) -> np.ndarray:
    """Each customer's ``k`` nearest others by ``d[i, j] + d[j, i]``, by a stable sort of the whole row."""
    n = dist.shape[0]
    k = max(0, min(k, n - 2))
    out = np.zeros((n, k), dtype=np.int64)
    for i in range(1, n):
        ids = np.array([j for j in range(1, n) if j != i], dtype=np.int64)
        out[i] = ids[np.argsort(dist[i, ids] + dist[ids, i], kind="mergesort")[:k]]
    return out
