"""Pictures of solutions: routes over the street map of a real city (or over the plane for other instances)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nco.data import Instance, NcoError, Solution, problem_of
from nco.data.atomic import atomic_path, check_destination


def picture_format(path: str | os.PathLike, label: str = "--plot") -> str:
    """The picture format of ``path``'s suffix, when matplotlib writes it, else an :class:`NcoError`."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    formats = Figure().canvas.get_supported_filetypes()
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in formats:
        raise NcoError(f"{label} {path}: expected a picture file ending in one of "
                       f"{', '.join('.' + f for f in sorted(formats))}")
    return suffix


def check_plot_destination(path: str | os.PathLike, label: str = "--plot") -> Path:
    """Check before any solving that ``path`` can take a picture: a format matplotlib writes (by its
    suffix) and a writable file (see :func:`nco.data.atomic.check_destination`)."""
    picture_format(path, label)
    return check_destination(path, label)


def plot_routes(instance: Instance, solutions: Solution | Sequence[Solution], path: str | Path,
                roads: np.ndarray | None = None, title: str | None = None) -> Path:
    """Draw each solution's routes (one colour each, depot as a square) to a PNG at ``path``, one panel per
    solution side by side; return the path.

    ``roads`` (``[m, 4]`` street pieces, as a city file holds them) become a
    grey street map underneath. Legs are drawn straight from stop to stop:
    the costs come from the road matrix, the picture only says who follows whom.
    ``title`` replaces the title of a single panel.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if instance.coords is None:
        raise NcoError(f"{instance.name}: no coordinates to draw (a matrix-only instance)")
    panels = [solutions] if isinstance(solutions, Solution) else list(solutions)
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 5.5), squeeze=False)
    best = min(s.cost for s in panels)
    for ax, solution in zip(axes[0], panels):
        _draw(ax, instance, solution, roads)
        note = "" if len(panels) == 1 or solution.cost > best else " (best)"
        ax.set_title(title if title and len(panels) == 1 else
                     f"{instance.name}: {solution.solver}{note}\ncost {solution.cost:.6g}, "
                     f"{solution.num_routes} route(s), {solution.runtime:.1f} s")
    if roads is not None:
        fig.text(0.99, 0.01, "© OpenStreetMap contributors", ha="right", fontsize=7, color="0.4")
    fig.tight_layout()
    with atomic_path(path, "plot") as tmp:  # which checks the destination
        fig.savefig(tmp, dpi=110, format=picture_format(path, "plot"))
    plt.close(fig)
    return Path(path)


def _draw(ax: Any, instance: Instance, solution: Solution, roads: np.ndarray | None) -> None:
    """One solution's routes on ``ax``, over the streets when given."""
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    assert instance.coords is not None  # plot_routes checked
    xy = np.asarray(instance.coords, dtype=float)
    if roads is not None and len(roads):
        ax.add_collection(LineCollection(list(roads.reshape(-1, 2, 2)), colors="0.8", linewidths=0.5, zorder=1))
    colours = plt.get_cmap("tab20")
    for k, route in enumerate(solution.routes):
        if solution.vehicles:  # a fleet's vehicles differ: one colour per vehicle, over all its trips
            k = solution.vehicles[k]
        stops = [0, *route, 0]  # a TSP tour is (0, *routes[0]) too
        pts = xy[stops]
        ax.plot(pts[:, 0], pts[:, 1], "-o", color=colours(k % 20), markersize=3, linewidth=1.2, zorder=2)
    if problem_of(instance).depot:
        ax.plot(*xy[0], "s", color="black", markersize=9, zorder=3, label="depot")
        ax.legend(loc="upper right")
    pad = 0.05 * max(np.ptp(xy[:, 0]), np.ptp(xy[:, 1]), 1e-9)
    ax.set_xlim(xy[:, 0].min() - pad, xy[:, 0].max() + pad)
    ax.set_ylim(xy[:, 1].min() - pad, xy[:, 1].max() + pad)
    if roads is not None:
        ax.set_aspect(1 / np.cos(np.radians(xy[:, 1].mean())))  # lon/lat drawn to scale
        ax.set_xlabel("longitude")
        ax.set_ylabel("latitude")
