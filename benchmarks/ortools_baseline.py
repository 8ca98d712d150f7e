"""Does OR-Tools always answer, and how good is it? Feasible share at a short limit, gap at a long one.

    python benchmarks/ortools_baseline.py --workers 2                      # both parts
    python benchmarks/ortools_baseline.py --part feasible --limit 5        # every shared X, XML100 and classic instance
    python benchmarks/ortools_baseline.py --part gap --limit 60 --max-n 400

``feasible``: one OR-Tools run per instance of the shared CVRPLIB X, XML100
and classic (A, B, E, M, P) sets; a run that raises (no solution) counts as
unsolved, and the row records which first solution the search started from.
``gap``: OR-Tools on the X instances with n <= ``--max-n``, gap to the BKS.
Rows go to ``benchmarks/results/ortools.csv`` (a rerun skips rows already
there, so an interrupted run resumes), the summary to ``ortools.md``.
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

CVRPLIB = SHARED / "cvrplib"


def instances(part: str, max_n: int) -> list[tuple[str, Path, float]]:
    """``(set, path, best known)`` of the instances one part runs on."""
    out = []
    with (CVRPLIB / "X/bks.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            if part == "feasible" or int(row["n"]) <= max_n:
                out.append(("X", CVRPLIB / f"X/{row['instance']}.vrp", float(row["bks"])))
    if part == "gap":
        return out
    with (CVRPLIB / "XML100/optimal.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            out.append(("XML100", CVRPLIB / f"XML100/{row['instance']}.vrp", float(row["optimal_cost"])))
    with (CVRPLIB / "classic/bks.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            out.append(("classic", CVRPLIB / f"classic/{row['instance']}.vrp", float(row["bks"])))
    return out


def run_one(task: tuple[str, str, str, float, float, int]) -> dict[str, object]:
    """One OR-Tools solve; the row says whether it found a solution and from which first solution."""
    import nco
    from nco.data import NcoError
    from nco.solvers import ortools_routing

    part, group, path, limit, reference, workers = task
    instance = nco.load(path)
    started: list[str] = []
    original = ortools_routing._first_solution

    def noted(*args):  # which first solution the search started from, for the row
        found = original(*args)
        started.append(found[1])
        return found

    ortools_routing._first_solution = noted
    row: dict[str, object] = {"part": part, "set": group, "instance": instance.name, "n": instance.num_customers,
                              "time_limit": limit, "reference": reference}
    try:
        solution = nco.solve(instance, "ortools", time_limit=limit, seed=0)
    except NcoError as exc:
        return row | {"solved": 0, "cost": "", "gap": "", "runtime": "", "routes": "", "first": str(exc),
                      "machine": machine(), "parallel": workers}
    return row | {"solved": 1, "cost": solution.cost, "gap": round(100 * (solution.cost - reference) / reference, 4),
                  "runtime": round(solution.runtime, 3), "routes": solution.num_routes,
                  "first": started[0] if started else "", "machine": machine(), "parallel": workers}


def summarise(rows: list[dict[str, str]]) -> str:
    """Per part, set and limit: solved share, mean / median gap of the solved, mean time, first solutions."""
    body = []
    keys = sorted({(r["part"], r["set"], float(r["time_limit"])) for r in rows})
    for part, group, limit in keys:
        sel = [r for r in rows if (r["part"], r["set"], float(r["time_limit"])) == (part, group, limit)]
        solved = [r for r in sel if r["solved"] == "1"]
        gaps = [float(r["gap"]) for r in solved]
        firsts = sorted({r["first"] for r in solved})
        counts = ", ".join(f"{f} {sum(r['first'] == f for r in solved)}" for f in firsts)
        body.append([part, group, f"{limit:g}", f"{len(solved)}/{len(sel)}",
                     f"{np.mean(gaps):.2f} / {np.median(gaps):.2f}" if gaps else "-",
                     f"{np.mean([float(r['runtime']) for r in solved]):.2f}" if solved else "-",
                     f"{max(float(r['runtime']) / limit for r in solved):.3f}" if solved else "-", counts])
    return markdown_table(["part", "set", "limit s", "solved", "gap % mean / median", "mean time s",
                           "max time / limit", "first solution (count)"], body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("feasible", "gap", "both"), default="both")
    parser.add_argument("--limit", type=float, default=None, help="seconds (default: 5 for feasible, 60 for gap)")
    parser.add_argument("--max-n", type=int, default=400, help="largest X instance of the gap part (default 400)")
    parser.add_argument("--workers", type=int, default=2, help="parallel solves (default 2)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="output folder")
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / "ortools.csv"
    done = {(r["part"], r["instance"], float(r["time_limit"])) for r in read_rows(csv_path)}
    tasks = []
    for part in (("feasible", "gap") if args.part == "both" else (args.part,)):
        limit = args.limit or (5.0 if part == "feasible" else 60.0)
        tasks += [(part, group, str(path), limit, ref, args.workers) for group, path, ref in instances(part, args.max_n)
                  if (part, path.stem, limit) not in done]
    if tasks:
        with ProcessPoolExecutor(args.workers) as pool, Progress() as bar:
            job = bar.add_task("ortools", total=len(tasks))
            for future in as_completed([pool.submit(run_one, t) for t in tasks]):
                append_row(csv_path, future.result())
                bar.advance(job)
    rows = read_rows(csv_path)
    where = sorted({f"{r['machine']}, {r['parallel']} solves in parallel" for r in rows})
    table = summarise(rows)
    (args.out / "ortools.md").write_text(
        f"# OR-Tools: feasibility and gap\n\nMade by `python benchmarks/ortools_baseline.py` (see its --help) on "
        f"{'; '.join(where)}.\n\n{table}\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
