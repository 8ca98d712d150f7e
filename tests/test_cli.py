"""The ``nco`` command line: solve, write, report, and one-line errors with exit status 2."""

import subprocess
import sys

import pytest

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


def test_demo_instance_without_path(capsys):
    assert main(["solve", "--solver", "savings", "--num-nodes", "20"]) == 0
    assert "cvrp20" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["solve", "--solver", "nope"], "unknown solver 'nope'"),
    (["solve", "--time-limit", "0"], "time_limit"),
    (["solve", "missing.vrp"], "missing.vrp"),
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
