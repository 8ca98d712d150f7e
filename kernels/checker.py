"""The one solution checker every solver's output passes through.

It works on a giant sequence (routes joined by depot 0) and returns a status
code with the offending node, so that the typed wrapper in ``nco.data`` can
raise an error that says what is wrong.
"""

import numpy as np
from numba import njit

OK = 0
BAD_START_END = 1  # the sequence does not start and end at the depot
UNKNOWN_NODE = 2  # a node id outside 1..n-1
REPEATED = 3  # a customer visited twice
MISSING = 4  # a customer never visited
OVER_CAPACITY = 5  # a route's load exceeds the capacity (detail: route index)
EMPTY_ROUTE = 6  # two depot visits in a row (detail: route index)
TOO_MANY_ROUTES = 7  # more routes than allowed (a TSP tour is one route)

MESSAGES = {
    OK: "ok",
    BAD_START_END: "the routes must start and end at the depot",
    UNKNOWN_NODE: "node {detail} is not a customer of this instance",
    REPEATED: "customer {detail} is visited more than once",
    MISSING: "customer {detail} is never visited",
    OVER_CAPACITY: "route {detail} carries more than the vehicle capacity",
    EMPTY_ROUTE: "route {detail} is empty",
    TOO_MANY_ROUTES: "{detail} routes given where at most the allowed number is",
}


@njit(cache=True)
def check_sequence(dist: np.ndarray, demand: np.ndarray, capacity: int, max_routes: int,
                   seq: np.ndarray) -> tuple[int, int, float]:
    """Check a giant sequence; return ``(code, detail, cost)``.

    ``max_routes < 0`` means unbounded. The cost is recomputed from ``dist``
    whatever the solver claimed.
    """
    n = dist.shape[0]
    m = seq.shape[0]
    if m < 2 or seq[0] != 0 or seq[m - 1] != 0:
        return BAD_START_END, 0, 0.0
    seen = np.zeros(n, dtype=np.bool_)
    route = 0
    load = 0
    length = 0
    cost = 0.0
    for i in range(1, m):
        node = seq[i]
        if node < 0 or node >= n:
            return UNKNOWN_NODE, node, 0.0
        cost += dist[seq[i - 1], node]
        if node == 0:
            if length == 0:
                return EMPTY_ROUTE, route, 0.0
            if load > capacity:
                return OVER_CAPACITY, route, 0.0
            route += 1
            load = 0
            length = 0
            continue
        if seen[node]:
            return REPEATED, node, 0.0
        seen[node] = True
        load += demand[node]
        length += 1
    for c in range(1, n):
        if not seen[c]:
            return MISSING, c, 0.0
    if max_routes >= 0 and route > max_routes:
        return TOO_MANY_ROUTES, route, 0.0
    return OK, 0, cost
