"""Learned speed, classical quality: ga, neural+ga, ortools, neural+ortools and PyVRP on CVRP100.

    python benchmarks/hybrid.py --instances 1000 --workers 2     # the first 1,000 Kool test instances
    python benchmarks/hybrid.py --instances 20                   # a quick sample

Our solvers run once per instance for the longest limit, and their anytime
curves (best cost found by each moment, recorded by the solvers) are read at
every limit; PyVRP (``pip install -e ".[bench]"``, a benchmark-only dependency) runs
once per limit. Each worker solves one instance at a time with one torch
thread. Costs are recomputed by nco's checker on the float matrix
(PyVRP gets the matrix scaled by 10^4 and rounded). Writes ``hybrid.csv``,
``hybrid.md`` and ``hybrid.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
from rich.progress import Progress

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, append_row, machine, markdown_table, read_rows  # noqa: E402

SOLVERS = ["ga", "neural+ga", "ortools", "neural+ortools", "pyvrp"]
LIMITS = [0.1, 0.3, 1.0, 3.0, 10.0]


def pyvrp_solve(instance, seconds: float, seed: int = 0) -> list[list[int]]:
    """PyVRP's HGS on the instance (distances x 10^4, rounded); returns routes of customer ids."""
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime

    m = Model()
    coords = instance.coords if instance.coords is not None else np.zeros((instance.num_nodes, 2))
    locations = [m.add_location(x=float(x) * 1e4, y=float(y) * 1e4) for x, y in coords]
    m.add_depot(locations[0])
    for node in range(1, instance.num_nodes):
        m.add_client(locations[node], delivery=int(instance.demand[node]))
    m.add_vehicle_type(num_available=instance.num_customers, capacity=int(instance.capacity))
    scaled = np.rint(instance.distance * 1e4).astype(int)
    for i, a in enumerate(locations):
        for j, b in enumerate(locations):
            if i != j:
                m.add_edge(a, b, distance=int(scaled[i, j]))
    result = m.solve(stop=MaxRuntime(seconds), seed=seed, display=False)
    # Activities are depots and clients; a client's idx counts clients from 0 (our customer id - 1).
    return [[int(a.idx) + 1 for a in route if a.is_client()] for route in result.best.routes()]


def _at(history: list[tuple[float, float]], t: float) -> float:
    """Best cost found by time ``t`` on an anytime curve (inf before the first solution)."""
    found = [c for s, c in history if s <= t]
    return min(found) if found else float("inf")


def run_one(task: tuple[int, str, list[float]]) -> list[dict]:
    import nco
    from nco.data import evaluate, kool_test_set

    index, solver, limits = task
    instance = kool_test_set("cvrp", 100, index + 1)[index]
    rows = []
    if solver == "pyvrp":
        for limit in limits:
            cost = evaluate(instance, pyvrp_solve(instance, limit))
            rows.append({"instance": index, "solver": solver, "limit": limit, "cost": cost})
    else:
        solution = nco.solve(instance, solver, time_limit=max(limits), seed=0)
        for limit in limits:
            rows.append({"instance": index, "solver": solver, "limit": limit, "cost": _at(solution.history, limit)})
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


def report(rows: list[dict[str, str]], out: Path) -> None:
    """Mean cost per solver and limit (markdown) and mean cost against time (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    limits = sorted({float(r["limit"]) for r in rows})
    solvers = [s for s in SOLVERS if any(r["solver"] == s for r in rows)]
    count = len({r["instance"] for r in rows})
    mean = {(s, t): np.mean([float(r["cost"]) for r in rows if r["solver"] == s and float(r["limit"]) == t])
            for s in solvers for t in limits}
    body = [[s] + [f"{mean[s, t]:.4f}" for t in limits] for s in solvers]
    table = markdown_table(["solver"] + [f"{t:g} s" for t in limits], body)
    where = sorted({r["machine"] for r in rows})
    (out / "hybrid.md").write_text(f"# CVRP100, first {count} Kool test instances: mean cost by time limit\n\n"
                                   f"Machine: {'; '.join(where)}.\n\n{table}\n")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for s in solvers:
        ax.plot(limits, [mean[s, t] for t in limits], "o-", label=s)
    ax.set_xscale("log")
    ax.set_xlabel("time limit per instance (s, log)")
    ax.set_ylabel(f"mean cost ({count} instances)")
    ax.set_title("CVRP100: learned start, classical refinement")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "hybrid.png", dpi=120)
    print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--solvers", nargs="+", default=SOLVERS, choices=SOLVERS)
    parser.add_argument("--limits", type=float, nargs="+", default=LIMITS)
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
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / "hybrid.csv"
    done = {(int(r["instance"]), r["solver"]) for r in read_rows(csv_path)}
    tasks = [(i, s, args.limits) for i in range(args.instances) for s in args.solvers if (i, s) not in done]
    with ProcessPoolExecutor(args.workers, initializer=_warm_up) as pool, Progress() as bar:
        job = bar.add_task("solving", total=len(tasks))
        for future in as_completed([pool.submit(run_one, t) for t in tasks]):
            for row in future.result():
                append_row(csv_path, row)
            bar.advance(job)
    report(read_rows(csv_path), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
