"""Size curriculum against training on the target size only: finished `nco train` runs side by side.

    python benchmarks/curriculum.py --runs none=/tmp/cur/A 20:7.5m=/tmp/cur/C 20:15m=/tmp/cur/D \\
        --instances 1000 --device cpu --out benchmarks/results/cpu

Each run is a folder of ``nco train`` (same problem, size and budget; see
``nco/curriculum.py``). For each: the validation gap at every validation
(against the training minutes, estimated from each stage's mean step time,
which the policy file records), and the x8 multi-start gap on the first
``--instances`` Kool test instances. Writes ``curriculum.csv``,
``curriculum.md`` and ``curriculum.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import append_row, machine, markdown_table, read_rows  # noqa: E402
from training import validation_curve  # noqa: E402

from nco.checkpoints import load_policy  # noqa: E402
from nco.evaluation import evaluate_policy  # noqa: E402


def step_minutes(training: dict) -> list[float]:
    """Estimated training minutes at the end of each step: each stage's seconds spread evenly over its steps."""
    stages = training.get("stages") or [{"steps": None, "seconds": 60 * training["minutes"]}]
    out, clock = [], 0.0
    for stage in stages:
        steps = stage["steps"] or max(1, round(training["instances_seen"] / training["batch_size"]))
        out += [clock + stage["seconds"] / 60 * (k + 1) / steps for k in range(steps)]
        clock += stage["seconds"] / 60
    return out


def curve_in_minutes(run: Path, training: dict) -> list[tuple[float, float]]:
    """(training minutes, validation gap %) at each validation of the run."""
    minutes = step_minutes(training)
    points = [(round(seen / training["batch_size"]), gap) for seen, gap in validation_curve(run)]
    return [(minutes[min(step, len(minutes)) - 1], gap) for step, gap in points if step > 0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", nargs="+", required=True, metavar="LABEL=DIR")
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--device", default=None)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--note", default="", help="how the runs were trained, for the markdown")
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    args.out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, folder in (item.split("=", 1) for item in args.runs):
        run = Path(folder)
        _, meta = load_policy(run / "policy.pt")
        training = meta["training"]
        r = evaluate_policy(str(run / "policy.pt"), args.instances, "multistart", 8, 1, None, args.device)
        stages = training.get("stages") or []
        append_row(args.out / "curriculum.csv", {
            "run": label, "problem": meta["problem"], "num_nodes": meta["num_nodes"], "minutes": training["minutes"],
            "batch_size": training["batch_size"], "lr": training["lr"],
            "stages": "; ".join(f"{s['num_nodes']}: {s['steps']} steps, {s['seconds']} s" for s in stages),
            "test_instances": args.instances, "mean_cost_x8": round(r["mean_cost"], 4),
            "gap_x8": round(r["gap"], 2), "machine": machine()})
        curve = curve_in_minutes(run, training)
        ax.plot([c[0] for c in curve], [c[1] for c in curve], marker=".", label=f"{label}: x8 test {r['gap']:.2f}%")
    rows = read_rows(args.out / "curriculum.csv")
    table = markdown_table(["curriculum", "problem", "minutes", "batch", "lr", "stages (steps, seconds)",
                            "x8 mean cost", "x8 gap %"],
                           [[x["run"], f"{x['problem'].upper()}{x['num_nodes']}", x["minutes"], x["batch_size"],
                             x["lr"], x["stages"] or "-", x["mean_cost_x8"], x["gap_x8"]] for x in rows])
    ax.set_xlabel("training minutes (estimated from each stage's mean step time)")
    ax.set_ylabel("validation gap, multi-start greedy (%)")
    ax.set_ylim(top=min(25, ax.get_ylim()[1]))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out / "curriculum.png", dpi=120)
    plt.close(fig)
    (args.out / "curriculum.md").write_text(
        f"# Size curriculum: smaller instances first\n\nMachine: {machine()}. x8: multi-start with x8 augmentation "
        f"on the first {rows[-1]['test_instances']} Kool test instances, gap to the published mean of all 10,000. "
        f"Curve: `curriculum.png`; during a curriculum's smaller stages the validation still runs on the run's "
        f"own size, so those points show how far the smaller-size policy carries over.\n\n"
        f"{args.note + chr(10) * 2 if args.note else ''}"
        f"Command: `python benchmarks/curriculum.py --runs {' '.join(args.runs)} "
        f"--instances {args.instances}{' --device ' + args.device if args.device else ''} --out {args.out}`\n\n"
        f"{table}\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
