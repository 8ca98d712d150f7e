"""Profiled fleets (PVRP / HCVRP / HFVRP): the instance model, its checker and objective, the published sets."""

import csv
import re

import numpy as np
import pytest

from nco.data import InstanceError, SolutionError, SolverError, pvrp
from nco.data.solution import make_solution
from nco.data.vrplib_io import read_instance


def _small(**fleet):
    """Four customers, two vehicles: the second small and slow, barred from customer 4 unless told otherwise."""
    coords = np.array([[0, 0], [0, 1], [1, 1], [1, 0], [2, 0]], dtype=float)
    fleet = {"capacity": np.array([10, 3]), "speed": np.array([1.0, 0.5]), "fixed_cost": np.array([5.0, 1.0]),
             "unit_cost": np.array([1.0, 2.0]), "allowed": np.array([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=bool),
             "preference": np.array([[0, 0, 0, 1.0], [2.0, 0, 0, 0]]), **fleet}
    return pvrp.PVRPInstance.from_coords(coords, np.array([0, 2, 2, 2, 4]), **fleet)


def test_every_objective_term_is_recomputed_from_the_routes():
    instance = _small(capacity=np.array([10, 4]), time_weight=0.8, preference_weight=0.2)
    routes, vehicles = [[3, 4], [1, 2]], [0, 1]
    d = instance.distance
    dist0 = d[0, 3] + d[3, 4] + d[4, 0]
    dist1 = d[0, 1] + d[1, 2] + d[2, 0]
    cost = instance.cost_of(routes, vehicles)
    assert np.allclose(cost.distance, [dist0, dist1]) and np.allclose(cost.time, [dist0, dist1 / 0.5])
    assert cost.fixed == 6.0 and cost.unit == pytest.approx(dist0 + 2 * dist1) and cost.preference == 3.0
    assert cost.objective == pytest.approx(6 + dist0 + 2 * dist1 + 0.8 * (dist0 + 2 * dist1) - 0.2 * 3)
    minmax = _small(capacity=np.array([10, 4]), objective="min-max").cost_of(routes, vehicles)
    assert minmax.objective == pytest.approx(max(dist0, 2 * dist1)) == minmax.longest
    solution = make_solution(instance, routes, solver="test", vehicles=vehicles)
    assert solution.vehicles == (0, 1) and solution.cost == pytest.approx(cost.objective)


@pytest.mark.parametrize("routes, vehicles, message", [
    ([[1, 2, 3, 4]], [0], None),  # all on the big vehicle: fine
    ([[1, 2], [3, 4]], [1, 0], "route 0 carries more than its vehicle's capacity"),  # 4 > 3
    ([[1], [2], [3, 4]], [1, 1, 0], "vehicle 1 makes more than one trip"),
    ([[1, 2, 3], [4]], [0, 1], "customer 4 is served by a vehicle that may not serve it"),
    ([[1, 2, 3, 4]], [2], "route 0 is assigned to a vehicle the fleet does not have"),
    ([[1, 2, 3, 4]], [0, 1], "2 vehicles given"),
    ([[1, 2, 3]], [0], "customer 4 is never visited"),
    ([[1, 2, 3, 4, 1]], [0], "customer 1 is visited more than once"),
])
def test_the_checker_names_each_broken_constraint(routes, vehicles, message):
    instance = _small(capacity=np.array([12, 3]))
    if message is None:
        assert instance.cost_of(routes, vehicles).objective > 0
    else:
        with pytest.raises(SolutionError, match=message):
            instance.cost_of(routes, vehicles)


def test_reloading_vehicles_may_make_several_trips():
    instance = _small(capacity=np.array([4, 3]), multi_trip=True)
    cost = instance.cost_of([[1, 2], [3], [4]], [0, 1, 0])
    assert cost.trips.tolist() == [2, 1] and cost.fixed == 6.0  # a vehicle's fixed cost once, however many trips


@pytest.mark.parametrize("change, field", [
    ({"allowed": np.array([[1, 1, 1, 0], [1, 1, 1, 0]], dtype=bool)}, "allowed"),  # customer 4: nobody
    ({"capacity": np.array([3, 3])}, "demand"),  # customer 4's 4 fits no vehicle
    ({"capacity": np.array([6, 3])}, "capacity"),  # 10 in all, 9 of capacity, no reloading
    ({"preference": np.zeros((2, 3))}, "preference"),
    ({"allowed": np.ones((3, 4), dtype=bool)}, "allowed"),
    ({"speed": np.array([1.0, 0.0])}, "speed"),
    ({"fixed_cost": np.array([1.0, -1.0])}, "fixed_cost"),
    ({"unit_cost": np.array([1.0, np.nan])}, "unit_cost"),
    ({"capacity": np.array([10, 0])}, "capacity"),
    ({"objective": "min-avg"}, "objective"),
    ({"preference_weight": -1}, "preference_weight"),
])
def test_bad_fleets_are_refused_naming_the_field(change, field):
    with pytest.raises(InstanceError, match=f"field '{field}'"):
        _small(**change)


def test_the_hcvrp_generator_reproduces_the_staged_test_sets(shared):
    """2D-Ptr's generator, seed 24610: every array of every staged set, bit for bit."""
    for path in sorted((shared / "hetero/hcvrp").glob("hcvrp_v*_seed24610.npz")):
        vehicles, customers = (int(part[1:]) if part[0] == "v" else int(part) for part in path.stem.split("_")[1:3])
        staged = np.load(path)
        drawn = pvrp.hcvrp_arrays(customers, vehicles, len(staged["depot"]), 24610)
        for key, array in drawn.items():
            assert array.dtype == staged[key].dtype and np.array_equal(array, staged[key]), (path.name, key)


def test_a_staged_hcvrp_set_reads_as_the_generated_instances(shared):
    staged = pvrp.read_hcvrp_set(str(shared / "hetero/hcvrp/hcvrp_v3_40_seed24610.npz"))[:3]
    arrays = pvrp.hcvrp_arrays(40, 3, 1280, 24610)  # the draws depend on the set's size, as in 2D-Ptr
    drawn = pvrp.hcvrp_instances({key: array[:3] for key, array in arrays.items()}, ["a", "b", "c"])
    for a, b in zip(staged, drawn):
        assert np.array_equal(a.distance, b.distance) and np.array_equal(a.capacity, b.capacity)
        assert np.array_equal(a.speed, b.speed) and a.multi_trip and a.objective == "min-max"
    assert staged[0].demand.sum() > staged[0].capacity.sum()  # why the vehicles must reload


def test_the_checker_recomputes_every_shared_hfvrp_best_known_cost(shared):
    folder = shared / "hetero/hfvrp"
    with open(folder / "hfvrp_bks.csv") as table:
        bks = {row["instance"]: float(row["bks_recomputed_original_units"]) for row in csv.DictReader(table)}
    files = sorted(folder.glob("*.vrp"))
    assert len(files) == 43
    for path in files:
        instance = read_instance(path, pvrp)
        trips, vehicles, _ = pvrp.read_fleet_solution(str(path.with_suffix(".sol")))
        cost = instance.cost_of(trips, vehicles)
        assert cost.objective == pytest.approx(bks[instance.name], abs=0.006), path.name  # BKS to 2 decimals
        assert cost.objective == pytest.approx(cost.fixed + cost.unit)  # no time or preference terms


def test_a_fleet_solution_file_round_trips_with_its_vehicles(tmp_path):
    instance = _small(capacity=np.array([4, 3]), multi_trip=True)
    solution = make_solution(instance, [[1, 2], [3], [4]], vehicles=[0, 1, 0])
    path = tmp_path / "fleet.sol"
    path.write_text(pvrp.solution_text(instance, solution, f"{solution.cost:.6f}"))
    assert path.read_text().splitlines()[0] == "Route #1: 1 2 0 4"  # the reload between vehicle 1's trips
    trips, vehicles, cost = pvrp.read_fleet_solution(str(path))
    assert make_solution(instance, trips, vehicles=vehicles).cost == pytest.approx(solution.cost)
    assert sorted(zip(trips, vehicles)) == sorted(zip(solution.routes, solution.vehicles))
    assert cost == pytest.approx(solution.cost, abs=1e-6)


def test_an_hfvrp_file_whose_vehicle_sections_disagree_is_refused(shared, tmp_path):
    text = (shared / "hetero/hfvrp/X115-HVRP.vrp").read_text().replace("VEHICLES: 19", "VEHICLES: 20")
    (tmp_path / "bad.vrp").write_text(text)
    with pytest.raises(InstanceError, match="VEHICLES is 20 but the section has 19 lines"):
        read_instance(tmp_path / "bad.vrp", pvrp)


@pytest.mark.parametrize("pattern", pvrp.PREFERENCES)
def test_camp_preference_patterns(pattern):
    instances = pvrp.random_pvrp(60, 5, "pvrp-p", pattern, batch=20, seed=3)
    again = pvrp.random_pvrp(60, 5, "pvrp-p", pattern, batch=20, seed=3)
    assert all(np.array_equal(a.preference, b.preference) for a, b in zip(instances, again))  # seeded
    for instance in instances:
        p = instance.preference
        assert p.shape == (5, 60) and instance.multi_trip and set(instance.capacity.tolist()) == {40}
        assert (instance.time_weight, instance.preference_weight) == (0.8, 0.2)
        if pattern == "pi":  # each customer in exactly one vehicle's sector
            assert set(np.unique(p).tolist()) <= {0.0, 1.0} and (p.sum(0) == 1).all()
        else:
            assert (p >= 0).all() and (p <= 1).all()
        if pattern == "cluster":  # each vehicle's centre is one of the customers: a preference of exactly 1
            assert np.allclose(p.max(1), 1.0)


@pytest.mark.parametrize("pattern", pvrp.ZONES)
def test_camp_zones_are_a_hard_mask_every_customer_can_meet(pattern):
    instances = pvrp.random_pvrp(60, 7, "pvrp-zc", pattern, batch=20, seed=4)
    barred = np.array([(~i.allowed).sum(0) for i in instances])  # [instances, customers] vehicles barred
    assert (barred <= 6).all() and barred.mean() > 0  # somebody may always come, and zones do bar
    if pattern == "random":
        assert (barred <= int(2 / 3 * 7)).all()
        assert all(len(set(row.tolist())) == 1 for row in barred)  # one rate per instance: int(r m) each
    assert instances[0].preference_weight == 0 and instances[0].time_weight == 1


def test_unknown_presets_and_patterns_are_refused():
    with pytest.raises(InstanceError, match="field 'preset'"):
        pvrp.random_pvrp(10, 3, "pvrp-x")
    with pytest.raises(InstanceError, match="field 'distribution'"):
        pvrp.random_pvrp(10, 3, "pvrp-zc", "cluster")


@pytest.mark.parametrize("make", [
    lambda: pvrp.random_hcvrp(30, 3, seed=2),  # min-max, reloads
    lambda: pvrp.random_pvrp(30, 3, "pvrp-p", "pi", seed=2),  # preferences
    lambda: pvrp.random_pvrp(30, 5, "pvrp-zc", "random", seed=2),  # zones
])
def test_ortools_solves_every_preset_within_its_constraints(make):
    from nco.solvers.ortools_fleet import ortools_fleet

    instance = make()
    solution = ortools_fleet(instance, time_limit=2)
    cost = instance.cost_of(solution.routes, solution.vehicles)  # the checker: zones, capacities, reloads
    assert solution.cost == pytest.approx(cost.objective) and solution.runtime <= 2 * 1.05
    assert len(solution.vehicles) == len(solution.routes) and cost.trips.sum() == len(solution.routes)
    if instance.multi_trip:
        assert cost.trips.max() > 1  # the demand is above the fleet's capacity: somebody reloads


def test_ortools_on_an_hfvrp_file_uses_the_fleet_it_is_given(shared):
    from nco.solvers.ortools_fleet import ortools_fleet

    instance = read_instance(shared / "hetero/hfvrp/X110-HD.vrp", pvrp)
    solution = ortools_fleet(instance, time_limit=3)
    cost = instance.cost_of(solution.routes, solution.vehicles)
    assert cost.trips.max() == 1 and len(set(solution.vehicles)) == len(solution.routes)  # one trip each
    assert 15859.34 <= solution.cost < 1.2 * 15859.34  # not below the best known, not far above


def test_nco_solve_draws_a_preset_solves_it_and_writes_a_checked_fleet_solution(tmp_path, capsys):
    from nco.cli import main

    out, png = tmp_path / "fleet.sol", tmp_path / "fleet.png"
    assert main(["solve", "--problem", "hcvrp", "--num-vehicles", "5", "--num-nodes", "25", "--time-limit", "1",
                 "--out", str(out), "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    # the default compare: ortools and ga side by side, each vehicle of the better one's solution below
    assert re.search(r"│\s+ortools\s+│", text) and re.search(r"│\s+ga\s+│", text) and "longest time" in text
    assert "ga's vehicles (min-max objective" in text or "ortools's vehicles (min-max objective" in text
    instance = pvrp.random_fleet(25, seed=0, preset="hcvrp", num_vehicles=5)
    trips, vehicles, cost = pvrp.read_fleet_solution(str(out))
    assert make_solution(instance, trips, vehicles=vehicles).cost == pytest.approx(cost, abs=1e-5)
    assert png.stat().st_size > 10_000


def test_nco_solve_reads_an_hfvrp_file_and_reports_its_gap(shared, capsys):
    from nco.cli import main

    assert main(["solve", str(shared / "hetero/hfvrp/X110-HD.vrp"), "--time-limit", "2"]) == 0
    assert "15859.3" in capsys.readouterr().out  # the best-known value, from the folder's table


@pytest.mark.parametrize("args, message", [
    (["solve", "--problem", "pvrp-p", "--solver", "nearest"], "'nearest' does not solve the PVRP (yet)"),
    (["solve", "--problem", "pvrp-zc", "--solver", "neural"], "no shipped camp checkpoint for pvrp-zc instances"),
    (["solve", "--problem", "pvrp-zc", "--distribution", "cluster"], "field 'distribution'"),
    (["solve", "--problem", "hcvrp", "--num-vehicles", "0"], "--num-vehicles: expected at least 1, got 0"),
])
def test_what_cannot_solve_a_fleet_says_so_in_one_line(args, message, capsys):
    from nco.cli import main

    assert main(args + ["--num-nodes", "10", "--time-limit", "1"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize("make", [
    lambda: pvrp.random_hcvrp(40, 5, seed=5),
    lambda: pvrp.random_pvrp(40, 3, "pvrp-p", "cluster", seed=5),
    lambda: pvrp.random_pvrp(40, 7, "pvrp-zc", "pi", seed=5),
])
def test_cheapest_insertion_builds_a_checked_solution_of_every_preset(make):
    from nco.solvers.pvrp import insertion

    instance = make()
    solution = insertion(instance, time_limit=1)
    assert solution.solver == "insertion" and solution.cost == pytest.approx(
        instance.cost_of(solution.routes, solution.vehicles).objective)


@pytest.mark.parametrize("make", [
    lambda: pvrp.random_pvrp(60, 3, "pvrp-p", "cluster", seed=1),
    lambda: pvrp.random_pvrp(60, 7, "pvrp-zc", "pi", seed=2),
    lambda: pvrp.random_pvrp(60, 5, "pvrp-zc", "random", seed=3),
])
def test_fleet_savings_keeps_each_route_on_some_vehicle_and_beats_insertion_on_min_sum(make):
    from nco.kernels.fleet_savings import fleet_savings
    from nco.solvers.pvrp import insertion, savings

    instance = make()
    allowed = instance.node_mask()
    order, starts = fleet_savings(instance.distance, instance.demand, instance.capacity, allowed, True,
                                  np.zeros((instance.num_nodes, 0), dtype=np.int64))
    assert sorted(order) == list(range(1, instance.num_nodes))
    for route in np.split(order, starts[1:]):
        fits = allowed[:, route].all(1) & (instance.capacity >= instance.demand[route].sum())
        assert fits.any()  # zones stay whole: one vehicle may serve and carry the whole route
    solution = savings(instance, time_limit=1)
    assert solution.solver == "savings" and solution.cost == pytest.approx(
        instance.cost_of(solution.routes, solution.vehicles).objective)  # the checker: zones included
    assert solution.cost < insertion(instance, time_limit=1).cost


def test_savings_on_hfvrp_files_prices_the_fleet_and_says_when_a_tight_one_defeats_it(shared):
    from nco.solvers.pvrp import insertion, savings

    instance = read_instance(shared / "hetero/hfvrp/X143-FSMF.vrp", pvrp)
    solution = savings(instance, time_limit=2)
    assert solution.cost == pytest.approx(instance.cost_of(solution.routes, solution.vehicles).objective)
    assert 11021.57 <= solution.cost < 1.15 * 11021.57  # the best known; insertion is 5 times as dear
    assert solution.cost < 0.5 * insertion(instance, time_limit=2).cost
    with pytest.raises(SolverError, match="savings: its routes of X214-HVRP do not fit the fleet"):
        savings(read_instance(shared / "hetero/hfvrp/X214-HVRP.vrp", pvrp), time_limit=2)


def test_insertion_says_when_a_tight_fleet_defeats_it_and_ortools_still_answers(shared):
    from nco.solvers.pvrp import SOLVERS

    instance = read_instance(shared / "hetero/hfvrp/X115-HVRP.vrp", pvrp)  # 19 vehicles, filled to 96%
    with pytest.raises(SolverError, match="no order of X115-HVRP's customers fits its fleet"):
        SOLVERS["insertion"](instance, time_limit=2)
    assert SOLVERS["ortools"](instance, time_limit=2).cost > 19412.56


def test_min_max_ortools_starts_from_the_insertion_solution():
    from nco.solvers.pvrp import insertion, ortools

    instance = pvrp.random_hcvrp(40, 3, seed=0)
    start = insertion(instance, time_limit=1).cost
    solution = ortools(instance, time_limit=2)
    assert solution.cost <= start + 1e-9 and solution.history[0][1] <= start + 1e-6
