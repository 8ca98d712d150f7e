"""Learned speed, classical quality: ga, neural+ga, ortools, neural+ortools and PyVRP.

    python benchmarks/hybrid.py --instances 1000 --workers 2     # (a) the first 1,000 Kool CVRP100 test instances
    python benchmarks/hybrid.py --instances 20                   # a quick sample
    python benchmarks/hybrid.py --set x --workers 2              # (b) shared X instances, n <= 400, 10 and 60 s
    python benchmarks/hybrid.py --set x --max-n 120 --limits 1 --out /tmp/x   # a quick look

Our solvers run once per instance for the longest limit, and their anytime
curves (best cost found by each moment, recorded by the solvers) are read at
every limit; PyVRP (``pip install -e ".[bench]"``, a benchmark-only dependency) runs
once per limit. Each worker solves one instance at a time with one torch
thread. Costs are recomputed by nco's checker on the float matrix
(PyVRP gets the matrix scaled to integers). Writes ``hybrid.csv``,
``hybrid.md`` and ``hybrid.png`` under ``--out`` (``hybrid_x.*`` for the X set,
with the gap to the best known solution).
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
from common import RESULTS, SHARED, append_row, machine, markdown_table, pyvrp_solve, read_rows  # noqa: E402

SOLVERS = ["ga", "neural+ga", "ortools", "neural+ortools", "pyvrp"]
LIMITS = {"kool": [0.1, 0.3, 1.0, 3.0, 10.0], "x": [10.0, 60.0]}


def x_instances(max_n: int = 400) -> dict[str, float]:
    """The shared X instances with at most ``max_n`` customers and their best known costs."""
    with (SHARED / "cvrplib/X/bks.csv").open(newline="") as fh:
        return {row["instance"]: float(row["bks"]) for row in csv.DictReader(fh) if int(row["n"]) <= max_n}


def load(key: str):
    """A Kool test instance (``key`` its index) or a shared X instance (``key`` its name)."""
    from nco.data import kool_test_set, read_instance

    if key.startswith("X-"):
        return read_instance(SHARED / f"cvrplib/X/{key}.vrp")
    return kool_test_set("cvrp", 100, int(key) + 1)[int(key)]


def _at(history: list[tuple[float, float]], t: float) -> float:
    """Best cost found by time ``t`` on an anytime curve (inf before the first solution)."""
    found = [c for s, c in history if s <= t]
    return min(found) if found else float("inf")


def run_one(task: tuple[str, str, list[float]]) -> list[dict]:
    import nco
    from nco.data import evaluate

    index, solver, limits = task
    instance = load(index)
    rows = []
    if solver == "pyvrp":
        for limit in limits:
            cost = evaluate(instance, pyvrp_solve(instance, limit))
            rows.append({"instance": index, "solver": solver, "limit": limit, "cost": cost})
    else:
        try:
            history = nco.solve(instance, solver, time_limit=max(limits), seed=0).history
        except nco.SolverError:  # no solution within the limit (OR-Tools on the tightest X instances)
            history = []
        for limit in limits:
            rows.append({"instance": index, "solver": solver, "limit": limit, "cost": _at(history, limit)})
    for row in rows:
        row["machine"] = machine()
    return rows


def _warm_up() -> None:
    import torch

    import nco
    from nco.data import random_cvrp

    # One solve per worker and one worker per core: torch's own thread pool would oversubscribe the cores.
    torch.set_num_threads(1)

    instance = random_cvrp(100, seed=0)
    for solver in ("ga", "neural+ga", "ortools"):
        nco.solve(instance, solver, time_limit=1.0)


def report(rows: list[dict[str, str]], out: Path, name: str, bks: dict[str, float] | None = None) -> None:
    """Mean cost (or, given ``bks``, mean gap %) per solver and limit: ``name``.md and ``name``.png under ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    limits = sorted({float(r["limit"]) for r in rows})
    solvers = [s for s in SOLVERS if any(r["solver"] == s for r in rows)]
    count = len({r["instance"] for r in rows})

    def value(r: dict[str, str]) -> float:
        cost = float(r["cost"])
        return cost if bks is None else 100 * (cost / bks[r["instance"]] - 1)

    def cell(s: str, t: float) -> tuple[float, str]:
        """Mean over the instances solved by then, and how many were not (inf when none was)."""
        values = np.array([value(r) for r in rows if r["solver"] == s and float(r["limit"]) == t])
        solved = values[np.isfinite(values)]
        if not solved.size:
            return np.inf, "inf"
        text = f"{solved.mean():.{4 if bks is None else 2}f}"
        missing = values.size - solved.size
        return float(solved.mean()), text + (f" ({missing} unsolved)" if missing else "")

    mean = {(s, t): cell(s, t)[0] for s in solvers for t in limits}
    body = [[s] + [cell(s, t)[1] for t in limits] for s in solvers]
    table = markdown_table(["solver"] + [f"{t:g} s" for t in limits], body)
    where = sorted({r["machine"] for r in rows})
    title = (f"CVRP100, first {count} Kool test instances: mean cost by time limit" if bks is None else
             f"{count} shared X instances (at most 400 customers): mean gap to the best known solution (%) by time limit")
    (out / f"{name}.md").write_text(f"# {title}\n\nMachine: {'; '.join(where)}.\n\n{table}\n")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for s in solvers:
        ax.plot(limits, [mean[s, t] for t in limits], "o-", label=s)
    ax.set_xscale("log")
    ax.set_xlabel("time limit per instance (s, log)")
    ax.set_ylabel(f"mean cost ({count} instances)" if bks is None else f"mean gap to BKS, % ({count} instances)")
    ax.set_title("CVRP100: learned start, classical refinement" if bks is None else "X instances, n <= 400")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / f"{name}.png", dpi=120)
    print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=["kool", "x"], default="kool", dest="which")
    parser.add_argument("--instances", type=int, default=1000, help="how many Kool instances (kool set)")
    parser.add_argument("--max-n", type=int, default=400, help="largest X instance, in customers (x set)")
    parser.add_argument("--solvers", nargs="+", default=SOLVERS, choices=SOLVERS)
    parser.add_argument("--limits", type=float, nargs="+", help="seconds (default: 0.1 0.3 1 3 10; x: 10 60)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if "pyvrp" in args.solvers:
        try:
            import pyvrp  # noqa: F401
        except ImportError:
            print("hybrid.py: PyVRP is a benchmark-only dependency: pip install -e '.[bench]' (or leave it out with "
                  "--solvers ga neural+ga ortools neural+ortools)", file=sys.stderr)
            return 2
    limits = args.limits or LIMITS[args.which]
    bks = x_instances(args.max_n) if args.which == "x" else None
    keys = list(bks) if bks else [str(i) for i in range(args.instances)]
    name = "hybrid_x" if bks else "hybrid"
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / f"{name}.csv"
    done = {(r["instance"], r["solver"]) for r in read_rows(csv_path)}
    tasks = [(k, s, limits) for k in keys for s in args.solvers if (k, s) not in done]
    with ProcessPoolExecutor(args.workers, initializer=_warm_up) as pool, Progress() as bar:
        job = bar.add_task("solving", total=len(tasks))
        for future in as_completed([pool.submit(run_one, t) for t in tasks]):
            for row in future.result():
                append_row(csv_path, row)
            bar.advance(job)
    report(read_rows(csv_path), args.out, name, bks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
