"""Tensor operations per decoding step of a POMO training step: a count, not a timing.

    python benchmarks/ops.py --label new                  # counts of the installed nco, appended to ops.jsonl
    python benchmarks/ops.py --report                     # the table of every label in ops.jsonl

On a GPU a decoding step's many small operations each launch a kernel, and at
the batch sizes used for training the launches, not the arithmetic, set the
step's time (see ``benchmarks/GPU.md``). Counting them needs no GPU and does
not depend on a shared machine's speed, so two versions of the code compare
exactly on the CPU (install the old one with ``pip install --target`` and put
it first on ``PYTHONPATH``, as in ``benchmarks/speed.py``).

What is counted: torch's profiler records a sampled rollout from every start
node and its REINFORCE backward (the shared baseline), as ``nco train`` runs
them; an operation is an ``aten::`` call not nested in another, views and
allocations left out (they launch no kernel), forward and backward apart,
divided by the rollout's steps. The encoder's operations are spread over the
steps too; they are a few per step at 100 nodes.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, machine, markdown_table  # noqa: E402

# Operations that launch no kernel: views, allocations, metadata and host reads.
NO_KERNEL = {"aten::view", "aten::as_strided", "aten::_reshape_alias", "aten::reshape", "aten::expand",
             "aten::transpose", "aten::permute", "aten::select", "aten::slice", "aten::unsqueeze", "aten::squeeze",
             "aten::t", "aten::detach", "aten::alias", "aten::_unsafe_view", "aten::unbind", "aten::split",
             "aten::chunk", "aten::lift_fresh", "aten::resolve_conj", "aten::resolve_neg", "aten::empty",
             "aten::empty_strided", "aten::narrow", "aten::contiguous", "aten::_local_scalar_dense", "aten::item",
             "aten::result_type", "aten::is_nonzero", "aten::view_as", "aten::expand_as", "aten::size",
             "aten::stride", "aten::detach_", "aten::set_"}


def count(problem: str, num_nodes: int, batch_size: int, seed: int = 0) -> dict:
    """Forward and backward operations per decoding step, and the commonest ones, of one training step."""
    from torch.profiler import ProfilerActivity, profile

    from nco.envs import make_env
    from nco.envs.batch import random_batch
    from nco.policies import make_policy
    from nco.policies.decoding import rollout

    torch.manual_seed(seed)
    policy, env = make_policy("pomo", problem), make_env(problem)
    batch = random_batch(problem, num_nodes, batch_size)

    def train_step():
        result = rollout(policy, env, batch, "sample", num_starts=batch.num_starts, multistart=True)
        advantage = result.reward - result.reward.mean(1, keepdim=True)
        (-(advantage * result.log_prob).mean()).backward()
        return result.actions.shape[-1]

    train_step()  # warm-up: first-call paths are not what a training run repeats
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        steps = train_step()
    forward, backward = collections.Counter(), collections.Counter()

    def walk(event, in_backward: bool) -> None:
        in_backward = in_backward or "autograd::engine" in event.name or "Backward" in event.name
        if event.name.startswith("aten::") and event.name not in NO_KERNEL:
            (backward if in_backward else forward)[event.name] += 1
            return  # what it calls is part of it
        for child in event.cpu_children:
            walk(child, in_backward)

    for event in prof.events():
        if event.cpu_parent is None:
            walk(event, False)
    return {"problem": problem, "num_nodes": num_nodes, "batch_size": batch_size, "steps": steps,
            "forward": sum(forward.values()) / steps, "backward": sum(backward.values()) / steps,
            "top_forward": {k: round(v / steps, 2) for k, v in forward.most_common(12)}}


def report(path: Path) -> str:
    """A markdown table of every recorded label and problem."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    header = ["label", "problem", "nodes", "forward ops / step", "backward ops / step", "total", "torch"]
    body = [[r["label"], r["problem"], r["num_nodes"], f"{r['forward']:.1f}", f"{r['backward']:.1f}",
             f"{r['forward'] + r['backward']:.1f}", r["torch"]] for r in rows]
    return (f"# Tensor operations per decoding step (POMO training step)\n\n`python benchmarks/ops.py` "
            f"(torch's profiler on the CPU; see its docstring). Machine: {machine()}.\n\n"
            f"{markdown_table(header, body)}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--label", help="name of the code version measured (e.g. a commit)")
    parser.add_argument("--problems", nargs="+", default=["tsp", "cvrp"], choices=["tsp", "cvrp"])
    parser.add_argument("--num-nodes", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=2, help="the count hardly depends on it")
    parser.add_argument("--out", type=Path, default=RESULTS / "cpu", help="folder of ops.jsonl and ops.md")
    parser.add_argument("--report", action="store_true", help="only write ops.md from ops.jsonl")
    args = parser.parse_args(argv)
    path = args.out / "ops.jsonl"
    if not args.report:
        if not args.label:
            parser.error("--label is needed to record counts")
        args.out.mkdir(parents=True, exist_ok=True)
        for problem in args.problems:
            row = count(problem, args.num_nodes, args.batch_size) | {"label": args.label, "torch": torch.__version__}
            with path.open("a") as fh:
                fh.write(json.dumps(row) + "\n")
            print(f"{args.label} {problem}{args.num_nodes}: {row['forward']:.1f} forward + {row['backward']:.1f} "
                  f"backward operations per step; commonest forward: {row['top_forward']}", flush=True)
    if not path.exists():
        parser.error(f"{path} does not exist: record some counts with --label first")
    text = report(path)
    (args.out / "ops.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
