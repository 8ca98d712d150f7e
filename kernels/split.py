"""Split (Prins 2004; Vidal 2016): cut a giant tour into capacity-feasible routes.

For a fixed customer order the cut is optimal: a shortest path over the
acyclic graph whose arc ``(i, j)`` is the route serving ``order[i:j]``.
Works on asymmetric matrices (route costs are summed in travel direction).
"""

import numpy as np
from numba import njit


@njit(cache=True)
def split(dist: np.ndarray, demand: np.ndarray, capacity: int, order: np.ndarray,
          penalty: float = -1.0) -> tuple[float, np.ndarray]:
    """Optimal routes for the customer ``order``; returns ``(cost, giant_sequence)``.

    Unlimited fleet. With ``penalty < 0`` capacity is hard (every single
    demand must fit, which the instance guarantees); otherwise a route may
    carry up to 1.5 times the capacity, each unit above it costing ``penalty``
    (as HGS does), and the cost includes those penalties. O(n * customers per route).
    """
    n = order.shape[0]
    best = np.full(n + 1, np.inf)
    pred = np.zeros(n + 1, dtype=np.int64)
    best[0] = 0.0
    limit = capacity if penalty < 0 else 1.5 * capacity
    for i in range(n):
        load = 0
        inner = 0.0
        for j in range(i + 1, n + 1):
            c = order[j - 1]
            load += demand[c]
            if load > limit and j > i + 1:
                break
            if j == i + 1:
                inner = dist[0, c]
            else:
                inner += dist[order[j - 2], c]
            total = best[i] + inner + dist[c, 0]
            if load > capacity:
                total += penalty * (load - capacity) if penalty >= 0 else np.inf
            if total < best[j]:
                best[j] = total
                pred[j] = i
    # Walk back through the predecessors to count routes, then write them out.
    routes = 0
    j = n
    while j > 0:
        routes += 1
        j = int(pred[j])
    seq = np.empty(n + routes + 1, dtype=np.int64)
    pos = seq.shape[0] - 1
    seq[pos] = 0
    j = n
    while j > 0:
        i = int(pred[j])
        for k in range(j - 1, i - 1, -1):
            pos -= 1
            seq[pos] = order[k]
        pos -= 1
        seq[pos] = 0
        j = i
    return float(best[n]), seq
