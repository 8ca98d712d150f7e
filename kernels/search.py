"""Local search on granular neighbourhoods (Toth & Vigo), then SWAP* between routes.

For a customer ``u`` and each ``v`` among its ``k`` nearest, the node moves
that make ``u`` and ``v`` adjacent are tried and the first improving one is
applied. A pair is skipped when neither route changed since ``u`` was last
tested (HGS's bookkeeping: later passes cost little). Then SWAP* (Vidal 2022)
tries, for pairs of neighbouring routes, the best exchange of two customers
each inserted at its best place in the other route. Passes repeat until one
applies no move.

A TSP tour is the one-route case: node 0 is the fixed start, capacity is never
binding and only the intra-route moves apply.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .clock import CHECK_EVERY, past
from .cost import sequence_cost
from .moves import (apply_relocate, apply_swap, apply_two_opt, apply_two_opt_star, delta_relocate, delta_swap,
                    delta_two_opt, delta_two_opt_star)
from .routes import build_state, penalised_excess, state_sequence
from .swapstar import swap_star_pass


@njit(cache=True)
def neighbour_lists(dist: np.ndarray, k: int) -> np.ndarray:
    """For each customer, the ``k`` nearest other customers (row 0, the depot, is unused).

    Nearness is ``dist[i, j] + dist[j, i]`` so that it is symmetric on ATSP matrices; ties go to the lower
    node id. Each row keeps its ``k`` nearest so far in order, and a farther node costs one comparison
    (the same lists as a stable sort of the whole row; at n = 3000, 0.2 s with a partition per row).
    """
    n = dist.shape[0]
    k = max(0, min(k, n - 2))
    out = np.zeros((n, k), dtype=np.int64)
    if k == 0:
        return out
    keys = np.empty(k)
    for i in range(1, n):
        count = 0
        for j in range(1, n):
            if j == i:
                continue
            key = dist[i, j] + dist[j, i]
            if count == k and key >= keys[k - 1]:
                continue  # not nearer than the k-th: an equal key loses to the lower ids already kept
            t = min(count, k - 1)
            while t > 0 and keys[t - 1] > key:  # shift the farther ones up (the last drops out when full)
                keys[t] = keys[t - 1]
                out[i, t] = out[i, t - 1]
                t -= 1
            keys[t] = key
            out[i, t] = j
            count = min(count + 1, k)
    return out


@njit(cache=True)
def _improve_pair(d, demand, capacity, R, L, rt, ps, cf, cb, cl, u, v, eps, penalty):
    """Apply the first improving move that makes ``u`` and ``v`` adjacent; return its delta (0 if none)."""
    r = rt[u]
    i = ps[u]
    s = rt[v]
    j = ps[v]
    # Relocate / Or-opt: the segment of 1..3 customers starting at u, after v or before v.
    for k in range(1, 4):
        if i + k - 1 > L[r]:
            break
        for p in (j, j - 1):
            delta = delta_relocate(d, capacity, R, L, cl, r, i, k, s, p, penalty)
            if delta < -eps:
                apply_relocate(d, demand, R, L, rt, ps, cf, cb, cl, r, i, k, s, p)
                return delta
    delta = delta_swap(d, demand, capacity, R, L, cl, r, i, s, j, penalty)
    if delta < -eps:
        apply_swap(d, demand, R, L, rt, ps, cf, cb, cl, r, i, s, j)
        return delta
    if r == s:
        lo = min(i, j)
        hi = max(i, j)
        for a, b in ((lo, hi), (lo - 1, hi - 1)):
            delta = delta_two_opt(d, R, L, cf, cb, r, a, b)
            if delta < -eps:
                apply_two_opt(d, demand, R, L, rt, ps, cf, cb, cl, r, a, b)
                return delta
    else:
        for a, b in ((i, j - 1), (i - 1, j)):
            delta = delta_two_opt_star(d, capacity, R, L, cl, r, a, s, b, penalty)
            if delta < -eps:
                apply_two_opt_star(d, demand, R, L, rt, ps, cf, cb, cl, r, a, s, b)
                return delta
    return 0.0


@njit(cache=True)
def _to_empty_route(d, demand, capacity, R, L, rt, ps, cf, cb, cl, u, eps, penalty):
    """Move ``u`` alone into an empty route when that pays off."""
    r = rt[u]
    if L[r] < 2:
        return 0.0
    for e in range(L.shape[0]):
        if L[e] == 0:
            delta = delta_relocate(d, capacity, R, L, cl, r, ps[u], 1, e, 0, penalty)
            if delta < -eps:
                apply_relocate(d, demand, R, L, rt, ps, cf, cb, cl, r, ps[u], 1, e, 0)
                return delta
            return 0.0
    return 0.0


@njit(cache=True)
def _stamp(modified, clock, r, s):
    clock[0] += 1
    modified[r] = clock[0]
    modified[s] = clock[0]


@njit(cache=True)
def search_pass(d, demand, capacity, neigh, order, R, L, rt, ps, cf, cb, cl, eps, penalty, modified, tested,
                clock, deadline):
    """One pass of node moves over the customers in ``order``; returns ``(moves applied, total delta)``.

    ``modified[r]`` is the ``clock[0]`` tick of route ``r``'s last change and
    ``tested[u]`` the tick when ``u`` was last tried (both start below every
    tick, so the first pass tries everything). Stops early at ``deadline``
    (see :mod:`nco.kernels.clock`): on thousands of customers one pass from a
    poor start takes a large part of a second.
    """
    moves = 0
    total = 0.0
    work = 0  # pairs evaluated since the clock was last read
    for idx in range(order.shape[0]):
        if work >= CHECK_EVERY:
            if past(deadline):
                break
            work = 0
        u = order[idx]
        last = tested[u]
        tested[u] = clock[0]
        for t in range(neigh.shape[1]):
            v = neigh[u, t]
            r = rt[u]
            s = rt[v]
            if max(modified[r], modified[s]) <= last:
                continue  # nothing changed around u and v since they were last tried together
            work += 1
            delta = _improve_pair(d, demand, capacity, R, L, rt, ps, cf, cb, cl, u, v, eps, penalty)
            if delta < 0.0:
                _stamp(modified, clock, r, s)
                moves += 1
                total += delta
        r = rt[u]
        delta = _to_empty_route(d, demand, capacity, R, L, rt, ps, cf, cb, cl, u, eps, penalty)
        if delta < 0.0:
            _stamp(modified, clock, r, rt[u])
            moves += 1
            total += delta
    return moves, total


def prepared_matrix(dist: np.ndarray) -> np.ndarray:
    """``dist`` as the float64 matrix with a zero diagonal that :func:`local_search` works on.

    An emptied route costs ``d[0, 0]``, and ATSP files put "infinity" on the
    diagonal. Callers that search many times prepare it once.
    """
    d = np.array(dist, dtype=np.float64)
    np.fill_diagonal(d, 0.0)
    return d


@njit(cache=True)
def search(d, demand, capacity, neigh, seq, spare, seed, deadline, eps, penalty, focus):
    """Passes of node moves then SWAP* until one applies nothing or ``deadline`` (``perf_counter``; < 0: none),
    which the passes also check as they go.

    ``focus`` (customers; empty: all) narrows the first pass to the routes that hold them: every other
    pair counts as already tried on an unchanged route, as it is after a pass. A solution changed in a few
    places (a mutation) then costs those places, not a full pass: at n = 783 a pass that finds nothing
    costs about 40 ms.

    Returns ``(total delta, improved sequence)``. All in one compiled call:
    a Python loop around the passes cost as much as the passes on small instances.
    """
    R, L, rt, ps, cf, cb, cl = build_state(d, demand, seq, spare)
    np.random.seed(seed)
    count = 0
    for i in range(seq.shape[0]):
        if seq[i] > 0:
            count += 1
    customers = np.empty(count, dtype=np.int64)
    count = 0
    for i in range(seq.shape[0]):
        if seq[i] > 0:
            customers[count] = seq[i]
            count += 1
    modified = np.zeros(L.shape[0], dtype=np.int64)
    tested_nodes = np.full(d.shape[0], -1, dtype=np.int64)
    tested_routes = np.full(L.shape[0], -1, dtype=np.int64)
    clock = np.zeros(1, dtype=np.int64)
    if focus.shape[0]:
        tested_nodes[:] = 0  # tried at tick 0 ...
        tested_routes[:] = 0
        clock[0] = 1
        for c in focus:
            modified[rt[c]] = 1  # ... and only the focus's routes changed since
    total = 0.0
    while not past(deadline):
        order = np.random.permutation(customers)
        moves, delta = search_pass(d, demand, capacity, neigh, order, R, L, rt, ps, cf, cb, cl, eps, penalty,
                                   modified, tested_nodes, clock, deadline)
        more, gain = swap_star_pass(d, demand, capacity, neigh, R, L, rt, ps, cf, cb, cl, eps, penalty,
                                    modified, tested_routes, clock, deadline)
        total += delta + gain
        if moves + more == 0:
            break
    return total, state_sequence(R, L)


def default_spare(seq: np.ndarray) -> int:
    """Empty routes a search of the giant sequence ``seq`` may open: 30% of its routes plus 3 (HGS's fleet is
    1.3 times the routes the demand needs, plus 3), at most one per customer not yet alone in a route.

    Every route, empty or not, is a row as long as the instance in the
    search's arrays: one spare per customer (as before) cost 0.21 s and
    290 MB per search at n = 3000, before the first move.
    """
    customers = int((seq > 0).sum())
    routes = int((seq[1:] == 0).sum())
    return max(1, min(customers - routes, routes * 3 // 10 + 3))


def local_search(dist: np.ndarray, demand: np.ndarray, capacity: int, seq: np.ndarray,
                 neighbours: np.ndarray, seed: int = 0, deadline: float | None = None,
                 spare_routes: int | None = None, penalty: float = -1.0,
                 focus: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Improve the giant sequence ``seq`` to a local optimum (or until ``deadline``, a ``time.perf_counter`` value).

    Node moves on the granular ``neighbours``, then SWAP* between routes that
    hold neighbours, pass after pass. ``spare_routes`` empty routes are kept
    for moves that open a route (by default :func:`default_spare`). ``penalty < 0`` keeps
    capacities hard (``seq`` must be feasible); otherwise loads above capacity
    cost ``penalty`` per unit and ``seq`` may overload routes. Returns
    ``(cost, sequence)``; the cost (distance plus penalties) is the start cost
    plus the applied deltas, which the checker recomputes. ``focus``: customers
    whose routes changed since ``seq`` was last a local optimum; the first pass
    tries only pairs on their routes (default: all).
    """
    d = dist
    if d.dtype != np.float64 or np.any(np.diagonal(d)):
        d = prepared_matrix(d)
    demand = np.asarray(demand, dtype=np.int64)
    seq = np.asarray(seq, dtype=np.int64)
    # Moves below eps are rounding noise of the prefix sums, not improvements.
    eps = 1e-9 * max(1.0, float(d[0].mean()))
    if spare_routes is None:
        spare_routes = default_spare(seq)
    start = sequence_cost(d, seq) + penalised_excess(demand, int(capacity), seq, penalty)
    total, seq = search(d, demand, int(capacity), neighbours, seq, int(spare_routes), int(seed) % (2**32),
                        -1.0 if deadline is None else float(deadline), eps, float(penalty),
                        np.zeros(0, dtype=np.int64) if focus is None else np.asarray(focus, dtype=np.int64))
    return start + total, seq
