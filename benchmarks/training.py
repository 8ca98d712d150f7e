"""Training efficiency: POMO on CVRP100 trained by `nco train` for a fixed wall-clock budget, then its x8 gap.

    python benchmarks/training.py --minutes 6.5 --batch-size 256 --instances 1000 \\
        --reference benchmarks/results/h100/pyvrp_first1000.csv --out /tmp/training     # on the GPU
    python benchmarks/training.py --run /tmp/training/run --reference ... --out DIR          # report a finished run

The comparison the neural issue asks for: RL4CO 0.7's POMO (its defaults,
batch 64, bf16) ran 2.6 steps/s, about 170 instances/s, on one H100 and
after 6.5 minutes was 10.7% (x8 augmentation) above PyVRP-at-3-s on the first
1,000 Kool CVRP100 test instances (figures from the neural issue and
``../shared/NOTES.md``). This script trains from scratch with ``nco train cvrp
--num-nodes 100 --policy pomo`` for ``--minutes``, decodes the first
``--instances`` test instances with multi-start x8, and compares the mean with
the PyVRP mean of the same instances read from a ``benchmarks/hybrid.py`` CSV
(``python benchmarks/hybrid.py --instances 1000 --solvers pyvrp --limits 3``).
Writes ``training.csv``, ``training.md`` and ``training.png`` (the validation
gap against instances seen) under ``--out``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import append_row, machine, markdown_table, read_rows  # noqa: E402

from nco.checkpoints import load_policy  # noqa: E402
from nco.data import NcoError  # noqa: E402
from nco.evaluation import evaluate_policy  # noqa: E402

RL4CO = {"instances_per_s": 170.0, "steps_per_s": 2.6, "batch_size": 64, "minutes": 6.5, "gap_to_pyvrp": 10.7}


def pyvrp_mean(path: Path, instances: int, limit: float = 3.0) -> float:
    """Mean PyVRP cost at ``limit`` seconds over instances 0..instances-1 of a hybrid.py CSV."""
    costs = {int(r["instance"]): float(r["cost"]) for r in read_rows(path)
             if r["solver"] == "pyvrp" and float(r["limit"]) == limit and int(r["instance"]) < instances}
    if len(costs) < instances:
        raise NcoError(f"{path}: PyVRP at {limit:g} s for {len(costs)} of the first {instances} instances; "
                       f"run benchmarks/hybrid.py --instances {instances} --solvers pyvrp --limits {limit:g}")
    return sum(costs.values()) / instances


def train(minutes: float, batch_size: int, out: Path, lr: float | None = None, curriculum: str | None = None,
          compile: bool = False) -> Path:
    """Train from scratch with the CLI exactly as a user would; returns the run folder."""
    # ``python -m nco.cli``, not the ``nco`` script: the GPU machines install nco where no PATH points.
    command = [sys.executable, "-m", "nco.cli", "train", "cvrp", "--num-nodes", "100", "--policy", "pomo",
               "--max-minutes", str(minutes), "--batch-size", str(batch_size), "--out", str(out)]
    command += ["--lr", str(lr)] if lr is not None else []
    command += ["--curriculum", curriculum] if curriculum else []
    command += ["--compile"] if compile else []
    subprocess.run(command, check=True)
    return out


def validation_curve(run: Path) -> list[tuple[float, float]]:
    """(instances seen, validation gap % to the published mean) at each validation of the run's CSV log."""
    logs = sorted(run.glob("csv/version_*/metrics.csv"))
    if not logs:
        return []
    return [(float(r["instances_seen"]), float(r["val/gap_published"])) for r in read_rows(logs[-1])
            if r.get("val/gap_published") and r.get("instances_seen")]


def plot(curve: list[tuple[float, float]], result: dict[str, object], path: Path) -> None:
    """Validation gap against instances seen, with how far RL4CO got in the same minutes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    if curve:
        ax.plot([c[0] for c in curve], [c[1] for c in curve], marker="o",
                label="nco, validation (multi-start greedy)")
    rl4co = RL4CO["instances_per_s"] * RL4CO["minutes"] * 60
    ax.axvline(rl4co, color="grey", linestyle="--", label=f"RL4CO's instances in {RL4CO['minutes']} min")
    ax.set_xlabel("training instances seen")
    ax.set_ylabel("gap to LKH3's published mean (%)")
    ax.set_title(f"POMO on CVRP100, {result['minutes']} min on {result['device']}")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def final_size_rate(training: dict, seconds: float) -> float:
    """Instances per second while training on CVRP100 itself: the last curriculum stage's own rate, or
    the whole run's when there was no curriculum (smaller instances are cheaper and would flatter it)."""
    final = [s for s in training.get("stages", []) if s["num_nodes"] == 100]
    if final:
        return final[0]["instances"] / final[0]["seconds"]
    return training["instances_seen"] / seconds


def report(run: Path, reference_csv: Path, instances: int, device: str | None, out: Path) -> dict[str, object]:
    """Evaluate a finished run, append its row to training.csv and rewrite training.md and training.png."""
    policy = run / "policy.pt"
    _, meta = load_policy(policy)
    training = meta["training"]
    r = evaluate_policy(str(policy), instances, "multistart", 8, 1, None, device)
    reference = pyvrp_mean(reference_csv, instances)
    seconds = 60 * float(training["minutes"])
    result = {"device": training["device"], "minutes": training["minutes"], "batch_size": training["batch_size"],
              "instances_seen": training["instances_seen"],
              "instances_per_s": round(training["instances_seen"] / seconds, 1),
              "steps_per_s": round(training["instances_seen"] / training["batch_size"] / seconds, 2),
              "test_instances": instances, "mean_cost_x8": round(r["mean_cost"], 4),
              "pyvrp_3s_mean": round(reference, 4), "gap_to_pyvrp": round(100 * (r["mean_cost"] / reference - 1), 2),
              "eval_device": r["device"], "machine": machine(), "lr": training["lr"],
              "curriculum": training.get("curriculum", ""),
              "instances_per_s_at_100": round(final_size_rate(training, seconds), 1),
              "compiled": bool(training.get("compile", False))}
    out.mkdir(parents=True, exist_ok=True)
    append_row(out / "training.csv", result)
    rows = read_rows(out / "training.csv")
    body = [["RL4CO 0.7 POMO (issue 3, NOTES.md)", "NVIDIA H100", RL4CO["batch_size"], 1e-4, "",
             RL4CO["minutes"], "", RL4CO["instances_per_s"], RL4CO["instances_per_s"], RL4CO["steps_per_s"],
             RL4CO["gap_to_pyvrp"]]]
    body += [["nco POMO" + (" (compiled steps)" if x.get("compiled") == "True" else ""), x["device"],
              x["batch_size"], f"{float(x['lr']):g}", x.get("curriculum") or "",
              x["minutes"], x["instances_seen"], x["instances_per_s"],
              x.get("instances_per_s_at_100") or x["instances_per_s"], x["steps_per_s"], x["gap_to_pyvrp"]]
             for x in rows]
    table = markdown_table(["trainer", "device", "batch", "learning rate", "curriculum", "minutes",
                            "instances seen", "instances/s", "CVRP100 instances/s", "steps/s",
                            "x8 gap to PyVRP-3s %"], body)
    command = "python benchmarks/training.py " + " ".join(sys.argv[1:])
    pyvrp_machine = read_rows(reference_csv)[0]["machine"]
    (out / "training.md").write_text(
        f"# Training efficiency: POMO on CVRP100 from scratch\n\n"
        f"Training: `nco train cvrp --num-nodes 100 --policy pomo --max-minutes M --batch-size B [--lr LR] "
        f"[--curriculum C]` alone on the device named. With a curriculum (smaller instances first, see "
        f"`nco/curriculum.py`), instances/s counts every size and \"CVRP100 instances/s\" only the final "
        f"stage's, the figure to set beside RL4CO's. Gap: multi-start x8 on the first {instances} Kool test "
        "instances (decoded on "
        f"{r['device']}, {machine()}) against PyVRP at 3 s on the same instances ({reference_csv.name}, "
        f"mean {reference:.4f}, run on {pyvrp_machine}). Curve: `training.png`.\n\n"
        f"Command: `{command.strip()}`\n\n{table}\n")
    plot(validation_curve(run), result, out / "training.png")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=6.5)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=None, help="passed to nco train (its default: 1e-4)")
    parser.add_argument("--curriculum", default=None, help="passed to nco train, such as 20:1m,50:1.5m")
    parser.add_argument("--compile", action="store_true", help="passed to nco train: compiled decoding steps")
    parser.add_argument("--instances", type=int, default=1000, help="first N Kool CVRP100 test instances")
    parser.add_argument("--reference", type=Path, required=True, help="a hybrid.py CSV with PyVRP at 3 s")
    parser.add_argument("--run", type=Path, default=None, help="report this finished `nco train` folder")
    parser.add_argument("--device", default=None, help="device for the evaluation (default: cuda when available)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    pyvrp_mean(args.reference, args.instances)  # fail before training, not after
    run = args.run or train(args.minutes, args.batch_size, args.out / "run", args.lr, args.curriculum, args.compile)
    result = report(run, args.reference, args.instances, args.device, args.out)
    print(*(f"{k}: {v}" for k, v in result.items()), sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
