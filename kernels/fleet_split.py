"""Split for fleets whose vehicles differ: cut a giant tour into trips, then give each trip a vehicle.

The cut is Prins' shortest path (:mod:`nco.kernels.split`) with each trip
priced at a vehicle kind (one representative per kind of identical vehicles,
``fleet`` as in :mod:`nco.kernels.fleet_search`): fixed cost + rate x
distance - credits + penalised overload, a kind that may not serve a customer
of the trip excluded. A min-sum fleet without reloads and with fewer vehicles
than customers is cut with labels (Prins 2009: a few non-dominated labels per
position, each with the vehicles it used of each kind), so that no kind
drives more trips than it has vehicles, and each trip goes to a vehicle of
its kind. Otherwise the cut takes each trip's cheapest kind, whatever their
counts (at most one trip per vehicle when the fleet does not reload), and the
vehicles are given trip by trip, the heaviest trips (min-sum) or the longest
(min-max) first, each to the vehicle that adds least (min-max: whose time
after it is least), among the unused ones or, when the fleet reloads, all; a
fleet without reloads that runs out of vehicles gets the trip appended to the
cheapest vehicle's trip (overloaded: the search splits it again).
"""

import numpy as np
from numba import njit

from .routes import load_cost

LABELS = 4  # labels kept per position by the limited-fleet cut


@njit(cache=True)
def _trip_price(d, demand, fleet, kinds, min_max, order, i, j, penalty, ok, credits, state, prices):
    """Extend the trip ``order[i:j-1]`` by ``order[j-1]``: update its running load, distance, credits and the
    kinds that may serve it (``state = [load, inner distance]``, ``ok``, ``credits``), write its price at each
    kind into ``prices`` (inf where the kind may not serve it) and return the cheapest."""
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
        prices[t] = np.inf
        if not ok[t]:
            continue
        credits[t] += credit[v, c]
        prices[t] = rate[v] * dist - credits[t] + load_cost(int(state[0]), cap[v], penalty)
        if not min_max:
            prices[t] += fixed[v]
        price = min(price, prices[t])
    return price


@njit(cache=True)
def _cut(d, demand, fleet, kinds, min_max, order, penalty, most):
    """The shortest-path cut into at most ``most`` trips (< 0: any number): ``starts``, where ``starts[k]`` is
    where trip ``k`` starts in ``order`` (the last trip ends at the end)."""
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
    prices = np.zeros(kinds.shape[0])
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
                price = _trip_price(d, demand, fleet, kinds, min_max, order, i, j, penalty, ok, credits, state, prices)
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
def _labelled_cut(d, demand, fleet, kinds, available, order, penalty):
    """The cut for a limited fleet (Prins 2009): each position keeps up to ``LABELS`` non-dominated labels,
    each a cost and the vehicles it used of each kind, so no kind drives more trips than it has vehicles.
    Returns ``(starts, kind of each trip)``, both empty when no label reaches the end."""
    n = order.shape[0]
    K = kinds.shape[0]
    cost = np.full((n + 1, LABELS), np.inf)
    used = np.zeros((n + 1, LABELS, K), dtype=np.int64)
    back = np.full((n + 1, LABELS, 3), -1, dtype=np.int64)  # (start, its label, kind)
    cost[0, 0] = 0.0
    limit = 1.5 * fleet[0].max() if penalty >= 0 else fleet[0].max()
    ok = np.ones(K, dtype=np.bool_)
    credits = np.zeros(K)
    state = np.zeros(2)
    prices = np.zeros(K)
    for i in range(n):
        ok[:] = True
        credits[:] = 0.0
        state[:] = 0.0
        for j in range(i + 1, n + 1):
            _trip_price(d, demand, fleet, kinds, False, order, i, j, penalty, ok, credits, state, prices)
            if (state[0] > limit and j > i + 1) or not ok.any():
                break
            for t in range(K):  # a kind loaded past 1.5 times its capacity is not worth a label
                if state[0] > 1.5 * fleet[0][kinds[t]]:
                    prices[t] = np.inf
            for a in range(LABELS):
                if cost[i, a] == np.inf:
                    continue
                for t in range(K):
                    if prices[t] == np.inf or used[i, a, t] >= available[t]:
                        continue
                    _add_label(cost, used, back, j, cost[i, a] + prices[t], used[i, a], i, a, t)
    best = int(np.argmin(cost[n]))
    if cost[n, best] == np.inf:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    count = int(used[n, best].sum())
    starts = np.zeros(count, dtype=np.int64)
    kind = np.zeros(count, dtype=np.int64)
    j, a = n, best
    for q in range(count - 1, -1, -1):
        starts[q], kind[q] = back[j, a, 0], back[j, a, 2]
        j, a = back[j, a, 0], back[j, a, 1]
    return starts, kind


@njit(cache=True)
def _add_label(cost, used, back, j, value, counts, i, a, t):
    """Offer position ``j`` the label ``value`` with ``counts`` plus one trip of kind ``t`` (from label ``a``
    of position ``i``): kept unless a label there is no dearer with no more vehicles of any kind; it drops the
    labels it dominates, or the dearest when all are taken."""
    K = counts.shape[0]
    slot = -1
    worst = 0
    for b in range(cost.shape[1]):  # all taken and all cheaper: nothing to compare
        if cost[j, b] > cost[j, worst]:
            worst = b
    if cost[j, worst] < value and cost[j, worst] != np.inf:
        return
    for b in range(cost.shape[1]):
        if cost[j, b] == np.inf:
            if slot < 0:
                slot = b
            continue
        fewer = True  # label b uses no more of any kind
        more = True  # label b uses no fewer of any kind
        for k in range(K):
            mine = counts[k] + (1 if k == t else 0)
            if used[j, b, k] > mine:
                fewer = False
            if used[j, b, k] < mine:
                more = False
        if fewer and cost[j, b] <= value:
            return
        if more and cost[j, b] >= value:
            cost[j, b] = np.inf
            if slot < 0:
                slot = b
    if slot < 0:
        slot = int(np.argmax(cost[j]))
        if cost[j, slot] <= value:
            return
    cost[j, slot] = value
    used[j, slot] = counts
    used[j, slot, t] += 1
    back[j, slot, 0], back[j, slot, 1], back[j, slot, 2] = i, a, t


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
    extra += load_cost(load, cap[w], max(penalty, 0.0))  # hard capacities (< 0): the search splits it
    if min_max:
        return time_w + rate[w] * dist + extra
    return rate[w] * dist + (0.0 if used else fixed[w]) + extra


@njit(cache=True)
def fleet_split(d, demand, fleet, kinds, multi_trip, min_max, order, penalty, barred):
    """Trips and vehicles for the customer ``order``: ``(giant sequence, vehicle of each trip)``."""
    n = order.shape[0]
    m = fleet[0].shape[0]
    limited = not multi_trip and m < n  # a fleet without reloads, smaller than one vehicle per customer
    if limited and not min_max:
        starts, kind = _labelled_cut(d, demand, fleet, kinds, np.bincount(fleet[5]), order, penalty)
        if starts.shape[0]:
            return _by_kind(order, starts, kind, fleet[5], m)
    starts = _cut(d, demand, fleet, kinds, min_max, order, penalty, m if limited else -1)
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
def _by_kind(order, starts, kind, vehicle_kind, m):
    """The trips of a labelled cut, each given the next unused vehicle of its kind."""
    count = starts.shape[0]
    hi = np.empty(count, dtype=np.int64)
    hi[:count - 1] = starts[1:]
    hi[count - 1] = order.shape[0]
    owner = np.zeros(count, dtype=np.int64)
    taken = np.zeros(m, dtype=np.bool_)
    for t in range(count):
        for w in range(m):
            if not taken[w] and vehicle_kind[w] == kind[t]:
                taken[w] = True
                owner[t] = w
                break
    return _sequence(order, starts, hi, owner, False, m)


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
