"""Costs of tours and routes read from a distance matrix, single and batched.

A CVRP solution is passed to kernels as a *giant sequence*: the routes joined
by depot visits, ``[0, a, b, 0, c, 0]``. A TSP tour is a closed permutation.
"""

import numpy as np
from numba import njit, prange


@njit(cache=True)
def tour_cost(dist: np.ndarray, tour: np.ndarray) -> float:
    """Length of the closed tour ``tour`` (last node back to the first)."""
    n = tour.shape[0]
    total = 0.0
    for i in range(n - 1):
        total += dist[tour[i], tour[i + 1]]
    return total + dist[tour[n - 1], tour[0]]


@njit(cache=True)
def sequence_cost(dist: np.ndarray, seq: np.ndarray) -> float:
    """Length of the open path ``seq`` (a giant sequence starts and ends at 0)."""
    total = 0.0
    for i in range(seq.shape[0] - 1):
        total += dist[seq[i], seq[i + 1]]
    return total


@njit(cache=True, parallel=True)
def batch_tour_cost(dist: np.ndarray, tours: np.ndarray) -> np.ndarray:
    """Lengths of many closed tours ``[B, n]`` on one matrix, in parallel."""
    out = np.empty(tours.shape[0])
    for b in prange(tours.shape[0]):
        out[b] = tour_cost(dist, tours[b])
    return out


@njit(cache=True, parallel=True)
def batch_tour_length(coords: np.ndarray, tours: np.ndarray) -> np.ndarray:
    """Euclidean lengths of closed tours ``[B, n]`` over per-instance coordinates ``[B, n, 2]``.

    The case of neural training and evaluation: every instance has its own
    points, so no matrix is built.
    """
    batch, n = tours.shape
    out = np.empty(batch)
    for b in prange(batch):
        total = 0.0
        for i in range(n):
            a = tours[b, i]
            c = tours[b, (i + 1) % n]
            dx = coords[b, a, 0] - coords[b, c, 0]
            dy = coords[b, a, 1] - coords[b, c, 1]
            total += np.sqrt(dx * dx + dy * dy)
        out[b] = total
    return out


@njit(cache=True, parallel=True)
def batch_sequence_cost(dist: np.ndarray, seqs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Costs of many giant sequences on one matrix; row ``b`` uses ``seqs[b, :lengths[b]]``."""
    out = np.empty(seqs.shape[0])
    for b in prange(seqs.shape[0]):
        out[b] = sequence_cost(dist, seqs[b, : lengths[b]])
    return out
