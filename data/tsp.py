"""The travelling-salesman problem in the data layer: instance, generator, Kool's test data, file pieces.

Node 0 is the start city of the tour; every node is a city to visit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .generate import KOOL_TEST_SEED, NumpySampler, Sampler, check_size, points
from .instances import MatrixInstance, check_coords, euclidean_matrix, freeze_graph, stacked_coords


@dataclass(frozen=True, eq=False)
class TSPInstance(MatrixInstance):
    """A travelling-salesman instance: visit every node once and return.

    ``distance[i, j]`` is the cost of going from ``i`` to ``j`` and may differ
    from ``distance[j, i]`` (ATSP). ``path`` is where it was read from, if anywhere.
    """

    distance: np.ndarray
    coords: np.ndarray | None = None
    name: str = "tsp"
    path: str | None = None
    problem: str = field(default="tsp", init=False)
    max_routes: ClassVar[int | None] = 1  # a tour is one route

    def __post_init__(self) -> None:
        freeze_graph(self)

    def kernel_arrays(self) -> tuple[np.ndarray, np.ndarray, int]:
        """``(distance, demand, capacity)`` for the kernels: zero demands, so capacity never binds."""
        return self.distance, np.zeros(self.num_nodes, dtype=np.int64), 0

    @classmethod
    def from_coords(cls, coords: np.ndarray, name: str = "tsp") -> "TSPInstance":
        """An instance whose matrix is the unrounded Euclidean distance between ``coords``."""
        xy = check_coords(coords, len(coords), None)
        assert xy is not None  # given, so checked
        return cls(distance=euclidean_matrix(xy), coords=xy, name=name)

    @property
    def size(self) -> int:
        """The size the problem is named by: cities."""
        return self.num_nodes

    @property
    def min_routes(self) -> int:
        """A tour is one route."""
        return 1



def features(sampler: Sampler, count: int, size: int, **options: Any) -> dict[str, Any]:
    """What a TSP adds to its points: nothing."""
    return {}


def draw(sampler: Sampler, count: int, size: int, distribution: str = "uniform", **options: Any) -> dict[str, Any]:
    """``count`` random instances of ``size`` cities as arrays: ``coords [count, size, 2]``."""
    return {"coords": points(sampler, count, size, distribution)}


def kool_arrays(size: int, count: int = 10_000, seed: int = KOOL_TEST_SEED) -> dict[str, np.ndarray]:
    """The exact points of Kool et al.'s TSP data of ``size`` cities: ``coords [count, size, 2]``."""
    state = np.random.RandomState(seed)  # the legacy generator is what generate_data.py seeded
    return {"coords": state.uniform(size=(count, size, 2))}


def instance_from(distance: np.ndarray, coords: np.ndarray | None, extra: dict[str, Any], name: str) -> TSPInstance:
    """One instance from a matrix, its coordinates and row ``extra`` of :func:`features`."""
    return TSPInstance(distance, coords=coords, name=name)


def instances(arrays: dict[str, np.ndarray], names: list[str]) -> list[TSPInstance]:
    """Euclidean instances from the arrays of :func:`draw` or :func:`kool_arrays`."""
    return [TSPInstance.from_coords(p, name=name) for p, name in zip(arrays["coords"], names)]


def random_tsp(num_nodes: int, batch: int | None = None, seed: int = 0,
               distribution: str = "uniform") -> TSPInstance | list[TSPInstance]:
    """Random Euclidean TSP instance(s) in the unit square; a list when ``batch`` is given."""
    check_size(num_nodes, 2, "num_nodes")
    arrays = draw(NumpySampler(np.random.default_rng(seed)), batch or 1, num_nodes, distribution)
    out = instances(arrays, [f"tsp{num_nodes}-{distribution}-{seed}-{k}" for k in range(batch or 1)])
    return out if batch is not None else out[0]


# -- TSPLIB files --------------------------------------------------------------------------------
FILE_TYPES = ("TSP", "ATSP")


def from_file(data: dict[str, Any], distance: np.ndarray, coords: np.ndarray | None, name: str,
              path: str) -> TSPInstance:
    """The instance of a parsed TSPLIB file (its matrix and coordinates already read)."""
    return TSPInstance(distance=distance, coords=coords, name=name, path=path)


def solution_text(instance: TSPInstance, solution: Any, cost: str) -> str:
    """A TSPLIB ``.tour`` of ``solution`` (ids 1-based)."""
    ids = "\n".join(str(node + 1) for node in solution.tour)
    return (f"NAME : {instance.name}.tour\nCOMMENT : length {cost} ({solution.solver})\n"
            f"TYPE : TOUR\nDIMENSION : {instance.num_nodes}\nTOUR_SECTION\n{ids}\n-1\nEOF\n")


def routes_of(sequence: list[int]) -> tuple[tuple[int, ...], ...]:
    """The routes of a decoded action sequence: the tour, rotated to start at node 0."""
    from .solution import tour_to_routes

    return tour_to_routes(sequence)


def arrays_of(instances: list[TSPInstance]) -> dict[str, Any]:
    """The arrays of :func:`draw`'s layout for stacked instances (``coords`` None unless all have them)."""
    return {"coords": stacked_coords(instances)}
