"""Every classical solver returns checker-verified solutions; seeds, initial routes, bad arguments."""

import numpy as np
import pytest

import nco
from nco.data import CVRPInstance, SolverError, TSPInstance, evaluate, random_cvrp, random_tsp
from nco.solvers import SOLVERS
from nco.solvers.ortools_routing import cost_scale


def asymmetric_cvrp(n=30, seed=0):
    rng = np.random.default_rng(seed)
    base = random_cvrp(n, seed=seed, capacity=25)
    # Road-like asymmetry: each arc scaled by its own factor (one-way streets, detours).
    distance = base.distance * rng.uniform(1.0, 1.5, size=base.distance.shape)
    return CVRPInstance(distance=distance, demand=base.demand, capacity=base.capacity, name="acvrp")


INSTANCES = {
    "cvrp": lambda: random_cvrp(50, seed=1),
    "acvrp": asymmetric_cvrp,
    "tsp": lambda: random_tsp(40, seed=2),
    "atsp": lambda: TSPInstance(distance=asymmetric_cvrp(39).distance, name="atsp"),
    "matrix-only": lambda: CVRPInstance(distance=random_cvrp(20, seed=3).distance,
                                        demand=random_cvrp(20, seed=3).demand, capacity=30),
}


@pytest.mark.parametrize("solver", list(SOLVERS))
@pytest.mark.parametrize("kind", list(INSTANCES))
def test_solver_returns_verified_solution(solver, kind):
    instance = INSTANCES[kind]()
    solution = nco.solve(instance, solver=solver, time_limit=1.0, seed=0)
    assert solution.cost == evaluate(instance, solution.routes)
    assert solution.problem == instance.problem and solution.solver == solver
    if instance.problem == "tsp":
        assert solution.num_routes == 1 and sorted(solution.tour) == list(range(instance.num_nodes))


def test_improvers_beat_constructions_on_x(shared):
    instance = nco.load(shared / "cvrplib/X/X-n101-k25.vrp")
    savings = nco.solve(instance, "savings").cost
    assert nco.solve(instance, "ls").cost < savings
    assert nco.solve(instance, "ortools", time_limit=2).cost < nco.solve(instance, "nearest").cost


def test_local_search_is_deterministic_for_a_seed():
    instance = random_cvrp(100, seed=4)
    a = nco.solve(instance, "ls", seed=3)
    b = nco.solve(instance, "ls", seed=3)
    assert a.routes == b.routes and a.cost == b.cost


def test_ortools_starts_from_initial_routes():
    instance = random_cvrp(50, seed=5)
    start = nco.solve(instance, "ls")
    seeded = nco.solve(instance, "ortools", time_limit=1.0, initial=start)
    assert seeded.history[0][1] <= start.cost + 1e-6  # its first solution is the one handed over
    assert seeded.cost <= start.cost + 1e-6


def test_initial_routes_must_fit_the_instance():
    instance = random_cvrp(20, seed=6)
    other = nco.solve(random_cvrp(10, seed=6), "savings")
    with pytest.raises(nco.SolutionError):
        nco.solve(instance, "ortools", initial=other)


def test_first_fit_fleet_is_feasible_and_tight():
    from nco.solvers.ortools_routing import first_fit_bins

    instance = random_cvrp(100, seed=13)
    bins = first_fit_bins(instance.demand, instance.capacity)
    assert instance.min_routes <= len(bins) <= instance.min_routes + 2
    assert sorted(c for b in bins for c in b) == list(range(1, 101))
    assert all(instance.demand[b].sum() <= instance.capacity for b in bins)
    assert first_fit_bins(np.array([0, 5, 5, 5]), 10) == [[1, 2], [3]]


@pytest.mark.parametrize("name", ["X-n176-k26", "X-n336-k84"])
def test_ortools_answers_on_tight_fleets(shared, name):
    """Tight instances where cheapest arc finds no first solution: savings or the first-fit routes do."""
    instance = nco.load(shared / f"cvrplib/X/{name}.vrp")
    solution = nco.solve(instance, "ortools", time_limit=2)
    assert solution.cost > 0 and solution.num_routes >= instance.min_routes


def test_ortools_fallback_routes_are_feasible():
    """The last resort of the first solution: each first-fit bin in nearest-neighbour order."""
    from nco.data import make_solution
    from nco.solvers.ortools_routing import fallback_routes, first_fit_bins

    instance = random_cvrp(60, seed=2)
    routes = fallback_routes(instance, first_fit_bins(instance.demand, instance.capacity))
    assert make_solution(instance, routes).num_routes == len(routes)


def test_ortools_refuses_early_when_its_model_cannot_be_built_within_the_limit(monkeypatch):
    """Paced like the decoding: the matrix conversion's first rows predict the build (over 1 s at n = 3000
    here); a registering made to look a million times dearer than the conversion trips it on any size."""
    import time

    from nco.solvers import ortools_routing

    instance = random_cvrp(600, seed=3)
    monkeypatch.setattr(ortools_routing, "REGISTER_COST", 1e6)
    started = time.perf_counter()
    with pytest.raises(SolverError, match="OR-Tools' model of 601 nodes takes about .* s to build here"):
        ortools_routing.ortools(instance, time_limit=5)
    assert time.perf_counter() - started < 5  # refused at its first rows, not after the limit
    monkeypatch.undo()
    solution = ortools_routing.ortools(instance, time_limit=1)  # the measured cost: built well within 1 s
    assert solution.cost == evaluate(instance, solution.routes)


def test_cost_scale_keeps_precision():
    assert cost_scale(np.array([[0.0, 3.0], [4.0, 0.0]])) == 1
    scale = cost_scale(np.array([[0.0, 0.123456789], [2.5, 0.0]]))
    assert scale >= 10**9


@pytest.mark.parametrize("limit", [0, -1, float("nan"), "soon"])
def test_bad_time_limits_are_refused(limit):
    with pytest.raises(SolverError, match="time_limit"):
        nco.solve(random_tsp(10, seed=0), "ortools", time_limit=limit)


def test_unknown_solver_lists_the_known_ones():
    known = r"expected one of neural, neural\+ga, neural\+ortools, nearest, savings, ls, ortools, ga"
    with pytest.raises(SolverError, match=known):
        nco.solve(random_tsp(10, seed=0), "lkh")


def test_solve_rejects_non_instances():
    with pytest.raises(nco.InstanceError):
        nco.solve({"distance": [[0]]}, "savings")


def test_genetic_search_is_deterministic_for_a_seed_under_an_iteration_limit():
    from nco.solvers.genetic import genetic

    instance = random_cvrp(40, seed=11)
    a = genetic(instance, time_limit=60, seed=5, max_iterations=150)
    b = genetic(instance, time_limit=60, seed=5, max_iterations=150)
    assert a.routes == b.routes and a.cost == b.cost == evaluate(instance, a.routes)
    assert a.cost <= nco.solve(instance, "savings").cost


def test_genetic_first_population_holds_the_seed_solutions():
    from nco.solvers.genetic import GeneticSearch, Params
    from nco.solvers.common import Clock
    from nco.data import to_sequence

    instance = random_cvrp(30, seed=12)
    seeds = [nco.solve(instance, name) for name in ("savings", "nearest")]
    search = GeneticSearch(instance, seed=0, params=Params(mu=5, lam=20))  # 4 mu + 2 seeds fit: no trimming yet
    search.initial_population([to_sequence(s.routes) for s in seeds], Clock(30.0), deadline=None)
    members = [tuple(ind.seq) for ind in search.feasible_pop.members]
    assert all(tuple(to_sequence(s.routes)) in members for s in seeds)
    assert search.best.distance <= min(s.cost for s in seeds)


def test_genetic_first_population_educates_the_seeds_first_and_makes_4_mu_children():
    from nco.data import to_sequence
    from nco.solvers.common import Clock
    from nco.solvers.genetic import GeneticSearch, Params

    instance = random_cvrp(30, seed=12)
    seeds = [to_sequence(nco.solve(instance, name).routes) for name in ("savings", "nearest")]
    search = GeneticSearch(instance, seed=0, params=Params(mu=5, lam=20))
    educated, offspring = [], search._offspring
    search._offspring = lambda seq, deadline: (educated.append(tuple(seq)), offspring(seq, deadline))
    search.initial_population(seeds, Clock(30.0), deadline=None)
    assert educated[:2] == [tuple(seq) for seq in seeds]  # the seeds, as children, before any random tour
    assert len(educated) == 4 * 5  # then random tours up to HGS's 4 mu children


def test_a_mutation_keeps_every_customer_once_and_focuses_where_it_changed_the_routes(shared, warm_kernels):
    """A mutation takes a cluster out of a parent and puts it back: every customer once, the focus holds
    those taken out; its education (on the focus first) ends at a local optimum, which a full search
    from there does not improve."""
    from nco.data import from_sequence, to_sequence
    from nco.kernels import local_search
    from nco.solvers.genetic import GeneticSearch, Params

    instance = nco.load(shared / "cvrplib/X/X-n101-k25.vrp")
    search = GeneticSearch(instance, seed=3, params=Params())
    parent = search._educate(to_sequence(nco.solve(instance, "savings").routes), search.penalty, None)
    for _ in range(5):
        routes, focus = search._mutation(parent)
        assert sorted(c for r in from_sequence(routes) for c in r) == list(range(1, instance.num_nodes))
        child = search._make(routes)
        moved = [c for c in range(1, instance.num_nodes)
                 if (parent.succ[c], parent.pred[c]) != (child.succ[c], child.pred[c])]
        focused = [set(r) for r in from_sequence(routes) if set(r) & set(focus.tolist())]
        assert moved and all(any(c in r for r in focused) for c in moved)  # every changed route is in focus
        child = search._educate(routes, search.penalty, None, focus)
        again, _ = local_search(search.dist, search.demand, search.capacity, child.seq, search.neighbours,
                                penalty=search.penalty)
        assert again == pytest.approx(child.penalised(search.penalty))


def test_a_repair_focused_on_overloaded_routes_finds_what_a_full_search_finds():
    """Raising the penalty changes only moves that touch an overloaded route, so the repair's search may
    start there: the same result as a search of every pair, with the same seed."""
    from nco.kernels import local_search
    from nco.solvers.genetic import GeneticSearch, Params

    instance = random_cvrp(80, seed=4)
    search = GeneticSearch(instance, seed=1, params=Params())
    children = [search._educate(search.random_routes(), f * search.penalty, None) for f in (0.2, 0.3, 0.5) * 3]
    overloaded = [c for c in children if not c.feasible]  # a low penalty leaves routes over capacity
    foci = [search._overloaded(child) for child in overloaded]
    assert any(0 < f.size < instance.num_nodes - 1 for f in foci)  # some routes over capacity, not all
    for child, focus in zip(overloaded, foci):
        args = (search.dist, search.demand, search.capacity, child.seq, search.neighbours)
        full = local_search(*args, seed=7, penalty=10 * search.penalty)
        focused = local_search(*args, seed=7, penalty=10 * search.penalty, focus=focus)
        assert full[0] == pytest.approx(focused[0]) and np.array_equal(full[1], focused[1])


def test_genetic_search_without_seeds_starts_from_savings_on_large_instances(monkeypatch):
    """Above SAVINGS_FROM nodes (where educating random tours takes seconds) a run without seeds gets
    savings' routes as its first seed; below, and with seeds of its own, it does not."""
    import importlib

    from nco.solvers.constructive import nearest_neighbour

    module = importlib.import_module("nco.solvers.genetic")  # nco.solvers.genetic is also the function
    given = []

    def run(self, clock, seeds, max_iterations):
        given.append([np.asarray(s) for s in seeds])
        return self._make(seeds[0] if seeds else self.random_routes())

    monkeypatch.setattr(module.GeneticSearch, "run", run)
    large, small = random_cvrp(module.SAVINGS_FROM, seed=3), random_cvrp(100, seed=3)
    module.genetic(large, time_limit=5)
    module.genetic(small, time_limit=5)
    module.genetic(large, time_limit=5, initial=nearest_neighbour(large))
    savings = module.GeneticSearch(large, 0, module.Params()).savings()
    assert len(given[0]) == 1 and np.array_equal(given[0][0], savings)
    assert given[1] == [] and len(given[2]) == 1 and not np.array_equal(given[2][0], savings)


def test_genetic_search_on_x_beats_local_search(shared, warm_kernels):
    instance = nco.load(shared / "cvrplib/X/X-n101-k25.vrp")
    ga = nco.solve(instance, "ga", time_limit=3)
    assert ga.cost < nco.solve(instance, "ls").cost and ga.runtime <= 3 * 1.05
    assert [c for _, c in ga.history] == sorted([c for _, c in ga.history], reverse=True)


def test_kernel_warm_up_runs_before_the_clock(monkeypatch):
    import time

    import nco.api

    calls = []
    monkeypatch.setattr(nco.api, "warm_up", lambda: calls.append(time.sleep(1.0)))  # a slow first compile
    solution = nco.solve(random_cvrp(30, seed=2), "ls", time_limit=0.5)
    assert calls and solution.runtime < 0.5  # the compile did not count against the limit


@pytest.mark.parametrize("seed", ["1", None, float("nan"), -1, 2**64, True, 1.5])
def test_every_solver_refuses_a_seed_it_cannot_use_in_one_place(seed):
    for solver in ("ls", "ga", "nearest"):
        with pytest.raises(SolverError, match="seed: expected an integer"):
            nco.solve(random_cvrp(10, seed=1), solver, time_limit=1, seed=seed)


def test_an_initial_solution_of_the_wrong_type_is_named():
    with pytest.raises(SolverError, match="initial: expected a Solution"):
        nco.solve(random_cvrp(10, seed=1), "ortools", time_limit=1, initial=[[1, 2]])
