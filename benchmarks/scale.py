"""Scale (issue 23): ``nco solve-many``'s throughput on a local Ray with 1 and 2 workers.

The same drawn instances (CVRP, ``--size`` customers, ``--count`` of them) solved by ``--solver`` for
``--seconds`` each, once with one worker and once with two, on a Ray started with that many cores. Each
run's workers first solve one instance each (loading the Numba kernels), outside the clock; the clock
then runs from the first task's submission to the last row written, so Ray's start is not in it either.

    python benchmarks/scale.py ray [--count 24 --seconds 2 --size 50 --solver ga]

Writes ``results/scale_ray.csv`` (a row per run) and ``results/scale_ray.md``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, append_row, machine, markdown_table, read_rows  # noqa: E402


def throughput(workers: int, count: int, seconds: float, size: int, solver: str) -> dict[str, object]:
    """One run's row: instances per minute with ``workers`` local Ray workers."""
    import ray

    from nco import solve_many

    started = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, object_store_memory=256 * 2**20)
    ray_start = time.perf_counter() - started
    try:
        with tempfile.TemporaryDirectory() as folder:
            solve_many(generate=f"cvrp:{size}:{workers}", solver=solver, time_limit=seconds, seed=10_000,
                       out=Path(folder) / "warm.csv", progress=False)  # every worker's kernels loaded
            started = time.perf_counter()
            out = solve_many(generate=f"cvrp:{size}:{count}", solver=solver, time_limit=seconds,
                             out=Path(folder) / "runs.csv", progress=False)
            wall = time.perf_counter() - started
            rows = read_rows(out)
    finally:
        ray.shutdown()
    failed = sum(1 for r in rows if r["error"])
    return {"workers": workers, "instances": len(rows), "failed": failed, "solver": solver, "seconds": seconds,
            "size": size, "wall_s": round(wall, 2), "per_minute": round(60 * len(rows) / wall, 2),
            "ray_start_s": round(ray_start, 2), "machine": machine()}


def report(path: Path) -> str:
    """The table of the runs in ``path`` and the 2-over-1 ratio of the latest pair."""
    rows = read_rows(path)
    body = [[r["workers"], r["instances"], r["failed"], f"{r['solver']} {r['seconds']} s", r["wall_s"],
             r["per_minute"], r["ray_start_s"]] for r in rows]
    latest = {r["workers"]: float(r["per_minute"]) for r in rows}
    ratio = latest["2"] / latest["1"] if {"1", "2"} <= set(latest) else float("nan")
    text = (f"# nco solve-many on a local Ray: 1 and 2 workers\n\n`python benchmarks/scale.py ray` on "
            f"{rows[-1]['machine']}.\n\n"
            + markdown_table(["workers", "instances", "failed", "solver", "wall s", "instances / min",
                              "Ray start s"], body)
            + f"\n\n2 workers / 1 worker (latest runs): {ratio:.2f}x.\n")
    path.with_suffix(".md").write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=("ray",))
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--size", type=int, default=50)
    parser.add_argument("--solver", default="ga")
    args = parser.parse_args()
    path = RESULTS / "scale_ray.csv"
    for workers in (1, 2):
        append_row(path, throughput(workers, args.count, args.seconds, args.size, args.solver))
    print(report(path))


if __name__ == "__main__":
    main()
