"""Scale (issue 23): the GA against PyVRP on the shared X instances, and ``nco solve-many`` on Ray.

``x``: every shared CVRPLIB X instance (n = 100..1000) solved by each of ``--solvers`` for ``--seconds``,
two solves at a time (one core each, side by side), gap to the best-known value by size bucket. ``ga`` is
nco's GA as shipped, ``ga-crossover`` the same with every child from two parents (``Params(mutation=0)``:
the GA before mutations), ``pyvrp`` PyVRP's solver. Resumable: a rerun solves only what the CSV lacks.

    python benchmarks/scale.py x [--seconds 30 --solvers ga ga-crossover pyvrp]

Writes ``results/scale_x_<seconds>s.csv`` and ``.md``.

``large``: one drawn CVRP per size and distribution (n = 1,000 / 5,000 / 10,000 customers, uniform and
clustered), each solver in a fresh process for ``--seconds``: wall time of ``nco.solve``, when the first
feasible solution was found, the cost, and the process's peak memory (with the distance matrix, whose
size is given beside it).

    python benchmarks/scale.py large [--seconds 10 --sizes 1000 5000 10000 --solvers ga ls ortools]

Writes ``results/scale_large.csv`` and ``.md``.

``ray``: the same drawn instances (CVRP, ``--size`` customers, ``--count`` of them) solved by ``--solver`` for
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

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, SHARED, append_row, machine, markdown_table, pyvrp_solve, read_rows  # noqa: E402

BUCKETS = ((100, 300), (300, 600), (600, 1001))  # customers + depot, as the file names count them


def _solve_x(task: tuple[str, str, float]) -> dict[str, object]:
    """One solve of one X file: its cost (checked), gap and wall time."""
    import nco
    from nco.data.known import gap, known_value
    from nco.data.solution import evaluate
    from nco.solvers.genetic import Params, genetic

    path, solver, seconds = task
    instance = nco.load(path)
    started = time.perf_counter()
    if solver == "pyvrp":
        cost = evaluate(instance, pyvrp_solve(instance, seconds))
    else:
        params = Params(mutation=0.0) if solver == "ga-crossover" else Params()
        cost = genetic(instance, time_limit=seconds, params=params).cost
    return {"instance": Path(path).stem, "n": instance.num_nodes, "solver": solver, "seconds": seconds,
            "cost": cost, "gap_pct": round(gap(cost, known_value(path)), 3),
            "wall_s": round(time.perf_counter() - started, 2), "machine": machine()}


def _solve_large(task: tuple[int, str, str, float]) -> dict[str, object]:
    """One solve of one drawn instance in this (fresh) process, with its peak memory."""
    import resource

    import nco
    from nco.data import NcoError, random_cvrp

    size, distribution, solver, seconds = task
    instance = random_cvrp(size, seed=size, distribution=distribution)
    nco.solve(random_cvrp(20, seed=1), solver, time_limit=0.5)  # the kernels loaded, outside the clock
    started = time.perf_counter()
    try:
        solution = nco.solve(instance, solver, time_limit=seconds)
        cost, first, note = solution.cost, (solution.history[0][0] if solution.history else ""), ""
    except NcoError as error:
        cost, first, note = "", "", str(error).splitlines()[0]
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # kB on Linux
    return {"n": size, "distribution": distribution, "solver": solver, "seconds": seconds, "wall_s": round(wall, 3),
            "first_feasible_s": round(first, 3) if first != "" else "", "cost": cost,
            "peak_mb": round(peak), "matrix_mb": round(instance.distance.nbytes / 2**20), "note": note,
            "machine": machine()}


def run_large(seconds: float, sizes: list[int], solvers: list[str], path: Path) -> None:
    """Each (size, distribution, solver) the CSV at ``path`` lacks, one at a time, each in a new process."""
    from concurrent.futures import ProcessPoolExecutor

    done = {(r["n"], r["distribution"], r["solver"]) for r in read_rows(path)}
    for size in sizes:
        for distribution in ("uniform", "clustered"):
            for solver in solvers:
                if (str(size), distribution, solver) in done:
                    continue
                with ProcessPoolExecutor(1) as pool:  # a fresh process: its peak memory is this solve's
                    row = pool.submit(_solve_large, (size, distribution, solver, seconds)).result()
                append_row(path, row)
                print(row, flush=True)


def report_large(path: Path) -> str:
    """The runs in ``path`` as a table, written beside it."""
    rows = sorted(read_rows(path), key=lambda r: (int(r["n"]), r["distribution"] != "uniform", r["solver"]))
    body = [[r["n"], r["distribution"], r["solver"], r["seconds"], r["wall_s"], r["first_feasible_s"] or "-",
             f"{float(r['cost']):.3f}" if r["cost"] else r["note"], r["peak_mb"], r["matrix_mb"]] for r in rows]
    text = (f"# Large instances: time limit, first feasible solution, peak memory\n\n`python benchmarks/scale.py "
            f"large` on {rows[-1]['machine']}, one solve at a time, each in a fresh process.\n\n"
            + markdown_table(["n", "distribution", "solver", "limit s", "wall s", "first feasible s", "cost",
                              "peak MB", "matrix MB"], body) + "\n")
    path.with_suffix(".md").write_text(text)
    return text


def x_instances() -> list[Path]:
    """The shared X files, smallest first."""
    return sorted((SHARED / "cvrplib" / "X").glob("X-n*.vrp"), key=lambda p: int(p.stem.split("-")[1][1:]))


def run_x(seconds: float, solvers: list[str], path: Path) -> None:
    """Every (file, solver) pair the CSV at ``path`` lacks, two at a time, each row written as it ends."""
    from concurrent.futures import ProcessPoolExecutor

    from nco.solvers.warmup import warm_up

    done = {(r["instance"], r["solver"]) for r in read_rows(path)}
    tasks = [(str(p), s, seconds) for p in x_instances() for s in solvers if (p.stem, s) not in done]
    with ProcessPoolExecutor(2, initializer=warm_up) as pool:
        for row in pool.map(_solve_x, tasks):
            append_row(path, row)
            print(row["instance"], row["solver"], row["gap_pct"], flush=True)


def report_x(path: Path) -> str:
    """Mean gap per size bucket and solver, and over all, from the CSV at ``path``; written beside it."""
    rows = read_rows(path)
    solvers = list(dict.fromkeys(r["solver"] for r in rows))
    files = {r["instance"] for r in rows}
    both = sorted(f for f in files if all(any(r["instance"] == f and r["solver"] == s for r in rows)
                                           for s in solvers))
    gaps = {(r["instance"], r["solver"]): float(r["gap_pct"]) for r in rows}
    size = {r["instance"]: int(r["n"]) for r in rows}
    body = []
    for low, high in (*BUCKETS, (0, 10**9)):
        chosen = [f for f in both if low <= size[f] < high]
        if chosen:
            label = "all" if high == 10**9 else f"{low}-{high - 1}"
            body.append([label, len(chosen)] + [f"{np.mean([gaps[f, s] for f in chosen]):.2f}" for s in solvers])
    text = (f"# The GA against PyVRP on the shared X instances, {rows[0]['seconds']} s each\n\n"
            f"`python benchmarks/scale.py x --seconds {rows[0]['seconds']}` on {rows[-1]['machine']}, two "
            "solves at a time, one core each. Mean gap % to the best-known value, over the files every solver "
            "finished.\n\n" + markdown_table(["n (with depot)", "files"] + solvers, body) + "\n")
    path.with_suffix(".md").write_text(text)
    return text


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
    parser.add_argument("part", choices=("x", "large", "ray"))
    parser.add_argument("--count", type=int, default=24, help="ray: instances")
    parser.add_argument("--seconds", type=float, default=None, help="per solve (default: x 30, large 10, ray 2)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000], help="large: customers")
    parser.add_argument("--size", type=int, default=50, help="ray: customers")
    parser.add_argument("--solver", default="ga", help="ray: the solver")
    parser.add_argument("--solvers", nargs="+", default=None,
                        help="x: ga, ga-crossover, pyvrp (default all three); large: nco's solvers (default ga ls "
                             "ortools)")
    args = parser.parse_args()
    if args.part == "x":
        seconds = args.seconds or 30.0
        out = RESULTS / f"scale_x_{seconds:g}s.csv"
        known = ["ga", "ga-crossover", "pyvrp"]
        if set(args.solvers or known) - set(known):
            parser.error(f"--solvers: x takes {', '.join(known)}")
        run_x(seconds, args.solvers or known, out)
        print(report_x(out))
        return
    if args.part == "large":
        out = RESULTS / "scale_large.csv"
        run_large(args.seconds or 10.0, args.sizes, args.solvers or ["ga", "ls", "ortools"], out)
        print(report_large(out))
        return
    args.seconds = args.seconds or 2.0
    path = RESULTS / "scale_ray.csv"
    for workers in (1, 2):
        append_row(path, throughput(workers, args.count, args.seconds, args.size, args.solver))
    print(report(path))


if __name__ == "__main__":
    main()
