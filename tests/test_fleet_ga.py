"""The genetic search on profiled fleets: its Split, its local search's pricing, and the solver end to end."""

import numpy as np
import pytest

from nco.data import from_sequence, pvrp
from nco.data.vrplib_io import read_instance
from nco.kernels.fleet_search import fleet_search, fleet_value
from nco.kernels.fleet_split import fleet_split
from nco.solvers.genetic import Params
from nco.solvers.genetic_fleet import BALANCE, FleetSearch, genetic_fleet

PRESETS = [
    lambda: pvrp.random_hcvrp(40, 5, seed=3),  # min-max, reloads, capacities and speeds differ
    lambda: pvrp.random_pvrp(40, 3, "pvrp-p", "cluster", seed=3),  # preferences
    lambda: pvrp.random_pvrp(40, 7, "pvrp-zc", "random", seed=3),  # zones
]


def _search(instance):
    return FleetSearch(instance, seed=0, params=Params())


def _made(make, request):
    """A preset's instance, or (a name) that shared HFVRP file."""
    if isinstance(make, str):
        return read_instance(request.getfixturevalue("shared") / f"hetero/hfvrp/{make}.vrp", pvrp)
    return make()


def _searched_cost(search, seq, vehicles, penalty):
    """What the fleet local search minimises: the objective (min-max: plus the balance term), plus penalties."""
    value, excess, barred = fleet_value(search.dist, search.demand, search.fleet, search.min_max, seq, vehicles)
    if search.min_max:
        trips = np.bincount(vehicles, minlength=search.instance.num_vehicles)
        dist = np.zeros(search.instance.num_vehicles)
        for trip, v in zip(from_sequence(seq), vehicles):
            nodes = np.array([0, *trip, 0])
            dist[v] += search.dist[nodes[:-1], nodes[1:]].sum()
        value += BALANCE * float((search.fleet[1] * dist)[trips > 0].sum())
    return value + penalty * excess + search.barred * barred


@pytest.mark.parametrize("make", PRESETS)
def test_the_local_search_never_makes_what_it_prices_worse(make):
    """Each move's delta is priced from route sums; if one were wrong, some searches would end dearer."""
    instance = make()
    search = _search(instance)
    for trial in range(8):
        seq, vehicles = search.random_routes()
        before = _searched_cost(search, seq, vehicles, search.penalty)
        after_seq, after_vehicles = fleet_search(search.dist, search.demand, search.fleet, search.neighbours, seq,
                                                 vehicles, 10, search.multi_trip, search.min_max, trial, -1.0,
                                                 search.eps, search.penalty, search.barred, BALANCE)
        assert sorted(after_seq[after_seq > 0]) == list(range(1, instance.num_nodes))  # every customer once
        assert _searched_cost(search, after_seq, after_vehicles, search.penalty) <= before + 1e-6


@pytest.mark.parametrize("make", PRESETS)
def test_an_educated_feasible_individual_passes_the_checker_with_the_same_cost(make):
    instance = make()
    search = _search(instance)
    child = search.educated(search.random_routes())
    routes = from_sequence(child.seq)
    if child.feasible:
        assert instance.cost_of(routes, child.vehicles).objective == pytest.approx(child.distance)
    assert len(routes) == len(child.vehicles)


@pytest.mark.parametrize("make", [*PRESETS, "X139-HD"])  # and a limited fleet of 5 kinds, min-sum
def test_each_fleet_swap_star_changes_the_cost_by_the_delta_it_priced(make, request):
    from nco.kernels.fleet_price import refresh_vehicles
    from nco.kernels.fleet_search import fleet_routes, fleet_state
    from nco.kernels.fleet_swapstar import best_fleet_swap_star
    from nco.kernels.swapstar import apply_swap_star

    instance = _made(make, request)
    search = _search(instance)
    applied = 0
    for _ in range(3):
        seq, vehicles = search.random_routes()
        S, rt, ps, cb = fleet_state(search.dist, search.demand, search.fleet, seq, vehicles, 3)
        R, L = S[0], S[1]
        for r in range(len(L)):
            for s in range(len(L)):
                delta, kind, i, j, p_u, p_v = best_fleet_swap_star(search.dist, search.demand, search.fleet, S, r, s,
                                                                   search.penalty, search.barred, BALANCE,
                                                                   search.min_max)
                if delta < -1e-6:
                    before = _searched_cost(search, *fleet_routes(S), search.penalty)
                    apply_swap_star(search.dist, search.demand, R, L, rt, ps, S[2], cb, S[3], r, s, kind, i, j, p_u,
                                    p_v)
                    refresh_vehicles(S, search.fleet)
                    after = _searched_cost(search, *fleet_routes(S), search.penalty)
                    assert after - before == pytest.approx(delta, abs=1e-6)
                    applied += 1
    assert applied > 0


@pytest.mark.parametrize("make", [*PRESETS, "X139-HD"])
def test_each_segment_exchange_changes_the_cost_by_the_delta_it_priced(make, request):
    from nco.kernels.fleet_price import exchange_delta, pair_context, refresh_vehicles
    from nco.kernels.fleet_search import EXCHANGES, apply_exchange, fleet_routes, fleet_state

    instance = _made(make, request)
    search = _search(instance)
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(400):  # zones bar many exchanges (an infinite delta): those are skipped
        seq, vehicles = search.random_routes()
        S, rt, ps, cb = fleet_state(search.dist, search.demand, search.fleet, seq, vehicles, 0)
        R, L, owner = S[0], S[1], S[4]
        r, s = rng.choice(np.flatnonzero(L > 0), 2, replace=False)
        k1, k2 = EXCHANGES[rng.integers(len(EXCHANGES))]
        i, j = int(rng.integers(1, L[r] + 1)), int(rng.integers(1, L[s] + 1))
        ctx = pair_context(search.fleet, S[5], S[6], owner[r], owner[s], search.penalty, BALANCE, search.min_max)
        Z = (search.fleet[3], search.fleet[4], search.barred, owner[r], owner[s])
        delta = exchange_delta(search.dist, R, L, S[2], S[3], ctx, Z, r, i, k1, s, j, k2)
        if not np.isfinite(delta):
            continue
        before = _searched_cost(search, *fleet_routes(S), search.penalty)
        apply_exchange(search.dist, search.demand, R, L, rt, ps, S[2], cb, S[3], r, i, k1, s, j, k2)
        refresh_vehicles(S, search.fleet)
        after_seq, after_vehicles = fleet_routes(S)
        assert sorted(after_seq[after_seq > 0]) == list(range(1, instance.num_nodes))
        assert _searched_cost(search, after_seq, after_vehicles, search.penalty) - before == pytest.approx(delta,
                                                                                                          abs=1e-6)
        checked += 1
    assert checked >= 20


def test_the_overload_pass_swaps_across_the_map_when_only_that_fits():
    from nco.kernels.fleet_repair import overload_pass
    from nco.kernels.fleet_search import fleet_routes, fleet_state

    # Trip 1 (customers 1, 2 west, 6 + 6 > 10) can only fit by exchanging a 6 for the 4 of trip 2 (east).
    coords = np.array([[0, 0], [-5, 0], [-5, 1], [5, 0], [5, 1]], dtype=float)
    instance = pvrp.PVRPInstance.from_coords(coords, np.array([0, 6, 6, 4, 2]), capacity=np.array([10, 10]))
    search = _search(instance)
    seq, vehicles = np.array([0, 1, 2, 0, 3, 4, 0]), np.array([0, 1])
    S, rt, ps, cb = fleet_state(search.dist, search.demand, search.fleet, seq, vehicles, 1)
    modified, clock = np.zeros(len(S[1]), dtype=np.int64), np.zeros(1, dtype=np.int64)
    moves = overload_pass(search.dist, search.demand, search.fleet, S, rt, ps, cb, search.eps, 1000.0, search.barred,
                          BALANCE, search.min_max, modified, clock)
    value, excess, barred = fleet_value(search.dist, search.demand, search.fleet, False, *fleet_routes(S))
    assert moves >= 1 and excess == 0 and barred == 0


def test_the_limited_fleet_split_uses_no_kind_more_often_than_it_has_vehicles(shared):
    instance = read_instance(shared / "hetero/hfvrp/X139-HD.vrp", pvrp)  # 13 vehicles of 5 kinds, filled to 87%
    search = _search(instance)
    kinds = search.fleet[5]
    rng = np.random.default_rng(0)
    for _ in range(5):
        seq, vehicles = fleet_split(search.dist, search.demand, search.fleet, search.kinds, False, False,
                                    rng.permutation(np.arange(1, instance.num_nodes)), search.penalty, search.barred)
        assert len(set(vehicles.tolist())) == len(vehicles)  # one trip per vehicle
        assert (np.bincount(kinds[vehicles], minlength=kinds.max() + 1) <= np.bincount(kinds)).all()


@pytest.mark.parametrize("make", PRESETS)
def test_ga_solves_every_preset_within_its_constraints_and_beats_insertion(make):
    from nco.solvers.pvrp import insertion

    instance = make()
    start = insertion(instance, time_limit=1)
    solution = genetic_fleet(instance, time_limit=30, max_iterations=60)
    cost = instance.cost_of(solution.routes, solution.vehicles)  # the checker: zones, capacities, reloads
    assert solution.solver == "ga" and solution.cost == pytest.approx(cost.objective)
    assert solution.cost < start.cost  # insertion's solution is in its first population, and improved on


def test_ga_is_deterministic_for_a_seed_under_an_iteration_limit():
    instance = pvrp.random_hcvrp(30, 3, seed=4)
    a, b = (genetic_fleet(instance, time_limit=30, seed=7, max_iterations=30) for _ in range(2))
    assert a.routes == b.routes and a.vehicles == b.vehicles


def test_ga_fills_a_tight_fleet_that_defeats_insertion(shared):
    instance = read_instance(shared / "hetero/hfvrp/X115-HVRP.vrp", pvrp)  # 19 vehicles, filled to 96%
    solution = genetic_fleet(instance, time_limit=10)
    cost = instance.cost_of(solution.routes, solution.vehicles)
    assert cost.trips.max() == 1 and 19412.56 - 1e-6 <= solution.cost < 1.25 * 19412.56  # BKS 19412.56


def test_ga_refuses_a_start_that_breaks_the_fleet():
    from nco.data import Solution, SolutionError

    coords = np.array([[0, 0], [0, 1], [1, 1], [1, 0], [2, 0]], dtype=float)
    instance = pvrp.PVRPInstance.from_coords(coords, np.array([0, 2, 2, 2, 4]), capacity=np.array([10, 10]),
                                             allowed=np.array([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=bool))
    barred = Solution(routes=((1, 2, 3, 4),), cost=0.0, problem="pvrp", vehicles=(1,))  # vehicle 1 may not serve 4
    with pytest.raises(SolutionError, match="customer 4 is served by a vehicle that may not serve it"):
        genetic_fleet(instance, time_limit=1, initial=barred)
    assert genetic_fleet(instance, time_limit=1, max_iterations=5).vehicles  # and without it, solved


@pytest.mark.parametrize("make", PRESETS)
def test_ls_improves_insertion_within_every_constraint(make):
    from nco.solvers.pvrp import insertion, local_search

    instance = make()
    start = insertion(instance, time_limit=1)
    solution = local_search(instance, time_limit=5, initial=start)
    cost = instance.cost_of(solution.routes, solution.vehicles)
    assert solution.solver == "ls" and solution.cost == pytest.approx(cost.objective)
    assert solution.cost < start.cost


def _check_route_crossover(instance, srex=False):
    search = _search(instance)
    a, b = (search.educated(search.random_routes()) for _ in range(2))
    for _ in range(20):
        seq, vehicles = search._route_crossover(a, b, srex)
        assert sorted(seq[seq > 0]) == list(range(1, instance.num_nodes))
        assert len(vehicles) == int((seq[1:] == 0).sum()) and vehicles.min() >= 0
        assert vehicles.max() < instance.num_vehicles
        if not instance.multi_trip:
            assert len(set(vehicles.tolist())) == len(vehicles)  # one trip per vehicle


@pytest.mark.parametrize("make", PRESETS)
def test_the_route_crossover_serves_every_customer_once_with_vehicles_of_the_fleet(make):
    _check_route_crossover(make())


@pytest.mark.parametrize("srex", [False, True])
def test_the_route_crossover_keeps_one_trip_per_vehicle_of_a_limited_fleet(shared, srex):
    instance = read_instance(shared / "hetero/hfvrp/X139-HD.vrp", pvrp)
    if srex:
        assert _search(instance).tight  # X139-HD is one of the tight fleets SREX is for
    _check_route_crossover(instance, srex)


def test_srex_makes_no_more_trips_than_the_second_parent(shared):
    instance = read_instance(shared / "hetero/hfvrp/X214-HVRP.vrp", pvrp)  # 14 vehicles filled to 99%
    search = _search(instance)
    a, b = (search.educated(search.random_routes()) for _ in range(2))
    for _ in range(20):  # its trips replace as many of b's; a b trip left empty is dropped
        seq, vehicles = search._route_crossover(a, b, srex=True)
        assert len(vehicles) <= len(b.vehicles)


def test_reinsert_puts_each_missing_customer_where_it_costs_least_and_never_on_a_barred_vehicle():
    from nco.kernels.fleet_reinsert import reinsert

    # Customer 3 (east) fits both trips; vehicle 0 (the west trip) may not serve customer 4.
    coords = np.array([[0, 0], [-5, 0], [5, 0], [5, 1], [-5, 1]], dtype=float)
    d = np.linalg.norm(coords[:, None] - coords[None], axis=2)
    demand, capacity, rate = np.array([0, 1, 1, 1, 1]), np.array([10, 10, 10]), np.ones(3)
    allowed = np.ones((3, 5), dtype=np.bool_)
    allowed[0, 4] = False
    seq, vehicles = reinsert(d, demand, capacity, rate, allowed, np.array([0, 1, 0, 2, 0]), np.array([0, 1]),
                             np.array([3, 4]), 10.0)
    trips = from_sequence(seq)
    assert sorted(seq[seq > 0]) == [1, 2, 3, 4] and list(vehicles) == [0, 1]
    assert abs(trips[1].index(3) - trips[1].index(2)) == 1  # 3 next to its neighbour 2
    assert 4 in trips[1]  # not on vehicle 0, though the west trip is nearer
