"""Decoding and training speed of the installed `nco`, to compare two versions of the code on one machine.

    python benchmarks/speed.py --label new --out DIR             # this checkout (editable install)
    git worktree add /tmp/old COMMIT && pip install --no-deps --no-build-isolation --target /tmp/oldsite /tmp/old
    PYTHONPATH=/tmp/oldsite PYTHONSAFEPATH=1 python benchmarks/speed.py --label old --out DIR
    python benchmarks/speed.py --report --out DIR                # speed.md: the labels side by side

CPU speed on a shared machine drifts by a third between sessions, so a change
is judged only against the other version measured in the same session,
alternating runs (``--label old``, ``--label new``, and again). Each run times
``nco.evaluation.evaluate_policy`` (what ``nco eval`` and
``benchmarks/neural.py`` run: chunks of 50 instances, after an untimed
warm-up) on the shipped checkpoints, and the steps/s of POMO training steps
(``benchmarks/throughput.py``'s measurement) on 100 nodes. Rows go to
``speed.jsonl`` under ``--out``, with the mean cost, which must not change
when only the speed did (sampled decodings draw other samples when the
sampler changed).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, markdown_table  # noqa: E402

CHECKPOINTS = Path(__file__).resolve().parents[1] / "nco" / "checkpoints"

# (model, decoding, augmentation, samples, instances): the decodings of benchmarks/neural.py, fewer instances
DECODINGS = [("cvrp-pomo-100", "greedy", 1, 1, 200), ("cvrp-pomo-100", "multistart", 1, 1, 100),
             ("cvrp-pomo-100", "multistart", 8, 1, 25), ("cvrp-pomo-100", "sample", 1, 1, 100),
             ("tsp-pomo-100", "greedy", 1, 1, 200), ("tsp-pomo-100", "multistart", 1, 1, 100),
             ("tsp-pomo-100", "multistart", 8, 1, 25), ("tsp-pomo-20", "multistart", 8, 1, 200),
             ("tsp-am-20", "sample", 1, 128, 200), ("tsp-ptrnet-20", "sample", 1, 128, 50)]
TRAINING = [("tsp", 100, 8), ("cvrp", 100, 8)]  # (problem, nodes, batch) of POMO training steps


def run(label: str, out: Path, steps: int) -> None:
    """Time every decoding and training setting once; append the rows to ``speed.jsonl``."""
    from neural import decoding_label
    from throughput import measure

    from nco.evaluation import evaluate_policy

    path = out / "speed.jsonl"
    base = {"label": label, "machine": machine(), "torch": torch.__version__, "threads": torch.get_num_threads()}
    with path.open("a") as fh:
        for model, how, factor, samples, count in DECODINGS:
            r = evaluate_policy(str(CHECKPOINTS / f"{model}.pt"), count, how, factor, samples, None, "cpu")
            row = base | {"what": f"{model} {decoding_label(how, factor, samples)}", "instances": count,
                          "seconds": round(r["seconds"], 3), "mean_cost": round(r["mean_cost"], 4)}
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            print(row["what"], row["seconds"], "s", flush=True)
        for problem, nodes, batch in TRAINING:
            figures = measure(problem, nodes, batch, steps, 1, torch.device("cpu"))
            row = base | {"what": f"train {problem}{nodes} batch {batch}",
                          "steps_per_s": round(figures["steps_per_s"], 3)}
            fh.write(json.dumps(row) + "\n")
            print(row["what"], row["steps_per_s"], "steps/s", flush=True)


def report(out: Path) -> None:
    """``speed.md``: per setting, each label's runs and the ratio of the first label's mean time to the others'."""
    rows = [json.loads(line) for line in (out / "speed.jsonl").read_text().splitlines() if line.strip()]
    labels = list(dict.fromkeys(r["label"] for r in rows))
    runs: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    costs: dict[str, dict[str, float]] = defaultdict(dict)
    for r in rows:
        # seconds per decoding, or seconds per training step, so that a ratio > 1 always means faster
        runs[r["what"]][r["label"]].append(r["seconds"] if "seconds" in r else 1 / r["steps_per_s"])
        if "mean_cost" in r:
            costs[r["what"]][r["label"]] = r["mean_cost"]
    header = ["setting"] + [f"{label} s" for label in labels] + [f"{labels[0]} / {label}" for label in labels[1:]]
    header += ["mean cost"]
    body = []
    for what, by in runs.items():
        means = {label: sum(v) / len(v) for label, v in by.items() if v}
        cells = [", ".join(f"{t:.2f}" for t in by.get(label, [])) or "-" for label in labels]
        ratios = [f"{means[labels[0]] / means[label]:.2f}x" if label in means and labels[0] in means else "-"
                  for label in labels[1:]]
        cost = " / ".join(str(costs[what].get(label, "-")) for label in labels) if what in costs else "-"
        body.append([what] + cells + ratios + [cost])
    text = (f"# Speed by code version\n\nMachine: {rows[0]['machine']}, torch {rows[0]['torch']}, "
            f"{rows[0]['threads']} threads. Seconds per decoding (instances in `speed.py`) or per training "
            f"step; the ratio is the first label's mean over the other's (> 1: the other is faster).\n\n"
            + markdown_table(header, body) + "\n")
    (out / "speed.md").write_text(text)
    print(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--label", help="name of the code version being measured (old, new, a commit)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=4, help="timed training steps per setting")
    parser.add_argument("--report", action="store_true", help="write speed.md from the rows so far")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.report:
        report(args.out)
    elif args.label:
        run(args.label, args.out, args.steps)
    else:
        parser.error("give --label to measure, or --report")
    return 0


if __name__ == "__main__":
    sys.exit(main())
