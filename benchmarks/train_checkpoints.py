"""Train the shipped checkpoints side by side on one machine (all runs share the GPU).

    python benchmarks/train_checkpoints.py --minutes 8 --out runs/shipped
    python benchmarks/train_checkpoints.py --minutes 10 --only tsp-pomo-20 --accelerator cpu
    python benchmarks/train_checkpoints.py --minutes 35 --only tsp-matrix-100 cvrp-matrix-100 \
        --init-from nco/checkpoints --cities /tmp/nco-cities/{andorra,helsinki,krems,moscow}.npz
    python benchmarks/train_checkpoints.py --minutes 30 --only pvrp-camp-hcvrp pvrp-camp-pvrp-p --accelerator cpu

Each model is one ``nco train`` process with the same wall-clock budget; they
run at the same time, so each gets a share of the device. Writes
``OUT/<problem>-<policy>-<n>/`` (checkpoints, logs, policy.pt) and
``OUT/summary.json`` with the figures each run printed. The matrix-aware
models train on ``--cities`` (city files as ``benchmarks/realcity.py`` builds
them) and, with ``--init-from``, start from the POMO file of the same problem
and size when there is no matrix file to continue.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

UNIFORM = ["tsp-pomo-20", "tsp-pomo-50", "tsp-pomo-100", "cvrp-pomo-20", "cvrp-pomo-50", "cvrp-pomo-100",
           "tsp-am-20", "tsp-ptrnet-20"]
# The fleet models: one per preset, across n = 40..100 and 3..7 vehicles as CAMP trains one (validated at 60 x 5)
FLEET_RANGE = ["--sizes", "40-100", "--num-vehicles", "3-7", "--num-nodes", "60"]
FLEETS = {"pvrp-camp-hcvrp": ["hcvrp", *FLEET_RANGE], "pvrp-camp-pvrp-p": ["pvrp", "--preset", "pvrp-p", *FLEET_RANGE]}
MODELS = UNIFORM + ["tsp-matrix-100", "cvrp-matrix-100"] + list(FLEETS)  # the matrix-aware ones train on cities


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=8.0, help="training budget of every run")
    parser.add_argument("--out", type=Path, default=Path("runs/shipped"))
    parser.add_argument("--only", nargs="+", default=UNIFORM, choices=MODELS)
    parser.add_argument("--cities", nargs="+", default=None, help="city files for the matrix-aware models")
    parser.add_argument("--batch-size", type=int, default=None, help="instead of each policy's default")
    parser.add_argument("--accelerator", default="auto")
    parser.add_argument("--init-from", type=Path, default=None,
                        help="continue from <DIR>/<problem>-<policy>-<n>.pt (e.g. the shipped checkpoints)")
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    procs = {}
    for name in args.only:
        folder = args.out / name
        if name in FLEETS:
            cmd = [sys.executable, "-m", "nco.cli", "train", *FLEETS[name], "--max-minutes", str(args.minutes),
                   "--accelerator", args.accelerator, "--out", str(folder)]
            cmd += ["--batch-size", str(args.batch_size)] if args.batch_size else []
            cmd += ["--init", str(args.init_from / f"{name}.pt")] if args.init_from else []
            procs[name] = _start(cmd, folder)
            continue
        problem, policy, n = name.split("-")
        cmd = [sys.executable, "-m", "nco.cli", "train", problem, "--num-nodes", n, "--policy", policy,
               "--max-minutes", str(args.minutes), "--accelerator", args.accelerator, "--out", str(folder)]
        if args.init_from is not None:
            start = args.init_from / f"{name}.pt"
            if policy == "matrix" and not start.exists():
                start = args.init_from / f"{problem}-pomo-{n}.pt"
            cmd += ["--init", str(start)]
        if policy == "matrix":
            if not args.cities:
                parser.error(f"{name} trains on cities: give --cities")
            cmd += ["--cities", *args.cities]
        if args.batch_size is not None:
            cmd += ["--batch-size", str(args.batch_size)]
        procs[name] = _start(cmd, folder)
    start = time.perf_counter()
    summary = {}
    for name, (proc, log) in procs.items():
        proc.wait()
        log.close()
        text = (args.out / name / "train.log").read_text(errors="replace")
        summary[name] = {"returncode": proc.returncode, "tail": text.strip().splitlines()[-3:]}
        print(name, proc.returncode, *summary[name]["tail"][-2:], sep="\n  ")
    summary["wall_minutes"] = round((time.perf_counter() - start) / 60, 2)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    return 0 if all(p.returncode == 0 for p, _ in procs.values()) else 1


def _start(cmd: list[str], folder: Path) -> tuple[subprocess.Popen, object]:
    """One ``nco train`` process writing to ``folder/train.log``."""
    folder.mkdir(parents=True, exist_ok=True)
    log = (folder / "train.log").open("w")
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), log


if __name__ == "__main__":
    sys.exit(main())
