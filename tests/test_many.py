"""nco.solve_many over a local Ray of 2 workers: a worker killed mid-run loses and repeats nothing, a run
resumes from its file and refuses another run's, a malformed file gets its own error row, an unreachable
cluster one clear error."""

import csv
import json
import os
import signal

import pytest

from nco import NcoError, solve_many
from nco.data import evaluate
from nco.many import _draw, instance_keys

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the module (each start costs seconds): 2 worker cores, as on the CI machine."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=128 * 2**20)
    yield
    ray.shutdown()


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _checked(row):
    """The row's solution recomputed by the checker from its routes: its cost."""
    return evaluate(_draw(row["key"]), [tuple(r) for r in json.loads(row["routes"])])


def test_a_worker_killed_mid_run_loses_and_repeats_no_instance(local_ray, tmp_path):
    """Once both workers have answered, the next answer from one kills the other while it solves: Ray retries
    that instance on a new worker, and every instance is in the file exactly once with a checked solution."""
    out, count = tmp_path / "runs.csv", 12
    seen: list[int] = []
    killed: list[int] = []

    def kill_the_other(row):
        pid = int(row["worker"].rsplit(":", 1)[1])
        if pid not in seen:
            seen.append(pid)
        if len(seen) >= 2 and not killed:
            other = next(p for p in seen if p != pid)
            os.kill(other, signal.SIGKILL)
            killed.append(other)

    solve_many(generate=f"cvrp:15:{count}", solver="ga", time_limit=1.0, out=out, progress=False,
               on_row=kill_the_other)
    rows = _rows(out)
    assert killed and sorted(r["key"] for r in rows) == sorted(instance_keys(generate=f"cvrp:15:{count}"))
    assert not any(r["error"] for r in rows)
    assert all(_checked(r) == pytest.approx(float(r["cost"]), rel=1e-8) for r in rows)
    pids = {int(r["worker"].rsplit(":", 1)[1]) for r in rows}
    assert pids - set(seen[:2]), "no instance was solved by the worker Ray started after the kill"


def test_a_run_resumes_from_its_file_and_refuses_another_runs(local_ray, tmp_path):
    out = tmp_path / "runs.csv"
    solve_many(generate="tsp:8:4", solver="nearest", time_limit=1.0, out=out, progress=False)
    lines = out.read_text().splitlines(keepends=True)
    assert len(lines) == 5
    out.write_text("".join(lines[:2]) + lines[2][:15])  # one row kept, the next cut mid-write
    got: list[str] = []
    solve_many(generate="tsp:8:4", solver="nearest", time_limit=1.0, out=out, progress=False,
               on_row=lambda r: got.append(r["key"]))
    rows = _rows(out)
    assert len(got) == 3 and sorted(r["key"] for r in rows) == sorted(instance_keys(generate="tsp:8:4"))
    before = out.read_bytes()
    for other in ({"solver": "savings"}, {"time_limit": 2.0}, {"generate": "tsp:8:5"}):
        with pytest.raises(NcoError, match="another run"):
            solve_many(**({"generate": "tsp:8:4", "solver": "nearest", "time_limit": 1.0} | other), out=out,
                       progress=False)
    stranger = tmp_path / "mine.csv"
    stranger.write_text("a,b\n1,2\n")
    with pytest.raises(NcoError, match="not written by nco solve-many"):
        solve_many(generate="tsp:8:4", out=stranger, progress=False)
    assert out.read_bytes() == before and stranger.read_text() == "a,b\n1,2\n"


def test_a_malformed_file_gets_its_error_row_and_the_others_are_solved(local_ray, tmp_path):
    good = tmp_path / "tiny.vrp"
    good.write_text("NAME : tiny\nTYPE : CVRP\nDIMENSION : 4\nEDGE_WEIGHT_TYPE : EUC_2D\nCAPACITY : 10\n"
                    "NODE_COORD_SECTION\n1 0 0\n2 3 4\n3 -3 4\n4 0 -5\nDEMAND_SECTION\n1 0\n2 4\n3 5\n4 6\n"
                    "DEPOT_SECTION\n1\n-1\nEOF\n")
    (tmp_path / "broken.vrp").write_text("NAME : broken\nTYPE : CVRP\nDIMENSION : 3\nNODE_COORD_SECTION\n1 0\n")
    out = tmp_path / "runs.csv"
    solve_many([tmp_path], solver="savings", time_limit=1.0, out=out, progress=False)
    rows = {os.path.basename(r["key"]): r for r in _rows(out)}
    assert set(rows) == {"tiny.vrp", "broken.vrp"}
    assert rows["broken.vrp"]["error"] and "\n" not in rows["broken.vrp"]["error"] and not rows["broken.vrp"]["cost"]
    assert not rows["tiny.vrp"]["error"] and float(rows["tiny.vrp"]["cost"]) > 0


def test_bad_inputs_and_an_unreachable_cluster_are_one_clear_error(tmp_path):
    with pytest.raises(NcoError, match="no such file"):
        instance_keys([tmp_path / "missing.vrp"])
    with pytest.raises(NcoError, match="matches no file"):
        instance_keys([str(tmp_path / "*.vrp")])
    with pytest.raises(NcoError, match="PROBLEM:SIZE:COUNT"):
        instance_keys(generate="cvrp:many")
    with pytest.raises(NcoError, match="expected a .csv"):
        solve_many(generate="tsp:8:1", out=tmp_path / "runs.parquet")
    with pytest.raises(NcoError, match="no Ray head answers"):
        solve_many(generate="tsp:8:1", out=tmp_path / "runs.csv", address="127.0.0.1:9")
