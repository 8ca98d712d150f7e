"""The shipped policies on Kool et al.'s test sets: cost, gap and speed per decoding, beside published numbers.

    python benchmarks/neural.py                              # 10,000 instances each, GPU if there is one
    python benchmarks/neural.py --device cpu --instances 1000 --out /tmp/cpu   # CPU throughput

Decodings: POMO greedy (one start), multi-start, multi-start with x8
augmentation, sampling (one rollout from every start); AM and the pointer
network greedy and sampling (128 rollouts). The gap is to the published mean
of the same 10,000 instances (Concorde for TSP, LKH3 for CVRP; Kool et al.
2019, Table 1); with fewer instances it is approximate. Writes
``neural.csv``, ``neural.md`` and ``neural.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, append_row, machine, markdown_table, read_rows  # noqa: E402

from nco.checkpoints import SHIPPED, load_policy  # noqa: E402
from nco.evaluation import evaluate_policy  # noqa: E402

DECODINGS = {
    "pomo": [("greedy", 1, 1), ("multistart", 1, 1), ("multistart", 8, 1), ("sample", 1, 1)],
    "am": [("greedy", 1, 1), ("sample", 1, 128)],
    "ptrnet": [("greedy", 1, 1), ("sample", 1, 128)],
}

# Published results on the same test sets: mean cost (gap %).
PUBLISHED = [
    ("TSP20", "AM greedy (Kool 2019)", "3.85 (0.34%)"), ("TSP50", "AM greedy (Kool 2019)", "5.80 (1.76%)"),
    ("TSP100", "AM greedy (Kool 2019)", "8.12 (4.53%)"), ("TSP20", "AM sampling 1280 (Kool 2019)", "3.84 (0.08%)"),
    ("TSP50", "AM sampling 1280 (Kool 2019)", "5.73 (0.52%)"),
    ("TSP100", "AM sampling 1280 (Kool 2019)", "7.94 (2.26%)"),
    ("TSP100", "POMO x8 augmentation (Kwon 2020)", "(0.14%)"),
    ("CVRP20", "AM greedy (Kool 2019)", "6.40 (4.97%)"), ("CVRP50", "AM greedy (Kool 2019)", "10.98 (5.86%)"),
    ("CVRP100", "AM greedy (Kool 2019)", "16.80 (7.34%)"), ("CVRP20", "AM sampling 1280 (Kool 2019)", "6.25 (2.49%)"),
    ("CVRP50", "AM sampling 1280 (Kool 2019)", "10.62 (2.40%)"),
    ("CVRP100", "AM sampling 1280 (Kool 2019)", "16.23 (3.72%)"),
]


def decoding_label(how: str, factor: int, samples: int) -> str:
    """How a decoding is named in the tables: ``multistart x8``, ``sample 128``, ``greedy``."""
    return how + (f" x{factor}" if factor > 1 else "") + (f" {samples}" if samples > 1 else "")


def plot(rows: list[dict[str, str]], path: Path) -> None:
    """Gap per model and decoding (bars), best decoding last."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(r["model"] for r in rows))
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / max(len(DECODINGS["pomo"]), 1)
    for k, label in enumerate(dict.fromkeys(r["decoding"] for r in rows)):
        xs, ys = [], []
        for m, model in enumerate(models):
            sel = [r for r in rows if r["model"] == model and r["decoding"] == label and r["gap"] not in ("", "None")]
            if sel:
                xs.append(m + k * width)
                ys.append(float(sel[0]["gap"]))
        ax.bar(xs, ys, width, label=label)
    ax.set_xticks([m + 0.3 for m in range(len(models))], models, rotation=20)
    ax.set_ylabel("gap to Concorde / LKH3 (%)")
    ax.set_title("Shipped policies on the Kool et al. test sets")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--checkpoints", type=Path, default=SHIPPED)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / "neural.csv"
    csv_path.unlink(missing_ok=True)
    for path in sorted(args.checkpoints.glob("*.pt")):
        _, meta = load_policy(path)
        if meta["policy"] not in DECODINGS:  # the matrix-aware policies: benchmarks/citypolicy.py
            continue
        for how, factor, samples in DECODINGS[meta["policy"]]:
            r = evaluate_policy(str(path), args.instances, how, factor, samples, args.batch_size, args.device)
            label = decoding_label(how, factor, samples)
            row = {"model": path.stem, "decoding": label, "instances": r["instances"],
                   "mean_cost": round(r["mean_cost"], 4), "reference": r["reference"],
                   "gap": None if r["gap"] is None else round(r["gap"], 3), "seconds": round(r["seconds"], 3),
                   "instances_per_s": round(r["per_second"], 1), "device": r["device"], "machine": machine(),
                   "training_minutes": meta["training"].get("minutes"),
                   "training_instances": meta["training"].get("instances_seen")}
            append_row(csv_path, row)
            print(*row.values(), sep=" | ", flush=True)
    rows = read_rows(csv_path)
    body = [[r["model"], r["decoding"], r["instances"], r["mean_cost"], r["gap"], r["seconds"], r["instances_per_s"],
             r["device"]] for r in rows]
    table = markdown_table(["model", "decoding", "instances", "mean cost", "gap %", "seconds", "instances/s",
                            "device"], body)
    published = markdown_table(["set", "method", "mean cost (gap)"], PUBLISHED)
    command = "python benchmarks/neural.py " + " ".join(argv if argv is not None else sys.argv[1:])
    (args.out / "neural.md").write_text(
        f"# Shipped policies on the Kool test sets\n\nMachine: {machine()}.\nCommand: `{command.strip()}`\n\n"
        f"{table}\n\nPublished on the same test sets:\n\n{published}\n")
    plot(rows, args.out / "neural.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
