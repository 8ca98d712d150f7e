"""OR-Tools of two nco versions, side by side: the same X instances, the same limit, run at the same time.

    git worktree add /tmp/nco-old 163b1d6 && pip install --no-deps --target /tmp/old /tmp/nco-old
    pip install --no-deps --target /tmp/new .
    python benchmarks/ortools_versions.py --tree old=/tmp/old --tree new=/tmp/new --limit 60 --max-n 400

Each ``--tree`` is a plain install of one version (``pip install --no-deps --target``). One worker process
per tree solves the instances in the same order, so the two versions share the machine's load alike:
a gap measured this way compares versions, not machines or moments. OR-Tools' routing search is single
threaded, so two trees need two cores. Rows go to ``benchmarks/results/ortools_versions.csv`` (a rerun
skips rows already there), the paired summary to ``ortools_versions.md``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, SHARED, append_row, machine, markdown_table, read_rows  # noqa: E402

# One worker per tree: reads "path limit" lines, answers one JSON line per instance.
WORKER = """
import json, sys, time
import nco
from nco.data import NcoError
for line in sys.stdin:
    path, limit = line.split()
    instance = nco.load(path)
    start = time.perf_counter()
    try:
        solution = nco.solve(instance, "ortools", time_limit=float(limit), seed=0)
        row = {"solved": 1, "cost": solution.cost, "runtime": solution.runtime, "routes": solution.num_routes}
    except NcoError as exc:
        row = {"solved": 0, "cost": "", "runtime": time.perf_counter() - start, "routes": "", "error": str(exc)}
    print(json.dumps(row), flush=True)
"""


def x_instances(max_n: int) -> list[tuple[Path, float]]:
    """``(path, best known)`` of the shared X instances with n <= ``max_n``."""
    with (SHARED / "cvrplib/X/bks.csv").open(newline="") as fh:
        return [(SHARED / f"cvrplib/X/{r['instance']}.vrp", float(r["bks"])) for r in csv.DictReader(fh)
                if int(r["n"]) <= max_n]


def run_tree(label: str, tree: str, tasks: list[tuple[Path, float]], limit: float, csv_path: Path,
             lock: threading.Lock) -> None:
    """Solve ``tasks`` in order with the nco installed at ``tree``, appending one row per instance."""
    env = os.environ | {"PYTHONPATH": tree}
    proc = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=env, cwd="/")
    assert proc.stdin is not None and proc.stdout is not None
    for path, bks in tasks:
        proc.stdin.write(f"{path} {limit}\n")
        proc.stdin.flush()
        answer = json.loads(proc.stdout.readline())
        gap = round(100 * (answer["cost"] - bks) / bks, 4) if answer["solved"] else ""
        row = {"version": label, "instance": path.stem, "time_limit": limit, "bks": bks, "gap": gap,
               **{k: answer[k] for k in ("solved", "cost", "runtime", "routes")}, "machine": machine()}
        with lock:
            append_row(csv_path, row)
            print(f"{label:>6} {path.stem:<14} gap {gap}", flush=True)
    proc.stdin.close()
    proc.wait()


def summarise(rows: list[dict[str, str]], labels: list[str]) -> str:
    """Per version: solved share and mean gap, and the paired difference on instances all versions solved."""
    both = set.intersection(*({r["instance"] for r in rows if r["version"] == v and r["solved"] == "1"}
                              for v in labels))
    gap = {(r["version"], r["instance"]): float(r["gap"]) for r in rows if r["solved"] == "1"}
    body = []
    for v in labels:
        mine = [r for r in rows if r["version"] == v]
        solved = [float(r["gap"]) for r in mine if r["solved"] == "1"]
        diff = np.array([gap[v, i] - gap[labels[0], i] for i in sorted(both)])
        sem = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else 0.0
        body.append([v, f"{len(solved)}/{len(mine)}", f"{np.mean(solved):.2f}" if solved else "-",
                     f"{np.mean([gap[v, i] for i in both]):.2f}" if both else "-",
                     f"{diff.mean():+.2f} ± {sem:.2f}" if v != labels[0] and len(diff) else "-"])
    return markdown_table(["version", "solved", "gap % (solved)", f"gap % (the {len(both)} both solved)",
                           f"paired difference to {labels[0]}, points"], body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", action="append", required=True, help="label=path of a plain install")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds per instance (default 60)")
    parser.add_argument("--max-n", type=int, default=400, help="largest X instance (default 400)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="output folder")
    args = parser.parse_args(argv)

    trees = [t.split("=", 1) for t in args.tree]
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / "ortools_versions.csv"
    done = {(r["version"], r["instance"], float(r["time_limit"])) for r in read_rows(csv_path)}
    lock = threading.Lock()
    threads = [threading.Thread(target=run_tree, args=(
        label, tree, [t for t in x_instances(args.max_n) if (label, t[0].stem, args.limit) not in done],
        args.limit, csv_path, lock)) for label, tree in trees]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = [r for r in read_rows(csv_path) if float(r["time_limit"]) == args.limit]
    table = summarise(rows, [label for label, _ in trees])
    where = sorted({r["machine"] for r in rows})
    (args.out / "ortools_versions.md").write_text(
        f"# OR-Tools, two nco versions side by side\n\nMade by `python benchmarks/ortools_versions.py` (see its "
        f"--help) on {'; '.join(where)}, one worker per version at the same time, {args.limit:g} s per X instance "
        f"with n <= {args.max_n}.\n\n{table}\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
