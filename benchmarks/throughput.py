"""Training throughput by batch size: what one `nco train` step costs, outside the Trainer.

    python benchmarks/throughput.py --num-nodes 100 --batch-sizes 64 128 256 512 1024 --out DIR   # on a GPU
    python benchmarks/throughput.py --num-nodes 20 --batch-sizes 8 16 32 --steps 5 --out /tmp/t   # a CPU look

For each batch size, a fresh POMO runs ``--warmup`` untimed steps and then
``--steps`` timed ones of exactly what `nco train` does per step
(:meth:`nco.training.Reinforce.reinforce_loss`: sampled rollouts from every
start node against the shared baseline; then backward, the Trainer's gradient
clipping and Adam), under bf16 autocast on a GPU as the Trainer's ``bf16-mixed``.
Reports steps/s, instances/s, the share of a step spent in the forward
rollout and the peak GPU memory, and stops at the first batch size that does
not fit. Instances/s that grow with the batch size mean the step is bound by
launching its many small kernels, not by the GPU's arithmetic: then a larger
``--batch-size`` buys throughput for free. Validation, logging and
checkpoints are left out, so `nco train` runs somewhat slower. Writes
``throughput.csv``, ``throughput.md`` and ``throughput.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import append_row, machine, markdown_table, read_rows  # noqa: E402

from nco.train_config import TrainConfig  # noqa: E402
from nco.training import GRADIENT_CLIP, Reinforce  # noqa: E402


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU with its torch thread count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({torch.get_num_threads()} torch threads)"


def measure(problem: str, num_nodes: int, batch_size: int, steps: int, warmup: int, device: torch.device,
            lr: float = 1e-4, compile: bool = False) -> dict[str, float]:
    """Steps/s, instances/s, forward share and (on a GPU) peak memory in GB of POMO training at ``batch_size``
    (``compile``: the steps compiled, as ``nco train --compile``)."""
    torch.manual_seed(0)
    module = Reinforce(TrainConfig(problem, num_nodes, "pomo", "shared", batch_size=batch_size, lr=lr, val_size=1,
                                   compile=compile)).to(device)
    optimizer = module.configure_optimizers()
    cuda = device.type == "cuda"
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if cuda else contextlib.nullcontext
    sync = (lambda: torch.cuda.synchronize(device)) if cuda else (lambda: None)
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    forward = total = 0.0
    for step in range(warmup + steps):
        sync()
        start = time.perf_counter()
        with autocast():
            loss, _ = module.reinforce_loss(module.draw(batch_size))
        sync()
        rolled = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(module.policy.parameters(), GRADIENT_CLIP)
        optimizer.step()
        sync()
        if step >= warmup:
            forward += rolled - start
            total += time.perf_counter() - start
    figures = {"steps_per_s": steps / total, "instances_per_s": steps * batch_size / total,
               "forward_share": forward / total}
    if cuda:
        figures["peak_gb"] = torch.cuda.max_memory_allocated(device) / 2**30
    return figures


def _steps(row: dict[str, str]) -> str:
    """How a row's decoding steps ran (rows from before the ``compiled`` column ran eagerly)."""
    return "compiled" if row.get("compiled") == "True" else "eager"


def report(rows: list[dict[str, str]], out: Path) -> None:
    """``throughput.md`` and ``throughput.png`` (instances/s and steps/s against the batch size) under ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    header = ["device", "problem", "nodes", "steps", "batch", "steps/s", "instances/s", "forward share", "peak GB"]
    body = [[r["device"], r["problem"], r["num_nodes"], _steps(r), r["batch_size"], r["steps_per_s"],
             r["instances_per_s"], r["forward_share"], r.get("peak_gb") or "-"] for r in rows]
    where = sorted({r["machine"] for r in rows})
    (out / "throughput.md").write_text(
        "# POMO training throughput by batch size\n\n"
        "`python benchmarks/throughput.py` (one optimizer step as `nco train` takes it, without validation "
        f"or logging). Machine: {'; '.join(where)}.\n\n{markdown_table(header, body)}\n")
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    series = lambda r: (r["device"], r["problem"], r["num_nodes"], _steps(r))  # noqa: E731  one curve each
    for key in sorted({series(r) for r in rows}):
        mine = [r for r in rows if series(r) == key and r["steps_per_s"] != "oom"]
        sizes = [int(r["batch_size"]) for r in mine]
        label = f"{key[1].upper()}{key[2]}, {key[0]}, {key[3]}"
        axes[0].plot(sizes, [float(r["instances_per_s"]) for r in mine], "o-", label=label)
        axes[1].plot(sizes, [float(r["steps_per_s"]) for r in mine], "o-", label=label)
    for ax, what in zip(axes, ["instances/s", "optimizer steps/s"]):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("batch size (instances per step)")
        ax.set_ylabel(what)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("POMO training throughput (all starts per instance)")
    fig.tight_layout()
    fig.savefig(out / "throughput.png", dpi=120)
    print(markdown_table(header, body))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problem", choices=["tsp", "cvrp"], default="cvrp")
    parser.add_argument("--num-nodes", type=int, default=100)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 128, 256, 512, 1024])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per batch size")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (allocator, kernel loading)")
    parser.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    parser.add_argument("--compile", action="store_true",
                        help="compiled decoding steps (nco train --compile); the warm-up steps pay the compiling")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 0 or min(args.batch_sizes) < 1:
        parser.error("--steps and --batch-sizes need positive numbers, --warmup one >= 0")
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / "throughput.csv"
    for size in sorted(args.batch_sizes):
        row: dict[str, object] = {"device": device_name(device), "problem": args.problem,
                                  "num_nodes": args.num_nodes, "batch_size": size, "compiled": args.compile,
                                  "torch": torch.__version__}
        try:
            figures = measure(args.problem, args.num_nodes, size, args.steps, args.warmup, device,
                              compile=args.compile)
        except torch.cuda.OutOfMemoryError:
            append_row(csv_path, row | {"steps_per_s": "oom", "machine": machine()})
            print(f"batch {size}: out of GPU memory; larger sizes skipped")
            break
        finally:
            if device.type == "cuda":
                torch.cuda.empty_cache()
        row |= {k: round(v, 3) for k, v in figures.items()} | {"machine": machine()}
        append_row(csv_path, row)
        print(f"batch {size}: {figures['steps_per_s']:.2f} steps/s, {figures['instances_per_s']:.1f} instances/s",
              flush=True)
    report(read_rows(csv_path), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
