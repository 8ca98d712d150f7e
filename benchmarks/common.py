"""Helpers shared by the benchmark scripts: machine description, CSV rows, markdown tables."""

from __future__ import annotations

import csv
import os
import platform
from pathlib import Path
from typing import Iterable

import numpy as np

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
    """Append one result row, writing the header first when the file is new. A row with columns the
    file lacks rewrites the file (through a temporary file) with the new columns, empty in the old rows."""
    header: list[str] = []
    if path.exists():
        with path.open(newline="") as fh:
            header = next(csv.reader(fh), [])
    if header and not set(row) <= set(header):
        fields = header + [k for k in row if k not in header]
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields, restval="")
            writer.writeheader()
            writer.writerows(read_rows(path) + [row])
        os.replace(tmp, path)
        return
    with path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header or list(row), restval="")
        if not header:
            writer.writeheader()
        writer.writerow(row)


def markdown_table(header: list[str], rows: Iterable[list[object]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def pyvrp_solve(instance, seconds: float, seed: int = 0) -> list[list[int]]:
    """PyVRP's HGS on a CVRP or TSP instance (integer distances as they are, others scaled); returns routes of
    customer ids.

    PyVRP wants integers, and caps its penalties (100,000 per unit of overload),
    so fractional matrices are scaled to a longest arc of 10^4 - not by a fixed
    factor, which would make long arcs outweigh any penalty.
    """
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime

    m = Model()
    coords = instance.coords if instance.coords is not None else np.zeros((instance.num_nodes, 2))
    locations = [m.add_location(x=float(x), y=float(y)) for x, y in coords]
    m.add_depot(locations[0])
    tsp = instance.problem == "tsp"  # a TSP is one vehicle without a capacity limit
    for node in range(1, instance.num_nodes):
        m.add_client(locations[node], delivery=0 if tsp else int(instance.demand[node]))
    m.add_vehicle_type(num_available=1 if tsp else instance.num_customers,
                       capacity=0 if tsp else int(instance.capacity))
    dist = instance.distance
    scale = 1.0 if np.all(dist == np.rint(dist)) else 1e4 / max(1e-9, float(dist.max()))
    scaled = np.rint(dist * scale).astype(int)
    for i, a in enumerate(locations):
        for j, b in enumerate(locations):
            if i != j:
                m.add_edge(a, b, distance=int(scaled[i, j]))
    result = m.solve(stop=MaxRuntime(seconds), seed=seed, display=False)
    # Activities are depots and clients; a client's idx counts clients from 0 (our customer id - 1).
    return [[int(a.idx) + 1 for a in route if a.is_client()] for route in result.best.routes()]


def bar_chart(path: Path, groups: list[str], values: dict[str, list[float]], ylabel: str, title: str) -> None:
    """Grouped bars saved as a PNG: one group per entry of ``groups``, one bar per series of ``values``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / len(values)
    for k, (label, heights) in enumerate(values.items()):
        ax.bar([p + k * width for p in range(len(groups))], heights, width, label=label)
    ax.set_xticks([p + width * (len(values) - 1) / 2 for p in range(len(groups))], groups)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
