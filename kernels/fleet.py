"""The checker for fleets whose vehicles differ (capacity, allowed customers, one trip or several).

Routes come as one giant sequence (trips joined by depot 0, as in
:mod:`nco.kernels.checker`) with the vehicle of each trip. The checker
verifies every constraint and returns each vehicle's distance and trip count,
from which ``nco.data.pvrp`` composes the objective (times, costs,
preferences); its codes extend the single-fleet checker's.
"""

import numpy as np
from numba import njit

from .checker import (BAD_START_END, EMPTY_ROUTE, MESSAGES, MISSING, OK, OVER_CAPACITY, REPEATED, UNKNOWN_NODE)

UNKNOWN_VEHICLE = 8  # a trip's vehicle is not one of the fleet's (detail: trip index)
NOT_ALLOWED = 9  # a customer served by a vehicle that may not serve it (detail: customer)
SECOND_TRIP = 10  # a vehicle without reloading given a second trip (detail: vehicle)
TRIP_COUNT = 11  # not one vehicle per trip (detail: vehicles given)

FLEET_MESSAGES = {
    **MESSAGES,
    OVER_CAPACITY: "route {detail} carries more than its vehicle's capacity",
    UNKNOWN_VEHICLE: "route {detail} is assigned to a vehicle the fleet does not have",
    NOT_ALLOWED: "customer {detail} is served by a vehicle that may not serve it",
    SECOND_TRIP: "vehicle {detail} makes more than one trip, and this fleet does not reload",
    TRIP_COUNT: "{detail} vehicles given; expected one per route",
}


@njit(cache=True)
def check_fleet(dist: np.ndarray, demand: np.ndarray, capacity: np.ndarray, allowed: np.ndarray,
                multi_trip: bool, seq: np.ndarray, vehicles: np.ndarray) -> tuple[int, int, np.ndarray, np.ndarray]:
    """Check trips ``seq`` (a giant sequence) of ``vehicles`` (one per trip) against the fleet.

    ``capacity [m]`` and ``allowed [m, n]`` (column 0, the depot, unused) are
    per vehicle. Returns ``(code, detail, distance [m], trips [m])``: each
    vehicle's recomputed distance and its number of trips (valid when the code
    is ``OK``).
    """
    n = dist.shape[0]
    m = capacity.shape[0]
    distance = np.zeros(m)
    trips = np.zeros(m, dtype=np.int64)
    size = seq.shape[0]
    if size < 2 or seq[0] != 0 or seq[size - 1] != 0:
        return BAD_START_END, 0, distance, trips
    count = 0
    for i in range(1, size):
        if seq[i] == 0:
            count += 1
    if count != vehicles.shape[0]:
        return TRIP_COUNT, vehicles.shape[0], distance, trips
    seen = np.zeros(n, dtype=np.bool_)
    trip = 0
    load = 0
    length = 0
    for i in range(1, size):
        node = seq[i]
        if node < 0 or node >= n:
            return UNKNOWN_NODE, node, distance, trips
        v = vehicles[trip]
        if v < 0 or v >= m:
            return UNKNOWN_VEHICLE, trip, distance, trips
        distance[v] += dist[seq[i - 1], node]
        if node == 0:
            if length == 0:
                return EMPTY_ROUTE, trip, distance, trips
            if load > capacity[v]:
                return OVER_CAPACITY, trip, distance, trips
            trips[v] += 1
            if trips[v] > 1 and not multi_trip:
                return SECOND_TRIP, v, distance, trips
            trip += 1
            load = 0
            length = 0
            continue
        if seen[node]:
            return REPEATED, node, distance, trips
        if not allowed[v, node]:
            return NOT_ALLOWED, node, distance, trips
        seen[node] = True
        load += demand[node]
        length += 1
    for c in range(1, n):
        if not seen[c]:
            return MISSING, c, distance, trips
    return OK, 0, distance, trips


@njit(cache=True)
def _trip_time_after(dist, route_nodes, length, pos, c):
    """The distance of trip ``route_nodes[:length]`` with ``c`` inserted before position ``pos``, less its own."""
    before = 0 if pos == 0 else route_nodes[pos - 1]
    after = 0 if pos == length else route_nodes[pos]
    return dist[before, c] + dist[c, after] - dist[before, after]


@njit(cache=True)
def cheapest_insertion(dist, demand, capacity, speed, fixed, unit, preference, allowed, multi_trip, min_max,
                       time_weight, preference_weight, order):
    """Insert the customers of ``order`` one by one where they cost least, in an existing trip with room or
    a new one (a reloading vehicle's next trip, or an unused vehicle's first).

    Min-sum prices an insertion as ``(unit + time_weight / speed) x`` the added distance, minus the
    preference credit, plus the fixed cost of a vehicle it puts to use; min-max as the longest vehicle time
    after it, then the vehicle's added time. ``allowed [m, n]`` and ``preference [m, n]`` cover all nodes
    (column 0 unused). Returns ``(giant sequence, vehicle of each trip)``, or an empty sequence when a
    customer fits nowhere.
    """
    n = dist.shape[0]
    m = capacity.shape[0]
    most = n  # trips: at most one per customer
    trips = np.zeros((most, n), dtype=np.int64)
    length = np.zeros(most, dtype=np.int64)
    load = np.zeros(most, dtype=np.int64)
    owner = np.full(most, -1, dtype=np.int64)
    count = 0
    used = np.zeros(m, dtype=np.int64)  # trips per vehicle
    time = np.zeros(m)  # travel time per vehicle
    for idx in range(order.shape[0]):
        c = order[idx]
        longest = time.max()
        best, best_tie, best_trip, best_pos, best_vehicle = np.inf, np.inf, -2, 0, -1
        for t in range(count + m):  # existing trips, then a new trip for each vehicle
            if t < count:
                v = owner[t]
                if load[t] + demand[c] > capacity[v]:
                    continue
                positions = length[t] + 1
            else:
                v = t - count
                if used[v] > 0 and not multi_trip:
                    continue
                if demand[c] > capacity[v]:
                    continue
                positions = 1
            if not allowed[v, c]:
                continue
            for p in range(positions):
                if t < count:
                    added = _trip_time_after(dist, trips[t], length[t], p, c)
                else:
                    added = dist[0, c] + dist[c, 0]
                if min_max:
                    score = max(longest, time[v] + added / speed[v])
                    tie = added / speed[v]
                else:
                    score = (unit[v] + time_weight / speed[v]) * added - preference_weight * preference[v, c]
                    if used[v] == 0:
                        score += fixed[v]
                    tie = 0.0
                if score < best - 1e-12 or (score <= best + 1e-12 and tie < best_tie):
                    best, best_tie, best_trip, best_pos, best_vehicle = score, tie, t, p, v
        if best_vehicle < 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        t = best_trip
        if t >= count:  # open the trip
            t = count
            owner[t] = best_vehicle
            used[best_vehicle] += 1
            count += 1
            added = dist[0, c] + dist[c, 0]
        else:
            added = _trip_time_after(dist, trips[t], length[t], best_pos, c)
        for q in range(length[t], best_pos, -1):
            trips[t, q] = trips[t, q - 1]
        trips[t, best_pos] = c
        length[t] += 1
        load[t] += demand[c]
        time[best_vehicle] += added / speed[best_vehicle]
    seq = np.zeros(1 + order.shape[0] + count, dtype=np.int64)
    vehicles = np.zeros(count, dtype=np.int64)
    k = 1
    for t in range(count):
        for q in range(length[t]):
            seq[k] = trips[t, q]
            k += 1
        k += 1  # the depot between trips
        vehicles[t] = owner[t]
    return seq, vehicles
