"""Kernels of the genetic search: order crossover and the broken-pairs distance between solutions."""

import numpy as np
from numba import njit


@njit(cache=True)
def order_crossover(parent_a: np.ndarray, parent_b: np.ndarray, start: int, end: int) -> np.ndarray:
    """OX: copy ``parent_a[start..end]`` (cyclic, inclusive), fill the rest in ``parent_b``'s order after ``end``."""
    n = parent_a.shape[0]
    child = np.empty(n, dtype=np.int64)
    taken = np.zeros(n + 1, dtype=np.bool_)  # customers are 1..n
    k = start
    while True:
        child[k] = parent_a[k]
        taken[parent_a[k]] = True
        if k == end:
            break
        k = (k + 1) % n
    pos = (end + 1) % n
    for t in range(n):
        c = parent_b[(end + 1 + t) % n]
        if not taken[c]:
            child[pos] = c
            taken[c] = True
            pos = (pos + 1) % n
    return child


@njit(cache=True)
def neighbours_in_routes(seq: np.ndarray, num_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Successor and predecessor (0 for the depot) of every customer in a giant sequence."""
    succ = np.zeros(num_nodes, dtype=np.int64)
    pred = np.zeros(num_nodes, dtype=np.int64)
    for i in range(1, seq.shape[0] - 1):
        c = seq[i]
        if c != 0:
            pred[c] = seq[i - 1]
            succ[c] = seq[i + 1]
    return succ, pred


@njit(cache=True)
def broken_pairs(succ_a, pred_a, succ_b, pred_b, symmetric: bool) -> float:
    """Share of customers whose successor in A is no neighbour in B (Vidal et al. 2012), in [0, 1].

    On symmetric instances an edge counts in either direction; on asymmetric
    ones only the successor counts.
    """
    n = succ_a.shape[0] - 1
    broken = 0
    for c in range(1, n + 1):
        if succ_a[c] != succ_b[c] and (not symmetric or succ_a[c] != pred_b[c]):
            broken += 1
    return broken / max(1, n)
