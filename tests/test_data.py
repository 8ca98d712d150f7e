"""Instances, generators, VRPLIB/TSPLIB reading and writing, known values, bad input."""

import csv

import numpy as np
import pytest

import nco
from nco.data import (CVRPInstance, InstanceError, SolutionError, TSPInstance, cvrp, evaluate, known_value,
                      random_cvrp, random_tsp, read_instance, read_solution, tsp,
                      write_solution)


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_x_solution_reproduces_its_bks(shared):
    rows = _rows(shared / "cvrplib/X/bks.csv")
    assert len(rows) == 50
    for row in rows:
        instance = read_instance(shared / f"cvrplib/X/{row['instance']}.vrp")
        assert instance.num_customers == int(row["n"]) and instance.capacity == int(row["capacity"])
        routes, stated = read_solution(shared / f"cvrplib/X/{row['instance']}.sol")
        assert evaluate(instance, routes) == float(row["bks"]) == stated, row["instance"]


def test_optimal_tours_reproduce_tsplib_optima(shared):
    optima = {r["instance"]: float(r["optimum"]) for r in _rows(shared / "tsplib/optima.csv")}
    checked = set()
    for tour in sorted((shared / "tsplib/opt_tours").glob("*.opt.tour")):
        name = tour.name.split(".")[0]
        if name not in optima:
            continue
        instance = read_instance(shared / f"tsplib/{name}.tsp")
        routes, _ = read_solution(tour)
        assert evaluate(instance, routes) == optima[name], name
        checked.add(instance_type(shared, name))
    # every rounding rule with an optimal tour is covered: EUC_2D, ATT, GEO and explicit matrices
    assert {"EUC_2D", "ATT", "GEO", "EXPLICIT"} <= checked


def instance_type(shared, name):
    return next(r["edge_weight_type"] for r in _rows(shared / "tsplib/optima.csv") if r["instance"] == name)


def test_every_tsplib_file_reads_with_its_dimension(shared):
    for row in _rows(shared / "tsplib/optima.csv"):
        instance = read_instance(shared / f"tsplib/{row['instance']}.tsp")
        assert instance.num_nodes == int(row["dimension"])
        assert instance.symmetric
    for row in _rows(shared / "tsplib/atsp/optima.csv"):
        instance = read_instance(shared / f"tsplib/atsp/{row['name']}.atsp")
        assert instance.num_nodes == int(row["dimension"])


def test_ceil_2d_rounds_up(shared):
    instance = read_instance(shared / "tsplib/dsj1000.tsp")
    c = instance.coords
    assert instance.distance[0, 1] == np.ceil(np.hypot(*(c[0] - c[1])))


def test_explicit_layouts_agree():
    full = np.array([[0, 1, 2, 3], [1, 0, 4, 5], [2, 4, 0, 6], [3, 5, 6, 0]], dtype=float)
    streams = {
        "UPPER_ROW": [1, 2, 3, 4, 5, 6], "LOWER_ROW": [1, 2, 4, 3, 5, 6],
        "UPPER_DIAG_ROW": [0, 1, 2, 3, 0, 4, 5, 0, 6, 0], "LOWER_DIAG_ROW": [0, 1, 0, 2, 4, 0, 3, 5, 6, 0],
        "UPPER_COL": [1, 2, 4, 3, 5, 6], "LOWER_COL": [1, 2, 3, 4, 5, 6],
        "UPPER_DIAG_COL": [0, 1, 0, 2, 4, 0, 3, 5, 6, 0], "LOWER_DIAG_COL": [0, 1, 2, 3, 0, 4, 5, 0, 6, 0],
    }
    for fmt, values in streams.items():
        assert np.array_equal(nco.data.explicit_matrix(np.array(values, float), fmt, 4), full), fmt


def test_known_values_are_found_beside_the_file(shared):
    assert known_value(shared / "cvrplib/X/X-n101-k25.vrp") == 27591
    assert known_value(shared / "tsplib/kroA100.tsp") == 21282
    assert known_value(shared / "cvrplib/classic/A-n32-k5.vrp") == 784


def test_solutions_round_trip(tmp_path, shared):
    cvrp = read_instance(shared / "cvrplib/X/X-n101-k25.vrp")
    solution = nco.solve(cvrp, "savings")
    write_solution(tmp_path / "x.sol", cvrp, solution)
    routes, cost = read_solution(tmp_path / "x.sol")
    assert routes == solution.routes and cost == solution.cost
    tsp = read_instance(shared / "tsplib/kroA100.tsp")
    solution = nco.solve(tsp, "savings")
    write_solution(tmp_path / "t.tour", tsp, solution)
    text = (tmp_path / "t.tour").read_text()
    assert "TOUR_SECTION\n1\n" in text and text.rstrip().endswith("-1\nEOF")
    routes, _ = read_solution(tmp_path / "t.tour")
    assert evaluate(tsp, routes) == solution.cost
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".nco-")] == []


def test_generators_are_seeded_and_kool_compatible():
    a, b = random_cvrp(50, batch=3, seed=7), random_cvrp(50, batch=3, seed=7)
    assert all(np.array_equal(x.distance, y.distance) and np.array_equal(x.demand, y.demand) for x, y in zip(a, b))
    assert a[0].capacity == 40 and 1 <= a[0].demand[1:].min() and a[0].demand.max() <= 9
    assert not np.array_equal(random_tsp(20, seed=1).coords, random_tsp(20, seed=2).coords)
    clustered = random_tsp(200, seed=3, distribution="clustered")
    assert clustered.coords.min() >= 0 and clustered.coords.max() <= 1
    # Kool's generate_data.py draws, after np.random.seed(1234): depot, locations, demand.
    state = np.random.RandomState(1234)
    depot, locs = state.uniform(size=(4, 2)), state.uniform(size=(4, 20, 2))
    data = cvrp.kool_arrays(20, 4)
    assert np.array_equal(data["coords"][:, 0], depot) and np.array_equal(data["coords"][:, 1:], locs)
    assert data["capacity"] == 30
    assert np.array_equal(tsp.kool_arrays(20, 3)["coords"], np.random.RandomState(1234).uniform(size=(3, 20, 2)))


def test_instances_are_immutable():
    instance = random_cvrp(10, seed=0)
    with pytest.raises(ValueError):
        instance.distance[0, 1] = 5.0
    with pytest.raises(AttributeError):
        instance.capacity = 3


@pytest.mark.parametrize("kwargs, field", [
    ({"distance": [[0, 1], [1, 0]], "demand": [0, 5], "capacity": 4}, "demand"),
    ({"distance": [[0, -1], [1, 0]], "demand": [0, 1], "capacity": 4}, "distance"),
    ({"distance": [[0, np.nan], [1, 0]], "demand": [0, 1], "capacity": 4}, "distance"),
    ({"distance": np.zeros((0, 0)), "demand": [], "capacity": 4}, "distance"),
    ({"distance": [[0, 1], [1, 0]], "demand": [0, 1.5], "capacity": 4}, "demand"),
    ({"distance": [[0, 1], [1, 0]], "demand": [0, 1], "capacity": 0}, "capacity"),
    ({"distance": [[0, 1, 2], [1, 0, 1]], "demand": [0, 1], "capacity": 4}, "distance"),
])
def test_bad_instances_name_the_field(kwargs, field):
    with pytest.raises(InstanceError) as info:
        CVRPInstance(**kwargs)
    assert info.value.field == field and field in str(info.value)


def test_bad_solutions_are_named():
    instance = random_cvrp(5, seed=0, capacity=20)
    with pytest.raises(SolutionError, match="customer 5 is never visited"):
        evaluate(instance, [[1, 2, 3, 4]])
    with pytest.raises(SolutionError, match="more than once"):
        evaluate(instance, [[1, 2, 3, 4, 5, 1]])
    with pytest.raises(SolutionError, match="at most"):
        evaluate(TSPInstance.from_coords(instance.coords), [[1, 2], [3, 4, 5]])


VALID = """NAME : tiny
TYPE : CVRP
DIMENSION : 3
EDGE_WEIGHT_TYPE : EUC_2D
CAPACITY : 10
NODE_COORD_SECTION
1 0 0
2 3 4
3 6 8
DEMAND_SECTION
1 0
2 4
3 5
DEPOT_SECTION
1
-1
EOF
"""


@pytest.mark.parametrize("text, field", [
    (VALID.replace("DEMAND_SECTION\n1 0\n2 4\n3 5\n", ""), "DEMAND_SECTION"),
    (VALID.replace("DIMENSION : 3", "DIMENSION : 4"), "NODE_COORD_SECTION"),
    (VALID.replace("2 3 4", "2 3 four"), "NODE_COORD_SECTION"),
    (VALID.replace("CAPACITY : 10", "CAPACITY : ten"), "CAPACITY"),
    (VALID.replace("3 5\n", "3 50\n"), "demand"),
    (VALID.replace("EUC_2D", "SPHERE_3D"), "EDGE_WEIGHT_TYPE"),
    (VALID.replace("DIMENSION : 3\n", ""), "DIMENSION"),
    (VALID.replace("TYPE : CVRP", "TYPE : VRPTW"), "TYPE"),
])
def test_malformed_files_name_file_and_field(tmp_path, text, field):
    path = tmp_path / "bad.vrp"
    path.write_text(text)
    with pytest.raises(InstanceError) as info:
        read_instance(path)
    assert str(path) in str(info.value) and field in str(info.value)


def test_valid_tiny_file_and_empty_file(tmp_path):
    path = tmp_path / "tiny.vrp"
    path.write_text(VALID)
    instance = read_instance(path)
    assert instance.distance[0, 2] == 10 and list(instance.demand) == [0, 4, 5]
    empty = tmp_path / "empty.vrp"
    empty.write_text("")
    with pytest.raises(InstanceError, match="empty"):
        read_instance(empty)
    with pytest.raises(InstanceError, match="cannot read"):
        read_instance(tmp_path / "missing.vrp")


def test_explicit_section_with_wrong_count(tmp_path):
    path = tmp_path / "bad.tsp"
    path.write_text("NAME: bad\nTYPE: TSP\nDIMENSION: 4\nEDGE_WEIGHT_TYPE: EXPLICIT\n"
                    "EDGE_WEIGHT_FORMAT: UPPER_ROW\nEDGE_WEIGHT_SECTION\n1 2 3 4 5\nEOF\n")
    with pytest.raises(InstanceError, match="expected 6 edge weights"):
        read_instance(path)


def _cvrp_text(coord_rows, demand_rows):
    return ("NAME : ids\nTYPE : CVRP\nDIMENSION : 4\nEDGE_WEIGHT_TYPE : EUC_2D\nCAPACITY : 10\nNODE_COORD_SECTION\n"
            + "".join(f"{r}\n" for r in coord_rows) + "DEMAND_SECTION\n" + "".join(f"{r}\n" for r in demand_rows)
            + "DEPOT_SECTION\n1\n-1\nEOF\n")


COORDS = ["1 0 0", "2 0 10", "3 30 0", "4 10 10"]
DEMANDS = ["1 0", "2 4", "3 2", "4 7"]


def test_node_ids_not_file_order_say_which_row_is_which_node(tmp_path):
    from conftest import DATA

    ordered, shuffled = tmp_path / "ordered.vrp", tmp_path / "shuffled.vrp"
    ordered.write_text(_cvrp_text(COORDS, DEMANDS))
    shuffled.write_text(_cvrp_text(COORDS[::-1], [DEMANDS[i] for i in (2, 0, 3, 1)]))
    a, b = read_instance(ordered), read_instance(shuffled)
    assert np.array_equal(a.distance, b.distance) and np.array_equal(a.demand, b.demand)
    assert b.demand.tolist() == [0, 4, 2, 7] and b.coords[2].tolist() == [30, 0]
    lines = (DATA / "kroD100.tsp").read_text().splitlines()  # a real TSPLIB file, its city lines reversed
    head = lines.index("NODE_COORD_SECTION") + 1
    reversed_file = tmp_path / "kroD100.tsp"
    reversed_file.write_text("\n".join(lines[:head] + lines[head:-1][::-1] + ["EOF"]) + "\n")
    assert np.array_equal(read_instance(reversed_file).distance, read_instance(DATA / "kroD100.tsp").distance)


@pytest.mark.parametrize("coords, demands, message", [
    (["1 0 0", "2 0 10", "2 30 0", "4 10 10"], DEMANDS, "node 2 appears twice"),
    (COORDS, ["1 0", "2 4", "3 2", "5 7"], "node id 5 is outside 1..4"),
    (COORDS, ["1 0", "2 4", "3 2", "x 7"], "expected a node id"),
    (["0 0 0", "2 0 10", "3 30 0", "4 10 10"], DEMANDS, "node id 0 is outside 1..4"),
])
def test_duplicate_missing_or_foreign_node_ids_are_refused(tmp_path, coords, demands, message):
    path = tmp_path / "bad.vrp"
    path.write_text(_cvrp_text(coords, demands))
    with pytest.raises(InstanceError, match=message) as info:
        read_instance(path)
    assert str(path) in str(info.value) and "_SECTION" in str(info.value)


@pytest.mark.parametrize("demand, capacity, message", [
    ([0, 4 * 10**18, 4 * 10**18], 9 * 10**18, "total is at most 2\\*\\*53"),  # used to wrap around in a route's load
    ([0, 2**70, 1], 10, "total is at most 2\\*\\*53"),  # above int64: used to wrap to a negative demand
    ([0, 1, 1], 10**30, "capacity of at most 2\\*\\*53"),
    ([0, 1, 1], 2**63 + 5, "capacity of at most 2\\*\\*53"),
    ([0, 1 + 2j, 1], 10, "complex"),
])
def test_quantities_the_kernels_cannot_sum_exactly_are_refused(demand, capacity, message):
    with pytest.raises(InstanceError, match=message):
        CVRPInstance(distance=np.ones((3, 3)) - np.eye(3), demand=demand, capacity=capacity)


def test_complex_matrices_and_coordinates_are_refused_not_truncated():
    matrix = (np.ones((3, 3)) - np.eye(3)) * (1 + 1j)
    with pytest.raises(InstanceError, match="field 'distance': expected real"):
        TSPInstance(distance=matrix)
    with pytest.raises(InstanceError, match="field 'coords': expected real"):
        TSPInstance(distance=matrix.real, coords=np.zeros((3, 2)) + 1j)


@pytest.mark.parametrize("text, field", [
    ("NAME : x\nTYPE : CVRP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EUC_2D\nCAPACITY : 99999999999999999999999\n"
     "NODE_COORD_SECTION\n1 0 0\n2 1 1\n3 2 2\nDEMAND_SECTION\n1 0\n2 1\n3 1\nDEPOT_SECTION\n1\n-1\nEOF\n", "CAPACITY"),
    ("NAME : x\nTYPE : CVRP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EUC_2D\nCAPACITY : 9\nNODE_COORD_SECTION\n1 0 0\n"
     "2 1 1\n3 2 2\nDEMAND_SECTION\n1 0\n2 1\n3 1\nDEPOT_SECTION\nA\n-1\nEOF\n", "DEPOT_SECTION"),
    ("NAME : x\nTYPE : TSP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 inf 1\n3 2 2\nEOF\n",
     "NODE_COORD_SECTION"),
])
def test_file_faults_that_used_to_raise_from_numpy_are_one_line(tmp_path, text, field):
    import subprocess
    import sys

    path = tmp_path / ("bad.tsp" if "TSP" in text else "bad.vrp")
    path.write_text(text)
    run = subprocess.run([sys.executable, "-m", "nco.cli", "solve", str(path), "--solver", "nearest"],
                         capture_output=True, text=True)
    assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr  # no traceback, no NumPy warning
    assert str(path) in run.stderr and field.lower() in run.stderr.lower()
