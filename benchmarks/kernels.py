"""Throughput of batch tour evaluation: Numba against vectorised NumPy and pure Python.

    python benchmarks/kernels.py                  # 100,000 TSP100 tours
    python benchmarks/kernels.py --tours 20000 --nodes 50

Each tour has its own coordinates (the neural case, ``[B, n, 2]``), and a
second case scores tours on one shared distance matrix. All three
implementations run in the same process, one after the other, and the
speed-ups are ratios of rates measured in this one run; pure Python is timed
on a slice of the batch (it would take minutes on all of it) and reported as a
rate. Writes ``benchmarks/results/kernels.md`` and ``kernels.csv``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, append_row, machine, markdown_table  # noqa: E402

from nco.kernels import batch_tour_cost, batch_tour_length  # noqa: E402


def numpy_lengths(coords: np.ndarray, tours: np.ndarray) -> np.ndarray:
    """Vectorised NumPy: gather the points in tour order and sum the closing-edge norms."""
    ordered = np.take_along_axis(coords, tours[..., None], axis=1)
    return np.linalg.norm(ordered - np.roll(ordered, -1, axis=1), axis=-1).sum(1)


def python_lengths(coords: np.ndarray, tours: np.ndarray) -> list[float]:
    """Pure Python loops over nested lists."""
    out = []
    for pts, tour in zip(coords.tolist(), tours.tolist()):
        total = 0.0
        for a, b in zip(tour, tour[1:] + tour[:1]):
            dx = pts[a][0] - pts[b][0]
            dy = pts[a][1] - pts[b][1]
            total += (dx * dx + dy * dy) ** 0.5
        out.append(total)
    return out


def numpy_matrix(dist: np.ndarray, tours: np.ndarray) -> np.ndarray:
    """Vectorised NumPy on one matrix."""
    return dist[tours, np.roll(tours, -1, axis=1)].sum(1)


def python_matrix(dist: np.ndarray, tours: np.ndarray) -> list[float]:
    """Pure Python on one matrix (as nested lists)."""
    d = dist.tolist()
    return [sum(d[a][b] for a, b in zip(t, t[1:] + t[:1])) for t in tours.tolist()]


def rate(fn, *args, repeat: int = 3) -> tuple[float, object]:
    """Best-of-``repeat`` seconds of ``fn(*args)`` and its result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tours", type=int, default=100_000)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--python-tours", type=int, default=2_000, help="slice timed for pure Python")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    coords = rng.uniform(size=(args.tours, args.nodes, 2))
    tours = np.argsort(rng.uniform(size=(args.tours, args.nodes)), axis=1)
    dist = np.sqrt(((coords[0][:, None] - coords[0][None]) ** 2).sum(-1))
    batch_tour_length(coords[:2], tours[:2])  # compile (or load from cache) before timing
    batch_tour_cost(dist, tours[:2])
    k = min(args.python_tours, args.tours)

    cases = []
    for case, fns, data in (
        ("per-instance coordinates", (batch_tour_length, numpy_lengths, python_lengths), coords),
        ("one distance matrix", (batch_tour_cost, numpy_matrix, python_matrix), dist),
    ):
        t_numba, r_numba = rate(fns[0], data, tours)
        t_numpy, r_numpy = rate(fns[1], data, tours)
        sliced = data[:k] if data.ndim == 3 else data
        t_py, r_py = rate(fns[2], sliced, tours[:k], repeat=1)
        assert np.allclose(r_numba, r_numpy) and np.allclose(r_numba[:k], r_py)  # same answers
        for name, seconds, count in (("numba (parallel)", t_numba, args.tours), ("numpy", t_numpy, args.tours),
                                     ("pure python", t_py, k)):
            cases.append((case, name, count, seconds, count / seconds, count * args.nodes / seconds))

    rows = []
    for case in dict.fromkeys(c[0] for c in cases):
        sel = [c for c in cases if c[0] == case]
        numpy_rate = next(c[4] for c in sel if c[1] == "numpy")
        for _, name, count, seconds, tps, nps in sel:
            rows.append([case, name, count, f"{seconds:.4f}", f"{tps / 1e6:.3f}", f"{nps / 1e6:.1f}",
                         f"{tps / numpy_rate:.2f}"])
    header = ["case", "implementation", "tours timed", "seconds", "M tours/s", "M tour-nodes/s", "x numpy"]
    table = markdown_table(header, rows)
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / "kernels.csv"
    csv_path.unlink(missing_ok=True)
    for row in rows:
        append_row(csv_path, dict(zip(header, row)))
    command = "python benchmarks/kernels.py " + " ".join(argv if argv is not None else sys.argv[1:])
    (args.out / "kernels.md").write_text(
        f"# Batch tour evaluation, TSP{args.nodes}\n\nMachine: {machine()}.\nCommand: `{command.strip()}`\n\n{table}\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
