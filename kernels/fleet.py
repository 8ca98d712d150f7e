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
