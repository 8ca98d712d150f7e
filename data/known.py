"""Best-known or optimal objective values that travel with instance files.

Looked up beside the instance, in this order: a CSV in the same folder with an
``instance``/``name`` column and a ``bks``/``optimum``/``optimal_cost`` column
(the layout of CVRPLIB and TSPLIB collections), the ``Cost`` line of a
``<name>.sol`` file, an ``Optimal value: N`` note in the file's COMMENT.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

# bks_recomputed_original_units: the shared HFVRP table, whose .sol Cost lines are in two scales
_VALUE_COLUMNS = ("bks", "optimum", "optimal_cost", "opt", "best_known", "bks_recomputed_original_units")
_NAME_COLUMNS = ("instance", "name")


def _from_csv(folder: Path, name: str) -> float | None:
    for table in sorted(folder.glob("*.csv")):
        try:
            with table.open(newline="") as fh:
                for row in csv.DictReader(fh):
                    key = next((row[c] for c in _NAME_COLUMNS if c in row), None)
                    if key != name:
                        continue
                    for column in _VALUE_COLUMNS:
                        value = row.get(column)
                        if value not in (None, ""):
                            return float(value)
        except (OSError, csv.Error, ValueError, UnicodeDecodeError):
            continue
    return None


def _from_sol(path: Path) -> float | None:
    sol = path.with_suffix(".sol")
    if not sol.exists():
        return None
    match = re.search(r"^\s*cost\s*:?\s*([0-9.eE+-]+)", sol.read_text(errors="replace"), re.I | re.M)
    return float(match.group(1)) if match else None


def _from_comment(path: Path) -> float | None:
    head = path.read_text(errors="replace")[:2000]
    match = re.search(r"(?:optimal|best)(?: known)? value\s*:?\s*([0-9.]+)", head, re.I)
    return float(match.group(1)) if match else None


def known_value(path: str | os.PathLike) -> float | None:
    """The best-known or optimal cost recorded for the instance at ``path``, or None."""
    path = Path(path)
    if not path.exists():
        return None
    name = path.name.split(".")[0]
    for finder in (lambda: _from_csv(path.parent, name), lambda: _from_sol(path), lambda: _from_comment(path)):
        value = finder()
        if value is not None:
            return value
    return None


def gap(cost: float, reference: float | None) -> float | None:
    """Percentage gap of ``cost`` above ``reference`` (None when there is no reference)."""
    if reference is None or reference == 0:
        return None
    return 100.0 * (cost - reference) / reference
