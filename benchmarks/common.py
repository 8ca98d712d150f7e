"""Helpers shared by the benchmark scripts: machine description, CSV rows, markdown tables."""

from __future__ import annotations

import csv
import os
import platform
from pathlib import Path
from typing import Iterable

# The shared benchmark data sits beside the repository; NCO_SHARED_DATA points elsewhere.
SHARED = Path(os.environ.get("NCO_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> str:
    """A one-line description of this machine: CPU model, cores, Python."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV written by :func:`append_row` (empty when the file does not exist)."""
    if not path.exists():
        return []
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def append_row(path: Path, row: dict[str, object]) -> None:
    """Append one result row, writing the header first when the file is new."""
    new = not path.exists()
    with path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def markdown_table(header: list[str], rows: Iterable[list[object]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
