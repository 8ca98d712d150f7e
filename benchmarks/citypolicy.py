"""Neural policies on real-city instances: the matrix-aware policy against coordinate-only POMO.

    python benchmarks/citypolicy.py                                # shipped pomo and matrix checkpoints
    python benchmarks/citypolicy.py --checkpoint pomo-cities runs/tsp/policy.pt \
        --checkpoint pomo-cities runs/cvrp/policy.pt

For each city built from ``../shared/data/osm`` (as ``benchmarks/realcity.py``
builds them, cached under ``--work``): ATSP100 and ACVRP100 instances (seeds
1000 and up, so none is one of realcity.py's; even seeds use the distance
matrix, odd ones the duration matrix). Each policy decodes them greedily from
every start node with x8 augmentation (the neural solver's own decoding), on
the CPU with one thread, one instance at a time; the reference is PyVRP
with ``--reference-time`` seconds. A city the policy was trained on is marked
in the table. Writes ``citypolicy.csv``, ``citypolicy.md`` and
``citypolicy.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
from rich.progress import Progress

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (RESULTS, SHARED, append_row, bar_chart, machine, markdown_table, pyvrp_solve,  # noqa: E402
                    read_rows)
from realcity import PROBLEMS, city_file  # noqa: E402

FIRST_SEED = 1000


def instance(city, problem: str, index: int):
    """Instance ``index`` of a :class:`nco.data.City`: seed ``FIRST_SEED + index``, distance for even, duration
    for odd ones."""
    objective = "distance" if index % 2 == 0 else "duration"
    return city.sample(100, problem, objective, seed=FIRST_SEED + index), objective


def reference(task: tuple[str, str, int, float]) -> dict:
    """PyVRP's cost on one instance."""
    from nco.data import evaluate, load_city

    path, problem, index, seconds = task
    inst, objective = instance(load_city(path), problem, index)
    cost = evaluate(inst, pyvrp_solve(inst, seconds))
    return {"city": Path(path).stem, "problem": problem, "objective": objective, "instance": index,
            "solver": "pyvrp", "cost": cost, "seconds": seconds, "machine": machine()}


def decode_all(label: str, checkpoint: str, paths: list[str], count: int) -> list[dict]:
    """Decode every instance of the checkpoint's problem with it (multistart x8), one at a time."""
    import torch

    from nco.checkpoints import load_policy
    from nco.data import evaluate, load_city
    from nco.neural import decode, routes_of, to_batch

    torch.set_num_threads(1)
    policy, meta = load_policy(checkpoint)
    problem, rows = meta["problem"], []
    for path in paths:
        city = load_city(path)  # once per city, not per instance
        for index in range(count):
            inst, objective = instance(city, problem, index)
            batch = to_batch([inst], need_coords=meta["policy"] != "matrix")
            start = time.perf_counter()
            out = decode(policy, meta, batch, "multistart", 8)
            seconds = time.perf_counter() - start
            cost = evaluate(inst, routes_of(problem, out.actions[0]))
            rows.append({"city": Path(path).stem, "problem": problem, "objective": objective, "instance": index,
                         "solver": label, "cost": cost, "seconds": seconds, "machine": machine()})
    return rows


def problem_of(checkpoint: str) -> str:
    """The problem a policy file is for."""
    from nco.checkpoints import load_policy

    return load_policy(checkpoint)[1]["problem"]


def trained_on(checkpoint: str) -> set[str]:
    """The cities a checkpoint was trained on (none for uniform instances)."""
    from nco.checkpoints import load_policy

    what = load_policy(checkpoint)[1]["training"].get("instances", "")
    return {c.strip() for c in what.split(":", 1)[1].split(",")} if what.startswith("cities:") else set()


def report(rows: list[dict[str, str]], seen: dict[str, set[str]], out: Path) -> str:
    """Mean gap to PyVRP per problem, city and policy; a bar chart per problem."""
    ref = {(r["city"], r["problem"], r["instance"]): float(r["cost"]) for r in rows if r["solver"] == "pyvrp"}
    labels = sorted({r["solver"] for r in rows} - {"pyvrp"})
    cities = sorted({r["city"] for r in rows})
    body, means = [], {}
    for problem in PROBLEMS:
        for city in cities:
            cells = []
            for label in labels:
                gaps = [100 * (float(r["cost"]) / ref[(city, problem, r["instance"])] - 1) for r in rows
                        if (r["city"], r["problem"], r["solver"]) == (city, problem, label)
                        and (city, problem, r["instance"]) in ref]
                means.setdefault((problem, label), []).extend(gaps)
                mark = " (trained on)" if city in seen.get(label, set()) else ""
                cells.append(f"{np.mean(gaps):.2f}{mark}" if gaps else "-")
            body.append([PROBLEMS[problem], city, *cells])
        secs = {lb: np.mean([float(r["seconds"]) for r in rows if (r["problem"], r["solver"]) == (problem, lb)])
                for lb in labels}
        body.append([PROBLEMS[problem], "**all**", *[f"**{np.mean(means.get((problem, lb), [np.nan])):.2f}** "
                                                     f"({secs[lb]:.2f} s)" for lb in labels]])
    count = len({r["instance"] for r in rows})
    where = "; ".join(sorted({r["machine"] for r in rows}))
    seconds = sorted({r["seconds"] for r in rows if r["solver"] == "pyvrp"})
    text = (f"# Policies on real cities: mean gap (%) to PyVRP at {', '.join(seconds)} s\n\n"
            f"{count} instances per city and problem (half distance, half duration), multistart x8 decoding, "
            f"mean decoding seconds per instance in the 'all' rows. Machine: {where}.\n\n"
            f"{markdown_table(['problem', 'city', *labels], body)}\n")
    (out / "citypolicy.md").write_text(text)
    heights = {label: [np.mean(means.get((problem, label), [np.nan])) for problem in PROBLEMS]
               for label in labels}
    bar_chart(out / "citypolicy.png", list(PROBLEMS.values()), heights, "mean gap to PyVRP (%)",
              f"Policies on {len(cities)} real cities (OSRM car)")
    return text


def main(argv: list[str] | None = None) -> int:
    from nco.checkpoints import shipped

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=20, help="instances per city and problem")
    parser.add_argument("--reference-time", type=float, default=5.0, help="PyVRP's seconds per instance")
    parser.add_argument("--checkpoint", nargs=2, action="append", default=[], metavar=("LABEL", "PATH"),
                        help="also decode with this policy file (repeat; one per problem under one label)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("/tmp/nco-cities"), help="where built cities are kept")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    checkpoints = [(kind, str(shipped(p, 100, kind))) for kind in ("pomo", "matrix") for p in PROBLEMS]
    checkpoints += [tuple(c) for c in args.checkpoint]
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    paths = [str(city_file(pbf, args.work)) for pbf in sorted((SHARED / "osm").glob("*.osm.pbf"))]
    csv_path = args.out / "citypolicy.csv"
    rows = read_rows(csv_path)
    have = {(r["city"], r["problem"], r["instance"], r["solver"]) for r in rows}
    refs = [(p, pr, i, args.reference_time) for p in paths for pr in PROBLEMS for i in range(args.instances)
            if (Path(p).stem, pr, str(i), "pyvrp") not in have]
    with ProcessPoolExecutor(args.workers) as pool, Progress() as bar:
        job = bar.add_task("PyVRP reference", total=len(refs))
        for future in as_completed([pool.submit(reference, t) for t in refs]):
            append_row(csv_path, future.result())
            bar.advance(job)
        todo = [(label, path) for label, path in checkpoints
                if any((Path(p).stem, problem_of(path), str(i), label) not in have
                       for p in paths for i in range(args.instances))]
        job = bar.add_task("decoding", total=len(todo))
        for future in as_completed([pool.submit(decode_all, label, path, paths, args.instances)
                                    for label, path in todo]):
            for row in future.result():
                if (row["city"], row["problem"], str(row["instance"]), row["solver"]) not in have:
                    append_row(csv_path, row)
            bar.advance(job)
    seen: dict[str, set[str]] = {}
    for label, path in checkpoints:
        seen.setdefault(label, set()).update(trained_on(path))
    print(report(read_rows(csv_path), seen, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
