"""Does every solver keep its time limit on large instances? Measured seconds against the limit.

    python benchmarks/time_limits.py --sizes 1000 2000 3000

One uniform CVRP per size (seed 0); each solver runs once per size and limit in
this process, after the kernel warm-up and one untimed neural decoding (so
compiling and loading are not counted; ``nco.solve`` keeps them out of the
limit too). Wall seconds include everything ``nco.solve`` does. Writes
``results/time_limits.md`` and ``.csv``; the design promises 5% over at most.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, append_row, machine, markdown_table, read_rows  # noqa: E402

SOLVERS = ("ls", "ga", "ortools", "neural", "neural+ga")
# (solver, seconds): each at 1 and 3 s, and neural at a limit where its rollouts fit at n = 3000 too
RUNS = [(solver, limit) for limit in (1.0, 3.0) for solver in SOLVERS] + [("neural", 10.0)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000], help="customers")
    parser.add_argument("--solvers", nargs="+", default=list(SOLVERS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    import nco
    from nco.data import NcoError, random_cvrp
    from nco.solvers.warmup import warm_up

    warm_up()
    nco.solve(random_cvrp(20, seed=0), "neural", time_limit=5)  # torch and the policy loaded once
    csv_path = args.out / "time_limits.csv"
    args.out.mkdir(parents=True, exist_ok=True)
    for n in args.sizes:
        instance = random_cvrp(n, seed=0)
        for solver, limit in [run for run in RUNS if run[0] in args.solvers]:
            started = time.perf_counter()
            try:
                solution = nco.solve(instance, solver, time_limit=limit)
                cost, note = round(solution.cost, 2), ""
            except NcoError as exc:
                cost, note = "", str(exc)
            wall = time.perf_counter() - started
            row = {"n": n, "solver": solver, "limit": limit, "wall_s": round(wall, 3),
                   "over_pct": round(100 * (wall - limit) / limit, 1), "cost": cost, "note": note,
                   "machine": machine()}
            append_row(csv_path, row)
            print(row, flush=True)
    rows = read_rows(csv_path)
    table = markdown_table(["n", "solver", "limit s", "wall s", "over %", "cost", "note"],
                           [[r["n"], r["solver"], r["limit"], r["wall_s"], r["over_pct"], r["cost"], r["note"][:80]]
                            for r in rows])
    (args.out / "time_limits.md").write_text(
        f"# Time limits on large instances\n\n`python benchmarks/time_limits.py` on "
        f"{'; '.join(sorted({r['machine'] for r in rows}))}.\n\n{table}\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
