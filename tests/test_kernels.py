"""Numba kernels against plain-Python references on random data."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nco import kernels
from nco.kernels import checker
from nco.kernels import moves as lsk
from nco.kernels import swapstar as swap_star
from nco.kernels.routes import build_state
import reference as ref

SETTINGS = settings(max_examples=60, deadline=None)


def random_case(seed: int, n: int, symmetric: bool):
    rng = np.random.default_rng(seed)
    if symmetric:
        pts = rng.uniform(size=(n, 2))
        d = np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1))
    else:
        d = rng.uniform(1, 10, size=(n, n))
        np.fill_diagonal(d, 0)
    demand = np.concatenate([[0], rng.integers(1, 6, n - 1)]).astype(np.int64)
    capacity = int(rng.integers(int(demand.max()), 16))
    return rng, d, demand, capacity


def random_routes(rng, demand, capacity):
    """Random feasible routes: shuffle, then cut greedily with random early cuts."""
    order = rng.permutation(np.arange(1, len(demand)))
    routes, cur, load = [], [], 0
    for c in order:
        if load + demand[c] > capacity or (cur and rng.random() < 0.2):
            routes.append(cur)
            cur, load = [], 0
        cur.append(int(c))
        load += demand[c]
    routes.append(cur)
    return routes


def seq_of(routes):
    out = [0]
    for r in routes:
        out += [*r, 0]
    return np.array(out, dtype=np.int64)


@given(st.integers(0, 10**6), st.integers(2, 30))
@SETTINGS
def test_tour_costs_match_python(seed, n):
    rng = np.random.default_rng(seed)
    d = rng.uniform(0, 10, (n, n))
    tours = np.array([rng.permutation(n) for _ in range(5)])
    expected = [sum(d[t[i], t[(i + 1) % n]] for i in range(n)) for t in tours]
    assert np.allclose(kernels.batch_tour_cost(d, tours), expected)
    assert np.isclose(kernels.tour_cost(d, tours[0]), expected[0])
    coords = rng.uniform(size=(5, n, 2))
    lengths = [sum(np.linalg.norm(c[t[i]] - c[t[(i + 1) % n]]) for i in range(n)) for c, t in zip(coords, tours)]
    assert np.allclose(kernels.batch_tour_length(coords, tours), lengths)


@given(st.integers(0, 10**6), st.integers(3, 12), st.booleans())
@SETTINGS
def test_checker_accepts_valid_and_recomputes_cost(seed, n, symmetric):
    rng, d, demand, cap = random_case(seed, n, symmetric)
    routes = random_routes(rng, demand, cap)
    code, _, cost = kernels.check_sequence(d, demand, cap, -1, seq_of(routes))
    assert code == checker.OK
    assert np.isclose(cost, ref.routes_cost(d, routes))
    lengths = np.array([len(seq_of(routes))])
    assert np.isclose(kernels.batch_sequence_cost(d, seq_of(routes)[None], lengths)[0], cost)


@given(st.integers(0, 10**6), st.integers(4, 12))
@SETTINGS
def test_checker_names_each_violation(seed, n):
    rng, d, demand, cap = random_case(seed, n, True)
    routes = random_routes(rng, demand, cap)
    flat = [c for r in routes for c in r]
    missing = [r[:] for r in routes]
    gone = missing[0].pop()
    code, detail, _ = kernels.check_sequence(d, demand, cap, -1, seq_of([r for r in missing if r]))
    assert (code, detail) == (checker.MISSING, gone)
    twice = [r[:] for r in routes]
    twice[-1].append(flat[0])
    code, detail, _ = kernels.check_sequence(d, demand, cap, -1, seq_of(twice))
    assert (code, detail) == (checker.REPEATED, flat[0])
    code, _, _ = kernels.check_sequence(d, demand, cap, -1, seq_of([flat]))
    assert code == (checker.OK if sum(demand) <= cap else checker.OVER_CAPACITY)
    code, _, _ = kernels.check_sequence(d, demand, cap, -1, np.array([0, *flat, n, 0]))
    assert code == checker.UNKNOWN_NODE
    code, _, _ = kernels.check_sequence(d, demand, cap, -1, np.array([*seq_of(routes), 0]))
    assert code == checker.EMPTY_ROUTE
    code, _, _ = kernels.check_sequence(d, demand, cap, -1, np.array([*flat, 0]))
    assert code == checker.BAD_START_END
    if len(routes) > 1:
        code, _, _ = kernels.check_sequence(d, demand, cap, 1, seq_of(routes))
        assert code in (checker.TOO_MANY_ROUTES, checker.OVER_CAPACITY)


@given(st.integers(0, 10**6), st.integers(2, 10), st.booleans())
@SETTINGS
def test_split_is_optimal_for_the_order(seed, n, symmetric):
    rng, d, demand, cap = random_case(seed, n, symmetric)
    order = rng.permutation(np.arange(1, n)).astype(np.int64)
    cost, seq = kernels.split(d, demand, cap, order)
    assert np.isclose(cost, ref.split_brute_force(d, demand, cap, list(order)))
    code, _, checked = kernels.check_sequence(d, demand, cap, -1, seq)
    assert code == checker.OK and np.isclose(checked, cost)
    assert [c for c in seq if c] == list(order)  # the order is kept


@given(st.integers(0, 10**6), st.integers(3, 15), st.integers(1, 6))
@SETTINGS
def test_neighbour_lists_are_the_nearest(seed, n, k):
    rng = np.random.default_rng(seed)
    d = rng.uniform(0, 10, (n, n))
    nb = kernels.neighbour_lists(d, k)
    for i in range(1, n):
        others = sorted((d[i, j] + d[j, i], j) for j in range(1, n) if j != i)
        assert list(nb[i]) == [j for _, j in others[: min(k, n - 2)]]


def penalised(d, demand, cap, penalty, routes):
    """Distance plus, with soft capacities, ``penalty`` per unit of load above capacity."""
    if penalty < 0:
        return ref.routes_cost(d, routes)
    excess = sum(max(0, sum(demand[c] for c in r) - cap) for r in routes)
    return ref.routes_cost(d, routes) + penalty * excess


def soft_case(seed, n, symmetric, penalty):
    """With soft capacities, routes are cut for a larger vehicle so that some start overloaded."""
    rng, d, demand, cap = random_case(seed, n, symmetric)
    routes = random_routes(rng, demand, cap)
    if penalty >= 0:
        cap = max(int(demand.max()), cap // 2)
    return rng, d, demand, cap, routes


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("penalty", [-1.0, 0.7])
@given(seed=st.integers(0, 10**6), n=st.integers(4, 11))
@SETTINGS
def test_move_deltas_and_applications_match_python(symmetric, penalty, seed, n):
    rng, d, demand, cap, routes = soft_case(seed, n, symmetric, penalty)
    R, L, rt, ps, cf, cb, cl = build_state(d, demand, seq_of(routes), 1)
    assert [list(R[r, 1:L[r] + 1]) for r in range(len(L) - 1)] == routes
    routes = routes + [[]]  # the spare empty route
    before = penalised(d, demand, cap, penalty, routes)
    m = len(routes)
    for _ in range(40):
        move = rng.integers(4)
        r, s = int(rng.integers(m)), int(rng.integers(m))
        i, j = int(rng.integers(0, L[r] + 2)), int(rng.integers(0, L[s] + 2))
        k = int(rng.integers(1, 4))
        if move == lsk.RELOCATE:
            delta = lsk.delta_relocate(d, cap, R, L, cl, r, i, k, s, j, penalty)
            valid = 1 <= i and i + k - 1 <= L[r] and 0 <= j <= L[s] and not (r == s and i - 1 <= j <= i + k - 1)
            after = ref.relocate(routes, r, i, k, s, j) if valid else None
        elif move == lsk.SWAP:
            delta = lsk.delta_swap(d, demand, cap, R, L, cl, r, i, s, j, penalty)
            valid = 1 <= i <= L[r] and 1 <= j <= L[s] and (r, i) != (s, j)
            after = ref.swap(routes, r, i, s, j) if valid else None
        elif move == lsk.TWO_OPT:
            delta = lsk.delta_two_opt(d, R, L, cf, cb, r, i, j)
            valid = i + 1 < j <= L[r]
            after = ref.two_opt(routes, r, i, j) if valid else None
        else:
            delta = lsk.delta_two_opt_star(d, cap, R, L, cl, r, i, s, j, penalty)
            valid = r != s and i <= L[r] and j <= L[s] and (i, j) not in ((0, 0), (L[r], L[s]))
            after = ref.two_opt_star(routes, r, i, s, j) if valid else None
        if after is None or (penalty < 0 and not ref.feasible(demand, cap, after)):
            assert delta == np.inf
            continue
        assert np.isclose(delta, penalised(d, demand, cap, penalty, after) - before)


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("penalty", [-1.0, 0.7])
@given(seed=st.integers(0, 10**6), n=st.integers(4, 10))
@settings(max_examples=25, deadline=None)
def test_local_search_reaches_a_local_optimum(symmetric, penalty, seed, n):
    rng, d, demand, cap, routes = soft_case(seed, n, symmetric, penalty)
    neighbours = kernels.neighbour_lists(d, n)  # full neighbourhoods: every move is tried
    cost, seq = kernels.local_search(d, demand, cap, seq_of(routes), neighbours, seed=seed, penalty=penalty)
    best = [[int(c) for c in r] for r in np.split(seq, np.flatnonzero(seq == 0)) if len(r) > 1]
    best = [[c for c in r if c] for r in best]
    code, _, _ = kernels.check_sequence(d, demand, cap if penalty < 0 else 10**9, -1, seq)
    assert code == checker.OK  # every customer once; capacity held when it is hard
    checked = penalised(d, demand, cap, penalty, best)
    assert np.isclose(cost, checked) and checked <= penalised(d, demand, cap, penalty, routes) + 1e-9
    assert not _improving_move_exists(d, demand, cap, best, checked, penalty)


def _improving_move_exists(d, demand, cap, routes, cost, penalty=-1.0):
    """Brute force over the neighbourhood the kernel searches (with full neighbour lists)."""
    m = len(routes)
    candidates = []
    for r in range(m):
        lr = len(routes[r])
        for i in range(1, lr + 1):
            for k in range(1, 4):
                if i + k - 1 > lr:
                    break
                for s in range(m):
                    for p in range(len(routes[s]) + 1):
                        if r == s and i - 1 <= p <= i + k - 1:
                            continue
                        candidates.append(ref.relocate(routes, r, i, k, s, p))
            if lr >= 2:
                candidates.append(ref.relocate(routes + [[]], r, i, 1, m, 0))
            for s in range(m):
                for j in range(1, len(routes[s]) + 1):
                    if (r, i) != (s, j):
                        candidates.append(ref.swap(routes, r, i, s, j))
        for i in range(0, lr + 1):
            for j in range(i + 2, lr + 1):
                if (i, j) != (0, lr):
                    candidates.append(ref.two_opt(routes, r, i, j))
            for s in range(m):
                if s != r:
                    for j in range(len(routes[s]) + 1):
                        if (i, j) not in ((0, 0), (lr, len(routes[s]))):
                            candidates.append(ref.two_opt_star(routes, r, i, s, j))
        for s in range(r + 1, m):  # full neighbour lists make every route pair a SWAP* candidate
            candidates += ref.swap_star_candidates(routes, r, s)
    if penalty >= 0:
        return any(penalised(d, demand, cap, penalty, c) < cost - 1e-6 for c in candidates)
    return any(ref.feasible(demand, cap, c) and ref.routes_cost(d, c) < cost - 1e-6 for c in candidates)


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("penalty", [-1.0, 0.7])
@given(seed=st.integers(0, 10**6), n=st.integers(4, 12))
@SETTINGS
def test_swap_star_finds_the_best_exchange_between_two_routes(symmetric, penalty, seed, n):
    rng, d, demand, cap, routes = soft_case(seed, n, symmetric, penalty)
    if len(routes) < 2:
        return
    R, L, rt, ps, cf, cb, cl = build_state(d, demand, seq_of(routes), 0)
    r, s = (int(x) for x in rng.choice(len(routes), 2, replace=False))
    before = penalised(d, demand, cap, penalty, routes)
    delta, kind, i, j, p_u, p_v = swap_star.best_swap_star(d, demand, cap, R, L, cl, r, s, penalty)
    candidates = ref.swap_star_candidates(routes, r, s)
    candidates += [ref.relocate(routes, r, i, 1, s, p) for i in range(1, len(routes[r]) + 1)
                   for p in range(len(routes[s]) + 1)]
    candidates += [ref.relocate(routes, s, j, 1, r, p) for j in range(1, len(routes[s]) + 1)
                   for p in range(len(routes[r]) + 1)]
    if penalty < 0:
        candidates = [c for c in candidates if ref.feasible(demand, cap, c)]
    best = min((penalised(d, demand, cap, penalty, c) - before for c in candidates), default=np.inf)
    assert np.isclose(delta, best) or delta == best == np.inf
    if kind == swap_star.NO_MOVE:
        return
    swap_star.apply_swap_star(d, demand, R, L, rt, ps, cf, cb, cl, r, s, kind, i, j, p_u, p_v)
    after = [[int(c) for c in R[q, 1:L[q] + 1]] for q in range(len(L))]
    assert sorted(c for route in after for c in route) == list(range(1, n))
    assert np.isclose(penalised(d, demand, cap, penalty, after) - before, delta)
    assert all(rt[c] == q and R[q, ps[c]] == c for q, route in enumerate(after) for c in route)


@given(st.integers(0, 10**6), st.integers(3, 40), st.booleans())
@SETTINGS
def test_constructive_kernels_give_checked_solutions(seed, n, symmetric):
    rng, d, demand, cap = random_case(seed, n, symmetric)
    for seq in (kernels.nearest_neighbour(d, demand, cap), kernels.savings(d, demand, cap, symmetric)):
        code, detail, _ = kernels.check_sequence(d, demand, cap, -1, seq)
        assert code == checker.OK, checker.MESSAGES[code].format(detail=detail)
    tsp = kernels.savings(d, np.zeros(n, dtype=np.int64), 0, symmetric, True)
    assert kernels.check_sequence(d, np.zeros(n, dtype=np.int64), 0, 1, tsp)[0] == checker.OK


def test_neighbour_lists_select_exactly_what_a_stable_full_sort_would():
    from nco.kernels.search import neighbour_lists

    rng = np.random.default_rng(0)
    for trial in range(100):
        n, k = int(rng.integers(2, 60)), int(rng.integers(0, 50))
        d = rng.integers(0, 4, (n, n)).astype(float) if trial % 2 else rng.random((n, n))  # many ties, or none
        assert np.array_equal(neighbour_lists(d, k), ref.neighbour_lists(d, k)), (n, k)


def test_granular_savings_on_large_instances_is_feasible_and_close_to_all_pairs():
    from nco.data import evaluate, from_sequence, random_cvrp, random_tsp
    from nco.kernels import construct

    for instance in (random_cvrp(1000, seed=3), random_tsp(1000, seed=3)):  # 1,001 and 1,000 nodes: granular
        d, q, c = instance.kernel_arrays()
        one = instance.max_routes == 1
        granular = evaluate(instance, from_sequence(construct.savings(d, q, c, instance.symmetric, one)))
        every = construct._savings(d, q, c, instance.symmetric, one, np.zeros((d.shape[0], 0), dtype=np.int64))
        assert granular <= 1.02 * evaluate(instance, from_sequence(every))  # the checker accepted both


def _random_start(n: int, seed: int = 0):
    """A poor start, whose first pass is long: a random giant tour of ``n`` customers cut by Split."""
    from nco.data import random_cvrp

    d, demand, cap = random_cvrp(n, seed=seed).kernel_arrays()
    d = kernels.prepared_matrix(d)
    giant = np.random.default_rng(seed).permutation(np.arange(1, n + 1))
    return d, demand, cap, kernels.split(d, demand, cap, giant, 10.0)[1]


def test_the_passes_stop_at_a_passed_deadline_after_one_batch_of_work():
    """Clock-free: with a deadline already past, a pass reads the clock after CHECK_EVERY evaluations and stops,
    so only the first few customers (or routes) are stamped as tried. Checked between passes only, one pass at
    n = 3000 from a random start ran 0.2-0.3 s past the limit."""
    from nco.kernels.clock import CHECK_EVERY
    from nco.kernels.search import search_pass

    d, demand, cap, seq = _random_start(600)
    k = 20
    neigh = kernels.neighbour_lists(d, k)
    R, L, rt, ps, cf, cb, cl = build_state(d, demand, seq, 10)
    order = np.arange(1, d.shape[0], dtype=np.int64)
    modified, tested, clock = np.zeros(L.shape[0], np.int64), np.full(d.shape[0], -1, np.int64), np.ones(1, np.int64)
    for deadline, most in ((-1.0, d.shape[0] - 1), (0.0, CHECK_EVERY // k + 1)):
        tested[:] = -1
        search_pass(d, demand, cap, neigh, order, R, L, rt, ps, cf, cb, cl, 1e-9, 10.0, modified, tested, clock,
                    deadline)
        tried = int((tested[1:] >= 0).sum())
        assert tried == most if deadline < 0 else 1 <= tried <= most
    tested_routes = np.full(L.shape[0], -1, np.int64)
    swap_star.swap_star_pass(d, demand, cap, neigh, R, L, rt, ps, cf, cb, cl, 1e-9, 10.0, modified, tested_routes,
                             clock, 0.0)
    assert (tested_routes >= 0).sum() == 0  # the clock is read before the first pair of routes


def test_default_spare_routes_follow_the_fleet_not_the_customers():
    """One empty route per customer made every search allocate n x n arrays (290 MB at n = 3000)."""
    from nco.kernels.search import default_spare

    d, demand, cap, seq = _random_start(3000)
    routes = int((seq[1:] == 0).sum())
    assert default_spare(seq) == routes * 3 // 10 + 3 < 3000 // 4
    assert default_spare(np.array([0, 1, 0, 2, 0])) == 1  # no customer left to move into a route of its own
    assert default_spare(np.array([0, 1, 2, 3, 0])) == 2
    cost, improved = kernels.local_search(d, demand, cap, seq, kernels.neighbour_lists(d, 20), penalty=10.0,
                                          deadline=0.0)
    assert np.array_equal(improved, seq)  # a passed deadline: no pass at all, the start comes back
