"""Pictures of solutions: routes over the street map of a real city (or over the plane for other instances)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nco.data import Instance, NcoError, Solution, problem_of


def plot_routes(instance: Instance, solution: Solution, path: str | Path, roads: np.ndarray | None = None,
                title: str | None = None) -> Path:
    """Draw ``solution``'s routes (one colour each, depot as a square) to a PNG at ``path``; return the path.

    ``roads`` (``[m, 4]`` street pieces, as a city file holds them) become a
    grey street map underneath. Legs are drawn straight from stop to stop:
    the costs come from the road matrix, the picture only says who follows whom.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    if instance.coords is None:
        raise NcoError(f"{instance.name}: no coordinates to draw (a matrix-only instance)")
    xy = np.asarray(instance.coords, dtype=float)
    fig, ax = plt.subplots(figsize=(8, 8))
    if roads is not None and len(roads):
        ax.add_collection(LineCollection(list(roads.reshape(-1, 2, 2)), colors="0.8", linewidths=0.5, zorder=1))
    colours = plt.get_cmap("tab20")
    for k, route in enumerate(solution.routes):
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
        fig.text(0.99, 0.01, "© OpenStreetMap contributors", ha="right", fontsize=7, color="0.4")
    ax.set_title(title or f"{instance.name}: {solution.solver}, cost {solution.cost:.6g}, "
                          f"{solution.num_routes} route(s)")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
