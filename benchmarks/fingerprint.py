"""Costs of every deterministic solver on fixed instances and seeds, to show that a refactoring changed none.

    python benchmarks/fingerprint.py --out before.json        # on the old code
    python benchmarks/fingerprint.py --check before.json      # on the new code: lists every difference

Deterministic means: constructions, local search to its local optimum, the
GA under an iteration limit, the shipped policies' budget-free decodings,
and generated instances. OR-Tools' guided local search stops on a clock, so
its cost is not reproducible and is left out.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED  # noqa: E402


def _instances() -> dict:
    import nco
    from nco.data import load_city, random_cvrp, random_tsp

    found = {"cvrp50-uniform": random_cvrp(50, seed=1),
             "cvrp40-clustered": random_cvrp(40, seed=2, distribution="clustered"),
             "tsp50-uniform": random_tsp(50, seed=1),
             "tsp30-clustered": random_tsp(30, seed=3, distribution="clustered"),
             "monaco-cvrp30": load_city("monaco").sample(30, "cvrp", seed=4),
             "monaco-tsp30": load_city("monaco").sample(30, "tsp", "duration", seed=5)}
    for name in ("cvrplib/X/X-n101-k25.vrp", "tsplib/kroA100.tsp", "tsplib/atsp/ftv33.atsp"):
        if (SHARED / name).exists():
            found[Path(name).stem] = nco.load(SHARED / name)
    return found


def fingerprint() -> dict[str, float]:
    """``instance/solver`` -> cost, plus the generated instances' own sums (a changed draw shows there)."""
    import numpy as np

    import nco
    from nco.solvers.genetic import genetic

    out: dict[str, float] = {}
    for name, instance in _instances().items():
        out[f"{name}/distance-sum"] = float(np.sum(instance.distance))
        for solver in ("nearest", "savings", "ls"):
            out[f"{name}/{solver}"] = nco.solve(instance, solver, time_limit=600, seed=7).cost
        out[f"{name}/ga-300"] = genetic(instance, time_limit=600, seed=7, max_iterations=300).cost
        from nco.neural import solve_neural

        out[f"{name}/neural-greedy"] = solve_neural(instance, how="greedy").cost
        out[f"{name}/neural-multistart"] = solve_neural(instance, time_limit=600).cost
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="write the costs as JSON")
    parser.add_argument("--check", type=Path, help="compare with a JSON written before; exit 1 on any difference")
    args = parser.parse_args(argv)
    costs = fingerprint()
    if args.out:
        args.out.write_text(json.dumps(costs, indent=1, sort_keys=True) + "\n")
    if args.check:
        before = json.loads(args.check.read_text())
        changed = {k: (before.get(k), costs.get(k)) for k in sorted(set(before) | set(costs))
                   if before.get(k) != costs.get(k)}
        for key, (old, new) in changed.items():
            print(f"{key}: {old} -> {new}")
        print(f"{len(costs)} costs, {len(changed)} changed")
        return 1 if changed else 0
    print(json.dumps(costs, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
