"""Every classical solver on the shared CVRPLIB X and TSPLIB instances, at 10 s and 60 s.

    python benchmarks/classical.py                 # X and TSPLIB with n <= 300
    python benchmarks/classical.py --full          # every instance
    python benchmarks/classical.py --limits 1 --max-n 120 --workers 2   # a quick look

Writes ``benchmarks/results/classical.csv`` (one row per instance, solver and
time limit; an interrupted run resumes where it stopped), ``classical.md``
(mean gap per solver and limit, then every row) and ``classical.png`` (mean
gap against mean runtime). Each worker is one process running one solve at a
time, so ``--workers`` should not exceed the number of cores.
"""

from __future__ import annotations

import argparse
import csv
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
from rich.progress import Progress

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, SHARED, append_row, machine, markdown_table, read_rows  # noqa: E402

SOLVERS = ["nearest", "savings", "ls", "ortools", "ga"]


def instances(full: bool, max_n: int) -> list[tuple[str, Path, float]]:
    """``(set, path, best known)`` for the X instances and the TSPLIB instances with known optima."""
    out = []
    with (SHARED / "cvrplib/X/bks.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            if full or int(row["n"]) <= max_n:
                out.append(("X", SHARED / f"cvrplib/X/{row['instance']}.vrp", float(row["bks"])))
    with (SHARED / "tsplib/optima.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            if full or int(row["dimension"]) <= max_n:
                out.append(("TSPLIB", SHARED / f"tsplib/{row['instance']}.tsp", float(row["optimum"])))
    return out


def _warm_up() -> None:
    """Load every kernel from Numba's cache (or compile it) before any clock starts."""
    import nco
    from nco.data import random_cvrp, random_tsp
    from nco.solvers.genetic import genetic

    for instance in (random_cvrp(20, seed=0), random_tsp(20, seed=0)):
        genetic(instance, time_limit=60.0, max_iterations=3)  # an iteration limit: every kernel gets compiled
        for solver in (s for s in SOLVERS if s != "ga"):
            # Local search must reach its search loop (a short limit can expire while
            # the neighbour lists compile); it stops at a local optimum well before 30 s.
            nco.solve(instance, solver, time_limit=30.0 if solver == "ls" else 0.5)


def run_one(task: tuple[str, str, str, float, float, int]) -> dict[str, object]:
    """Solve one instance with one solver; return the result row."""
    import nco

    group, path, solver, limit, reference, workers = task
    instance = nco.load(path)
    solution = nco.solve(instance, solver, time_limit=limit, seed=0)
    return {"set": group, "instance": instance.name, "n": instance.num_nodes, "solver": solver,
            "time_limit": limit, "cost": solution.cost, "reference": reference,
            "gap": round(100 * (solution.cost - reference) / reference, 4), "runtime": round(solution.runtime, 3),
            "routes": solution.num_routes, "machine": machine(), "parallel": workers}


def summarise(rows: list[dict[str, str]], solvers: list[str], limits: list[float]) -> str:
    """Mean and median gap (%) and mean runtime per set, solver and time limit, as markdown."""
    body = []
    for group in ("X", "TSPLIB"):
        for solver in solvers:
            cells = [group, solver]
            for limit in limits:
                sel = [r for r in rows
                       if r["set"] == group and r["solver"] == solver and float(r["time_limit"]) == limit]
                if sel:
                    gaps = [float(r["gap"]) for r in sel]
                    cells.append(f"{np.mean(gaps):.2f} / {np.median(gaps):.2f} "
                                 f"({np.mean([float(r['runtime']) for r in sel]):.2f} s, {len(sel)})")
                else:
                    cells.append("-")
            body.append(cells)
    header = ["set", "solver"] + [f"limit {limit:g} s: mean / median gap % (mean time, instances)"
                                  for limit in limits]
    return markdown_table(header, body)


def plot(rows: list[dict[str, str]], solvers: list[str], limits: list[float], path: Path) -> None:
    """Mean gap against mean runtime, one line per solver, one panel per instance set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, group in zip(axes, ("X", "TSPLIB")):
        for solver in solvers:
            pts = []
            for limit in limits:
                sel = [r for r in rows
                       if r["set"] == group and r["solver"] == solver and float(r["time_limit"]) == limit]
                if sel:
                    # Constructions take ~0 s; floor at 1 ms so they stay on the log axis.
                    seconds = max(1e-3, float(np.mean([float(r["runtime"]) for r in sel])))
                    pts.append((seconds, np.mean([float(r["gap"]) for r in sel])))
            if pts:
                xs, ys = zip(*pts)
                ax.plot(xs, ys, "o-", label=solver)
        ax.set_xscale("log")
        ax.set_xlabel("mean runtime per instance (s, log; floored at 1 ms)")
        ax.set_ylabel("mean gap to best known (%)")
        ax.set_title("CVRPLIB X" if group == "X" else "TSPLIB")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("Classical solvers: gap versus time")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="every instance, not only n <= --max-n")
    parser.add_argument("--max-n", type=int, default=300, help="largest instance without --full (default 300)")
    parser.add_argument("--limits", type=float, nargs="+", default=[10.0, 60.0], help="time limits in seconds")
    parser.add_argument("--solvers", nargs="+", default=SOLVERS, choices=SOLVERS)
    parser.add_argument("--workers", type=int, default=2, help="parallel solves (default 2)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="output folder")
    parser.add_argument("--report-only", action="store_true", help="only rewrite the table and plot from the CSV")
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / "classical.csv"
    done = {(r["instance"], r["solver"], float(r["time_limit"])) for r in read_rows(csv_path)}
    tasks = [(group, str(path), solver, limit, ref, args.workers)
             for limit in args.limits for group, path, ref in instances(args.full, args.max_n)
             for solver in args.solvers if (path.name.split(".")[0], solver, limit) not in done]
    # Longest first, so the pool does not end waiting on one late OR-Tools run.
    tasks.sort(key=lambda t: (t[2] not in ("ortools", "ls"), -t[3]))
    if not args.report_only and tasks:
        solve_all(tasks, args.workers, csv_path)
    report(csv_path, args.out)
    return 0


def solve_all(tasks: list, workers: int, csv_path: Path) -> None:
    """Run the tasks in a process pool, appending each row as soon as it is done."""
    with ProcessPoolExecutor(workers, initializer=_warm_up) as pool, Progress() as bar:
        job = bar.add_task("solving", total=len(tasks))
        futures = [pool.submit(run_one, t) for t in tasks]
        for future in as_completed(futures):
            append_row(csv_path, future.result())
            bar.advance(job)


def report(csv_path: Path, out: Path) -> None:
    """Write the markdown table and the plot from every row of the CSV."""
    rows = read_rows(csv_path)
    solvers = [s for s in SOLVERS if any(r["solver"] == s for r in rows)]
    limits = sorted({float(r["time_limit"]) for r in rows})
    table = summarise(rows, solvers, limits)
    detail = markdown_table(list(rows[0]), [list(r.values()) for r in rows]) if rows else ""
    where = sorted({f"{r['machine']}, {r['parallel']} solves in parallel" for r in rows})
    (out / "classical.md").write_text(
        "# Classical solvers\n\nMade by `python benchmarks/classical.py` (see its --help); each row records "
        f"its machine: {'; '.join(where)}.\n\n{table}\n\n## Every run\n\n{detail}\n")
    plot(rows, solvers, limits, out / "classical.png")
    print(table)


if __name__ == "__main__":
    sys.exit(main())
