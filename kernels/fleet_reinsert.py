"""Penalised cheapest insertion into the trips of a fleet: how SREX's child gets back the customers it lost.

Trips come as a giant sequence (trips joined by depot 0) with the vehicle of
each. Each customer goes, in the order given, where it costs least: its
detour at the trip's vehicle rate plus ``penalty`` per unit of load it adds
above that vehicle's capacity (capacity is soft here, as in the search that
educates the child next); never onto a vehicle barred from it.
"""

import numpy as np
from numba import njit

from .fleet_search import fleet_routes
from .routes import build_state


@njit(cache=True)
def reinsert(d, demand, capacity, rate, allowed, seq, vehicles, missing, penalty):
    """``(sequence, vehicles)`` with each of ``missing`` inserted; a customer no trip's vehicle may serve
    gets a trip of its own on the first unused vehicle that may (there is one: a vehicle allowed to serve it
    that drives has a trip here, and every customer has an allowed vehicle)."""
    R, L, rt, ps, cf, cb, cl = build_state(d, demand, seq, missing.shape[0])  # a spare row per customer
    trips = vehicles.shape[0]
    owner = np.full(L.shape[0], -1, dtype=np.int64)
    owner[:trips] = vehicles
    load = np.array([cl[r, L[r] + 1] for r in range(L.shape[0])])
    used = np.zeros(capacity.shape[0], dtype=np.bool_)
    used[vehicles] = True
    for c in missing:
        best, best_t, best_p = np.inf, -1, 0
        for r in range(trips):
            v = owner[r]
            if not allowed[v, c]:
                continue
            over = max(0, load[r] + demand[c] - capacity[v]) - max(0, load[r] - capacity[v])
            for p in range(L[r] + 1):  # after position p (0: the depot)
                a, b = R[r, p], R[r, p + 1]  # the depot (0) after the last customer
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
        for q in range(L[r] + 1, best_p, -1):  # the customers after p and the closing depot move on
            R[r, q + 1] = R[r, q]
        R[r, best_p + 1] = c
        L[r] += 1
        load[r] += demand[c]
    return fleet_routes((R, L, cf, cl, owner, np.zeros(0), np.zeros(0, dtype=np.int64)))
