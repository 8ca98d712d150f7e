"""The ``nco`` command line: solve, write, report, and one-line errors with exit status 2."""

import subprocess
import sys

import pytest

from conftest import DATA
import nco
from nco.cli import main
from nco.data import evaluate, read_instance, read_solution


def test_solve_x_instance_writes_a_feasible_solution(shared, tmp_path, capsys):
    out = tmp_path / "x.sol"
    path = shared / "cvrplib/X/X-n101-k25.vrp"
    assert main(["solve", str(path), "--solver", "ortools", "--time-limit", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "27591" in printed and "gap %" in printed
    routes, cost = read_solution(out)
    assert evaluate(read_instance(path), routes) == cost


def test_solve_tsplib_writes_a_tour(shared, tmp_path):
    out = tmp_path / "k.tour"
    assert main(["solve", str(shared / "tsplib/kroA100.tsp"), "--solver", "ls", "--out", str(out)]) == 0
    routes, _ = read_solution(out)
    assert sorted([0, *routes[0]]) == list(range(100))


def test_real_tsplib_instance_of_tests_data_is_solved_checked_and_compared_with_its_optimum(tmp_path, capsys):
    out = tmp_path / "kroD100.tour"
    assert main(["solve", str(DATA / "kroD100.tsp"), "--solver", "ls", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "21294" in text  # the optimum, found in tests/data/optima.csv beside the file
    instance = read_instance(DATA / "kroD100.tsp")
    routes, _ = read_solution(out)  # a TSPLIB tour holds no cost: the checker gives it
    cost = evaluate(instance, routes)
    assert f"{cost:.6g}" in text and 21294 <= cost <= 1.1 * 21294


@pytest.mark.parametrize("name, field", [
    ("empty.vrp", "the file is empty"), ("over_capacity.vrp", "field 'demand'"),
    ("short_coords.vrp", "field 'NODE_COORD_SECTION'"), ("two_depots.vrp", "field 'DEPOT_SECTION'"),
    ("not_a_number.tsp", "field 'NODE_COORD_SECTION'"),
])
def test_malformed_files_of_tests_data_are_one_line_naming_the_file_and_field(name, field, capsys):
    assert main(["solve", str(DATA / name), "--solver", "nearest"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(DATA / name) in err and field in err and "Traceback" not in err


def test_demo_instance_without_path(capsys):
    assert main(["solve", "--solver", "savings", "--num-nodes", "20"]) == 0
    assert "cvrp20" in capsys.readouterr().out


def test_compare_runs_each_solver_writes_the_best_and_draws_every_one(tmp_path, capsys):
    out, png = tmp_path / "best.sol", tmp_path / "routes.png"
    assert main(["solve", "--uniform", "--num-nodes", "30", "--compare", "nearest,savings,nearest", "--time-limit",
                 "1", "--out", str(out), "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    rows = [line for line in text.splitlines() if line.startswith("│")]
    assert len(rows) == 2 and "vs nearest %" in text  # each solver once, differences to the first
    costs = {row.split("│")[1].strip(): float(row.split("│")[2]) for row in rows}
    routes, cost = read_solution(out)
    assert cost == pytest.approx(min(costs.values()), rel=1e-5)
    assert png.stat().st_size > 10_000


def test_a_solver_that_cannot_answer_leaves_the_rest_of_a_comparison_standing(tmp_path, capsys, monkeypatch):
    from nco.solvers import ortools_routing

    monkeypatch.setattr(ortools_routing, "REGISTER_COST", 1e6)  # OR-Tools' model now "cannot be built in time"
    out = tmp_path / "best.sol"
    assert main(["solve", "--uniform", "--num-nodes", "30", "--compare", "ortools,savings", "--time-limit", "1",
                 "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert [line for line in captured.out.splitlines() if line.startswith("│")][0].split("│")[1].strip() == "savings"
    assert captured.err.startswith("nco: ortools: time_limit: OR-Tools' model of 31 nodes")
    assert read_solution(out)[1] > 0
    assert main(["solve", "--uniform", "--num-nodes", "30", "--solver", "ortools", "--time-limit", "1"]) == 2
    assert capsys.readouterr().err.count("\n") == 1  # alone: its error is the command's, one line


def test_bare_solve_samples_a_bundled_city_and_compares_ortools_with_the_hybrid(capsys):
    assert main(["solve", "--num-nodes", "15", "--time-limit", "1"]) == 0
    text = capsys.readouterr().out
    assert "monaco-cvrp15" in text and "ortools" in text and "neural+ga" in text and "vs ortools %" in text


@pytest.mark.parametrize("args, message", [
    (["solve", "--solver", "nope"], "unknown solver 'nope'"),
    (["solve", "--compare", "ortools,nope"], "--compare: unknown solver 'nope'"),
    (["solve", "--compare", "ga", "--solver", "ga"], "--solver or --compare, not both"),
    (["solve", "x.vrp", "--city", "monaco"], "not several"),
    (["solve", "--time-limit", "0"], "time_limit"),
    (["solve", "missing.vrp"], "missing.vrp"),
    (["solve", "/dev/zero"], "not a regular file"),  # used to read until memory ran out
    (["solve", "/"], "not a regular file"),
])
def test_bad_input_prints_one_line_and_exits_2(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_malformed_file_from_the_installed_command(tmp_path):
    bad = tmp_path / "bad.vrp"
    bad.write_text("NAME : bad\nTYPE : CVRP\nDIMENSION : 2\nEDGE_WEIGHT_TYPE : EUC_2D\nCAPACITY : 1\n"
                   "NODE_COORD_SECTION\n1 0 0\n2 1 1\nDEMAND_SECTION\n1 0\n2 5\nEOF\n")
    run = subprocess.run([sys.executable, "-m", "nco.cli", "solve", str(bad)], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.startswith("nco: error:") and "demand" in run.stderr and str(bad) in run.stderr


def test_help_describes_commands():
    run = subprocess.run([sys.executable, "-m", "nco.cli", "solve", "--help"], capture_output=True, text=True)
    text = " ".join(run.stdout.split())  # argparse wraps lines wherever the terminal width puts them
    assert run.returncode == 0 and "--time-limit" in text and "known optimum" in text


@pytest.mark.parametrize("flag, target, message", [
    ("--out", "{tmp}/missing/x.sol", "no such folder"), ("--out", "{tmp}", "a folder"),
    ("--out", "/dev/full", "not a regular file"), ("--out", "/proc/x.sol", "cannot write in /proc"),
    ("--plot", "{tmp}/x.bogus", "expected a picture file"), ("--plot", "{tmp}/missing/x.png", "no such folder"),
])
def test_a_bad_destination_is_refused_before_any_solving(tmp_path, monkeypatch, capsys, flag, target, message):
    import nco.cli

    solved = []
    monkeypatch.setattr(nco.cli, "solve", lambda *a, **k: solved.append(1))
    assert main(["solve", "--uniform", "--num-nodes", "10", "--solver", "nearest", flag,
                 target.format(tmp=tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and flag in err and err.count("\n") == 1 and not solved


def test_writing_a_solution_goes_through_links_and_keeps_the_mode(tmp_path):
    import os

    from nco.data import random_cvrp, write_solution

    instance = random_cvrp(10, seed=1)
    solution = nco.solve(instance, "nearest")
    real, link = tmp_path / "real.sol", tmp_path / "link.sol"
    real.write_text("old")
    os.chmod(real, 0o600)
    link.symlink_to(real)
    write_solution(link, instance, solution)
    assert link.is_symlink() and "Route #1" in real.read_text() and (real.stat().st_mode & 0o777) == 0o600
    other = nco.solve(random_cvrp(12, seed=2), "nearest")
    with pytest.raises(nco.data.SolutionError):  # a solution of another instance is checked, not written
        write_solution(real, instance, other)
    assert "Route #1" in real.read_text()


def test_a_sampled_instance_that_cannot_fit_in_memory_is_refused_first(capsys):
    assert main(["solve", "--uniform", "--num-nodes", "1000000", "--solver", "nearest"]) == 2
    assert "GiB" in capsys.readouterr().err
