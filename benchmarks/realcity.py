"""Real cities: ATSP100 and ACVRP100 sampled from each shared OpenStreetMap extract, solved at equal time.

    python benchmarks/realcity.py                          # every extract in ../shared/data/osm, 3 instances each
    python benchmarks/realcity.py --instances 10 --time-limit 30 --workers 2

For each extract: a 1,000-point city is built with OSRM (``nco data
build-city``, cached under ``--work``), osmnx's shortest travel times are
compared with OSRM's durations on 100 random pairs, and instances are sampled
(distance objective). ``neural`` decodes once (its time is what it takes);
``neural+ga``, ``ortools`` and PyVRP (``pip install -e ".[bench]"``) get the
same time limit. Costs are recomputed by nco's checker in metres. Writes
``realcity.csv``, ``realcity.md`` and ``realcity.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
from rich.progress import Progress

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (RESULTS, SHARED, append_row, bar_chart, machine, markdown_table, pyvrp_solve,  # noqa: E402
                    read_rows)

SOLVERS = ["neural", "neural+ga", "ortools", "pyvrp"]
PROBLEMS = {"tsp": "ATSP100", "cvrp": "ACVRP100"}


def city_file(pbf: Path, work: Path) -> Path:
    """The city built from ``pbf`` (1,000 points, 400 for a small extract), built once and kept in ``work``."""
    from nco.data import build_city

    from nco.data import OsrmError

    out = work / f"{pbf.name.split('.')[0]}.npz"
    if not out.exists():
        try:
            build_city(pbf, out.stem, 1000, out, progress=False)
        except OsrmError:  # a small extract: not 1,000 distinct routable points
            build_city(pbf, out.stem, 400, out, progress=False)
    return out


def run_one(task: tuple[str, str, int, str, float]) -> dict:
    """Solve one sampled instance with one solver; return the result row."""
    import torch

    import nco
    from nco.data import evaluate, load_city

    torch.set_num_threads(1)  # one solve per worker and one worker per core
    path, problem, index, solver, limit = task
    instance = load_city(path).sample(100, problem, "distance", seed=index)
    if solver == "pyvrp":
        import time

        start = time.perf_counter()
        cost, runtime = evaluate(instance, pyvrp_solve(instance, limit)), time.perf_counter() - start
    else:
        solution = nco.solve(instance, solver, time_limit=limit, seed=0)
        cost, runtime = solution.cost, solution.runtime
    return {"city": Path(path).stem, "problem": problem, "instance": index, "solver": solver, "limit": limit,
            "cost": cost, "runtime": runtime, "machine": machine()}


def _warm_up() -> None:
    import torch

    import nco
    from nco.data import random_cvrp, random_tsp

    torch.set_num_threads(1)
    for instance in (random_cvrp(100, seed=0), random_tsp(100, seed=0)):
        for solver in ("neural", "neural+ga", "ortools"):
            nco.solve(instance, solver, time_limit=1.0)


def report(rows: list[dict[str, str]], checks: list[dict[str, object]], out: Path) -> str:
    """Mean gap to the best solver per instance, per city, problem and solver; the osmnx check; a bar chart."""
    best: dict[tuple, float] = {}
    for r in rows:
        key = (r["city"], r["problem"], r["instance"])
        best[key] = min(best.get(key, np.inf), float(r["cost"]))
    cities = sorted({r["city"] for r in rows})
    solvers = [s for s in SOLVERS if any(r["solver"] == s for r in rows)]
    body, bars = [], {}
    for problem in PROBLEMS:
        for city in cities:
            cells = []
            for s in solvers:
                mine = [r for r in rows if (r["city"], r["problem"], r["solver"]) == (city, problem, s)]
                gaps = [100 * (float(r["cost"]) / best[(city, problem, r["instance"])] - 1) for r in mine]
                secs = [float(r["runtime"]) for r in mine]
                cells.append(f"{np.mean(gaps):.2f} ({np.mean(secs):.1f} s)" if mine else "-")
                bars.setdefault((problem, s), []).extend(gaps)
            body.append([PROBLEMS[problem], city, *cells])
    table = markdown_table(["problem", "city", *solvers], body)
    check_table = markdown_table(
        ["city", "pairs routed", "OSRM / osmnx median", "10%-90%", "correlation"],
        [[c["city"], f"{c['pairs']:.0f} of {c['asked']:.0f}", f"{c['median_ratio']:.2f}",
          f"{c['p10_ratio']:.2f}-{c['p90_ratio']:.2f}", f"{c['correlation']:.3f}"] for c in checks])
    limit = sorted({r["limit"] for r in rows})
    where = sorted({r["machine"] for r in rows})
    text = (f"# Real cities: mean gap (%) to the best of the solvers on each instance, mean seconds\n\n"
            f"Machine: {'; '.join(where)}. Time limit: {', '.join(limit)} s.\n\n{table}\n\n"
            f"## OSRM durations against osmnx shortest travel times (random pairs)\n\n{check_table}\n")
    (out / "realcity.md").write_text(text)
    heights = {label: [np.mean(bars.get((problem, label), [np.nan])) for problem in PROBLEMS]
               for label in solvers}
    bar_chart(out / "realcity.png", list(PROBLEMS.values()), heights, "mean gap to the best solver (%)",
              f"{len(cities)} real cities (OSRM car, distance)")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=3, help="instances per city and problem")
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--solvers", nargs="+", default=SOLVERS, choices=SOLVERS)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("/tmp/nco-cities"), help="where built cities are kept")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    from nco.data import install_osrm, load_city
    from nco.data.roadgraph import cross_check

    install_osrm()
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    files, checks = [], []
    for pbf in sorted((SHARED / "osm").glob("*.osm.pbf")):
        path = city_file(pbf, args.work)
        files.append(path)
        checks.append({"city": path.stem, **cross_check(load_city(path), pbf, pairs=100)})
    csv_path = args.out / "realcity.csv"
    done = {(r["city"], r["problem"], r["instance"], r["solver"]) for r in read_rows(csv_path)}
    tasks = [(str(f), p, i, s, args.time_limit) for f in files for p in PROBLEMS for i in range(args.instances)
             for s in args.solvers if (f.stem, p, str(i), s) not in done]
    with ProcessPoolExecutor(args.workers, initializer=_warm_up) as pool, Progress() as bar:
        job = bar.add_task("solving", total=len(tasks))
        for future in as_completed([pool.submit(run_one, t) for t in tasks]):
            append_row(csv_path, future.result())
            bar.advance(job)
    print(report(read_rows(csv_path), checks, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
