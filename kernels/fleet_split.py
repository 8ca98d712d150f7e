"""Split for fleets whose vehicles differ: cut a giant tour into trips, then give each trip a vehicle.

The cut is Prins' shortest path (:mod:`nco.kernels.split`) with each trip
priced at its cheapest vehicle kind (one representative per kind of identical
vehicles, ``fleet`` as in :mod:`nco.kernels.fleet_search`): fixed cost + rate
x distance - credits + penalised overload, a kind that may not serve a
customer of the trip excluded. The cut ignores how many vehicles of a kind
there are; the vehicles are then given trip by trip, the heaviest trips
(min-sum) or the longest (min-max) first, each to the vehicle that adds least
(min-max: whose time after it is least), among the unused ones or, when the
fleet reloads, all. A fleet without reloads that runs out of vehicles gets
the trip appended to the cheapest vehicle's trip (overloaded: the search
splits it again). This is simpler than Vidal's (2014) heterogeneous Split
with fleet limits, and the local search's vehicle moves repair what it misses.
"""

import numpy as np
from numba import njit

from .routes import load_cost


@njit(cache=True)
def _trip_price(d, demand, fleet, kinds, min_max, order, i, j, penalty, ok, credits, state):
    """Extend the trip ``order[i:j-1]`` by ``order[j-1]``: update its running load, distance, credits and the
    kinds that may serve it (``state = [load, inner distance]``, ``ok``, ``credits``), and return its price at
    the cheapest kind (inf when no kind may serve it)."""
    cap, rate, fixed, credit, allowed = fleet[0], fleet[1], fleet[2], fleet[3], fleet[4]
    c = order[j - 1]
    state[0] += demand[c]
    state[1] = d[0, c] if j == i + 1 else state[1] + d[order[j - 2], c]
    dist = state[1] + d[c, 0]
    price = np.inf
    for t in range(kinds.shape[0]):
        v = kinds[t]
        if ok[t] and not allowed[v, c]:
            ok[t] = False
        if not ok[t]:
            continue
        credits[t] += credit[v, c]
        p = rate[v] * dist - credits[t] + load_cost(int(state[0]), cap[v], penalty)
        if not min_max:
            p += fixed[v]
        price = min(price, p)
    return price


@njit(cache=True)
def _cut(d, demand, fleet, kinds, min_max, order, penalty, most):
    """The shortest-path cut into at most ``most`` trips (< 0: any number): ``(trip count, starts)`` where
    ``starts[k]`` is where trip ``k`` starts (trip ``count - 1`` ends at the end)."""
    n = order.shape[0]
    layers = n if most < 0 else min(n, most)
    # best[k, j]: the cheapest cut of order[:j] into k trips (with no limit, one layer holds every count)
    rows = 2 if most < 0 else layers + 1
    best = np.full((rows, n + 1), np.inf)
    pred = np.zeros((rows, n + 1), dtype=np.int64)
    best[0, 0] = 0.0
    limit = fleet[0].max() if penalty < 0 else 1.5 * fleet[0].max()
    ok = np.ones(kinds.shape[0], dtype=np.bool_)
    credits = np.zeros(kinds.shape[0])
    state = np.zeros(2)
    for k in range(rows - 1):
        src = 0 if most < 0 else k
        dst = src if most < 0 else k + 1
        for i in range(n):
            base = best[src, i]
            if base == np.inf:
                continue
            ok[:] = True
            credits[:] = 0.0
            state[:] = 0.0
            for j in range(i + 1, n + 1):
                price = _trip_price(d, demand, fleet, kinds, min_max, order, i, j, penalty, ok, credits, state)
                if (state[0] > limit and j > i + 1) or not ok.any():
                    break
                if base + price < best[dst, j]:
                    best[dst, j] = base + price
                    pred[dst, j] = i
        if most < 0:
            break
    # walk back from the cheapest layer that reaches the end
    if most < 0:
        k = 0
    else:
        k = 1 + int(np.argmin(best[1:, n]))
    starts = []
    j = n
    while j > 0:
        i = pred[k, j]
        starts.append(i)
        j = i
        if most >= 0:
            k -= 1
    out = np.zeros(len(starts), dtype=np.int64)
    for q in range(len(starts)):
        out[q] = starts[len(starts) - 1 - q]
    return out


@njit(cache=True)
def _price(d, demand, fleet, min_max, order, lo, hi, w, used, time_w, penalty, barred):
    """What trip ``order[lo:hi]`` adds when vehicle ``w`` drives it (min-max: ``w``'s time after it)."""
    cap, rate, fixed, credit, allowed = fleet[0], fleet[1], fleet[2], fleet[3], fleet[4]
    dist = d[0, order[lo]] + d[order[hi - 1], 0]
    load = 0
    extra = 0.0
    for q in range(lo, hi):
        c = order[q]
        load += demand[c]
        if q > lo:
            dist += d[order[q - 1], c]
        extra -= credit[w, c]
        if not allowed[w, c]:
            extra += barred
    extra += load_cost(load, cap[w], max(penalty, 0.0))
    if min_max:
        return time_w + rate[w] * dist + extra
    return rate[w] * dist + (0.0 if used else fixed[w]) + extra


@njit(cache=True)
def fleet_split(d, demand, fleet, kinds, multi_trip, min_max, order, penalty, barred):
    """Trips and vehicles for the customer ``order``: ``(giant sequence, vehicle of each trip)``."""
    n = order.shape[0]
    m = fleet[0].shape[0]
    # A fleet without reloads and fewer vehicles than customers: at most one trip per vehicle in the cut.
    most = m if (not multi_trip and m < n) else -1
    starts = _cut(d, demand, fleet, kinds, min_max, order, penalty, most)
    count = starts.shape[0]
    lo = starts
    hi = np.empty(count, dtype=np.int64)
    hi[:count - 1] = starts[1:]
    hi[count - 1] = n
    size = np.zeros(count)  # what orders the trips: load (min-sum) or distance (min-max)
    for k in range(count):
        for q in range(lo[k], hi[k]):
            if min_max:
                size[k] += d[order[q - 1] if q > lo[k] else 0, order[q]]
            else:
                size[k] += demand[order[q]]
        if min_max:
            size[k] += d[order[hi[k] - 1], 0]
    owner = np.full(count, -1, dtype=np.int64)
    trips = np.zeros(m, dtype=np.int64)
    time = np.zeros(m)
    tried = np.zeros(m, dtype=np.bool_)
    for t in np.argsort(-size, kind="mergesort"):
        best, best_w = np.inf, -1
        tried[:] = False
        for full in (False, True):  # a vehicle without reloads driving twice only when no other is left
            for w in range(m):
                if full != (trips[w] > 0 and not multi_trip):
                    continue
                if trips[w] == 0 and not full:
                    kind = fleet[5][w]
                    if tried[kind]:
                        continue
                    tried[kind] = True
                p = _price(d, demand, fleet, min_max, order, lo[t], hi[t], w, trips[w] > 0, time[w], penalty, barred)
                if p < best:
                    best, best_w = p, w
            if best_w >= 0:
                break
        owner[t] = best_w
        trips[best_w] += 1
        if min_max:
            time[best_w] = best
    return _sequence(order, lo, hi, owner, multi_trip, m)


@njit(cache=True)
def _sequence(order, lo, hi, owner, multi_trip, m):
    """The giant sequence of the trips, one per vehicle's trip (without reloads, a vehicle's trips joined)."""
    count = owner.shape[0]
    if multi_trip:
        trips = count
    else:
        seen = np.zeros(m, dtype=np.bool_)
        trips = 0
        for t in range(count):
            if not seen[owner[t]]:
                seen[owner[t]] = True
                trips += 1
    seq = np.zeros(order.shape[0] + trips + 1, dtype=np.int64)
    vehicles = np.zeros(trips, dtype=np.int64)
    pos, k = 1, 0
    done = np.zeros(count, dtype=np.bool_)
    for t in range(count):
        if done[t]:
            continue
        for u in range(t, count):
            if u == t or (not multi_trip and not done[u] and owner[u] == owner[t]):
                done[u] = True
                for q in range(lo[u], hi[u]):
                    seq[pos] = order[q]
                    pos += 1
            if multi_trip:
                break
        pos += 1
        vehicles[k] = owner[t]
        k += 1
    return seq, vehicles
