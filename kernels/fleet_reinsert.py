"""Penalised cheapest insertion into the trips of a fleet: how SREX's child gets back the customers it lost.

Trips come as a giant sequence (trips joined by depot 0) with the vehicle of
each. Each customer goes, in the order given, where it costs least: its
detour at the trip's vehicle rate plus ``penalty`` per unit of load it adds
above that vehicle's capacity (capacity is soft here, as in the search that
educates the child next); never onto a vehicle barred from it.
"""

import numpy as np
from numba import njit


@njit(cache=True)
def reinsert(d, demand, capacity, rate, allowed, seq, vehicles, missing, penalty):
    """``(sequence, vehicles)`` with each of ``missing`` inserted; a customer no trip's vehicle may serve
    gets a trip of its own on the first unused vehicle that may (there is one: a vehicle allowed to serve it
    that drives has a trip here, and every customer has an allowed vehicle)."""
    m = vehicles.shape[0]
    width = seq.shape[0] + missing.shape[0] + 2
    rows = np.zeros((m + missing.shape[0], width), dtype=np.int64)
    length = np.zeros(m + missing.shape[0], dtype=np.int64)
    load = np.zeros(m + missing.shape[0], dtype=np.int64)
    owner = np.full(m + missing.shape[0], -1, dtype=np.int64)
    used = np.zeros(capacity.shape[0], dtype=np.bool_)
    t = -1
    for k in range(1, seq.shape[0]):
        if seq[k - 1] == 0 and seq[k] != 0:
            t += 1
            owner[t] = vehicles[t]
            used[vehicles[t]] = True
        if seq[k] != 0:
            rows[t, 1 + length[t]] = seq[k]
            length[t] += 1
            load[t] += demand[seq[k]]
    trips = t + 1
    for c in missing:
        best, best_t, best_p = np.inf, -1, 0
        for r in range(trips):
            v = owner[r]
            if not allowed[v, c]:
                continue
            over = max(0, load[r] + demand[c] - capacity[v]) - max(0, load[r] - capacity[v])
            for p in range(length[r] + 1):  # after position p (0: the depot)
                a, b = rows[r, p], rows[r, p + 1]  # the depot (0) after the last customer
                cost = rate[v] * (d[a, c] + d[c, b] - d[a, b]) + penalty * over
                if cost < best:
                    best, best_t, best_p = cost, r, p
        if best_t < 0:
            for v in range(capacity.shape[0]):
                if not used[v] and allowed[v, c]:
                    best_t, best_p = trips, 0
                    owner[trips], used[v] = v, True
                    trips += 1
                    break
            if best_t < 0:
                raise ValueError("reinsert: no vehicle may serve a customer")
        r = best_t
        for q in range(length[r], best_p, -1):
            rows[r, q + 1] = rows[r, q]
        rows[r, best_p + 1] = c
        length[r] += 1
        load[r] += demand[c]
    out = np.zeros(seq.shape[0] + missing.shape[0] + trips + 1, dtype=np.int64)
    k = 1
    for r in range(trips):
        for q in range(1, length[r] + 1):
            out[k] = rows[r, q]
            k += 1
        k += 1
    return out[:k], owner[:trips].copy()
