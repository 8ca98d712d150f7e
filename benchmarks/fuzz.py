"""The readers' fuzz at scale: mutated VRPLIB/TSPLIB files, each solved correctly or refused in one line.

    python benchmarks/fuzz.py --files 5000 --seed 1

The same mutations as the default suite's ``tests/test_fuzz.py`` (400 files,
seed 0), from ``tests/fuzzing.py``; writes ``results/fuzz.md`` with the counts
and the first failures, if any (their files are kept under ``--keep``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from common import RESULTS, machine  # noqa: E402
from fuzzing import fuzz  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1, help="(the default suite uses seed 0)")
    parser.add_argument("--keep", type=Path, default=None, help="copy failing files here")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    from nco.solvers.warmup import warm_up

    warm_up()
    with tempfile.TemporaryDirectory(prefix="nco-fuzz-") as work:
        found = fuzz(Path(work), args.files, args.seed)
        if args.keep and found.get("BUG"):
            args.keep.mkdir(parents=True, exist_ok=True)
            for line in found["BUG"]:
                shutil.copy(Path(work) / line.split(":", 1)[0], args.keep)
    counts = {k: len(v) for k, v in sorted(found.items())}
    bugs = "\n".join(f"- {line[:300]}" for line in found.get("BUG", [])[:10]) or "none"
    text = (f"# Fuzz of the file readers\n\n`python benchmarks/fuzz.py --files {args.files} --seed {args.seed}` on "
            f"{machine()}.\n\n| outcome | files |\n|---|---|\n"
            + "".join(f"| {k} | {v} |\n" for k, v in counts.items()) + f"\nFailures: {bugs}\n")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fuzz.md").write_text(text)
    print(text)
    return 1 if found.get("BUG") else 0


if __name__ == "__main__":
    sys.exit(main())
