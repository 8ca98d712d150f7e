"""What the policy's solutions are worth to the genetic search's first population.

    python benchmarks/seeding.py --instances 100            # the first 100 Kool CVRP100 test instances

``neural+ga`` puts the policy's distinct solutions into the GA's first
population, where they compete with educated random giant tours. For each
instance this decodes the seeds as ``neural+ga`` does on this machine
(:func:`nco.neural.candidate_solutions` with the hybrid's budget for a 10-s
limit), educates each seed exactly as the GA educates a child
(:meth:`GeneticSearch.educated`), and educates as many random giant tours
(:meth:`GeneticSearch.random_routes`), then compares: the best and the mean
feasible cost of each group, and the per-instance difference of the bests.
Seeding can speed the search up only if educated seeds are clearly better
than educated random tours. Beside them, the GA's own mean cost at 0.1, 1 and
10 s on the same instances, read from ``hybrid.csv``. One torch thread.
Writes ``seeding.md`` under ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from rich.progress import track

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, machine, markdown_table, read_rows  # noqa: E402


def one_instance(index: int) -> dict[str, float]:
    """Best and mean feasible costs of the raw seeds, the educated seeds and as many educated random tours."""
    from nco.data import kool_test_set
    from nco.hybrid import HYBRID_DECODE_SHARE
    from nco.neural import candidate_solutions
    from nco.solvers.common import initial_sequence
    from nco.solvers.genetic import GeneticSearch, Params

    instance = kool_test_set("cvrp", 100, index + 1)[index]
    seeds = candidate_solutions(instance, budget=HYBRID_DECODE_SHARE * 10.0)
    search = GeneticSearch(instance, seed=index, params=Params())
    educated = [search.educated(initial_sequence(instance, s)) for s in seeds]
    randoms = [search.educated(search.random_routes()) for _ in seeds]
    row = {"seeds": len(seeds), "raw_best": seeds[0].cost, "raw_mean": float(np.mean([s.cost for s in seeds]))}
    for name, group in (("seeded", educated), ("random", randoms)):
        costs = [ind.distance for ind in group if ind.feasible]
        row[f"{name}_best"] = min(costs) if costs else float("nan")
        row[f"{name}_mean"] = float(np.mean(costs)) if costs else float("nan")
        row[f"{name}_feasible"] = len(costs) / len(group)
    return row


def ga_means(count: int) -> dict[float, float]:
    """The GA's mean cost by time limit over the first ``count`` instances, from ``hybrid.csv`` (if all there)."""
    rows = [r for r in read_rows(RESULTS / "hybrid.csv") if r["solver"] == "ga" and int(r["instance"]) < count]
    means = {}
    for limit in (0.1, 1.0, 10.0):
        costs = {r["instance"]: float(r["cost"]) for r in rows if float(r["limit"]) == limit}
        if len(costs) == count:
            means[limit] = float(np.mean(list(costs.values())))
    return means


def report(rows: list[dict[str, float]], out: Path) -> str:
    """``seeding.md``: the groups' mean costs and the paired difference of the bests."""
    mean = lambda key: float(np.nanmean([r[key] for r in rows]))  # noqa: E731
    diff = np.array([r["seeded_best"] - r["random_best"] for r in rows])
    diff = diff[np.isfinite(diff)]
    body = [["policy's solutions, as decoded", f"{mean('raw_best'):.4f}", f"{mean('raw_mean'):.4f}", "1.00"],
            ["the same, educated as GA children", f"{mean('seeded_best'):.4f}", f"{mean('seeded_mean'):.4f}",
             f"{mean('seeded_feasible'):.2f}"],
            ["as many random giant tours, educated", f"{mean('random_best'):.4f}", f"{mean('random_mean'):.4f}",
             f"{mean('random_feasible'):.2f}"]]
    ga = ga_means(len(rows))
    ga_line = ", ".join(f"{v:.4f} at {k:g} s" for k, v in ga.items()) or "not in hybrid.csv for these instances"
    text = (f"# What the policy's solutions are worth to the GA's first population\n\n"
            f"`python benchmarks/seeding.py --instances {len(rows)}` on the first {len(rows)} Kool CVRP100 test "
            f"instances ({np.mean([r['seeds'] for r in rows]):.1f} distinct seeds per instance on average). "
            f"Machine: {machine()}, one torch thread. Mean over the instances of each group's best and mean "
            f"feasible cost:\n\n"
            f"{markdown_table(['group', 'best', 'mean', 'feasible share'], body)}\n\n"
            f"Best educated seed minus best educated random tour, per instance: {diff.mean():+.4f} +- "
            f"{diff.std(ddof=1) / np.sqrt(len(diff)):.4f} (mean +- standard error; {int((diff < 0).sum())} of "
            f"{len(diff)} instances better seeded). The GA alone on the same instances (`hybrid.csv`): {ga_line}.\n")
    out.mkdir(parents=True, exist_ok=True)
    (out / "seeding.md").write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=100, help="first N Kool CVRP100 test instances")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.instances < 2:
        parser.error("--instances needs at least 2 (a standard error)")
    torch.set_num_threads(1)
    rows = [one_instance(i) for i in track(range(args.instances), description="instances")]
    print(report(rows, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
