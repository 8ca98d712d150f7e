"""Immutable problem instances: TSP and CVRP over a (possibly asymmetric) distance matrix.

Node 0 is the depot of a CVRP instance and the start city of a TSP tour.
Distances always come from ``distance``; ``coords`` are optional and only used
to draw plots or to build the matrix in :func:`euclidean_matrix`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Union

import numpy as np

from .errors import InstanceError


def euclidean_matrix(coords: np.ndarray) -> np.ndarray:
    """Pairwise Euclidean distances (float64, unrounded) between ``coords`` rows."""
    coords = np.asarray(coords, dtype=np.float64)
    diff = coords[:, None, :] - coords[None, :, :]
    return np.sqrt((diff**2).sum(-1))


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, copy=True)
    array.setflags(write=False)
    return array


def _check_matrix(distance: np.ndarray, path: str | None) -> np.ndarray:
    try:
        matrix = np.asarray(distance, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InstanceError(f"expected a numeric matrix ({exc})", field="distance", path=path) from None
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise InstanceError(f"expected a square matrix, got shape {matrix.shape}", field="distance", path=path)
    if matrix.shape[0] < 2:
        raise InstanceError(f"expected at least 2 nodes, got {matrix.shape[0]} (empty instance)", field="distance", path=path)
    bad = ~np.isfinite(matrix)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InstanceError(f"expected finite distances, got {matrix[i, j]} at [{i}, {j}]", field="distance", path=path)
    if (matrix < 0).any():
        i, j = np.argwhere(matrix < 0)[0]
        raise InstanceError(f"expected non-negative distances, got {matrix[i, j]} at [{i}, {j}]", field="distance", path=path)
    return matrix


def _check_coords(coords: np.ndarray | None, n: int, path: str | None) -> np.ndarray | None:
    if coords is None:
        return None
    try:
        coords = np.asarray(coords, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InstanceError(f"expected numeric coordinates ({exc})", field="coords", path=path) from None
    if coords.shape != (n, 2):
        raise InstanceError(f"expected shape ({n}, 2), got {coords.shape}", field="coords", path=path)
    if not np.isfinite(coords).all():
        raise InstanceError("expected finite coordinates", field="coords", path=path)
    return coords


def _freeze_graph(instance) -> int:
    """Check and freeze ``distance`` and ``coords`` of a frozen dataclass instance; return the node count."""
    matrix = _check_matrix(instance.distance, instance.path)
    object.__setattr__(instance, "distance", _frozen(matrix))
    coords = _check_coords(instance.coords, matrix.shape[0], instance.path)
    object.__setattr__(instance, "coords", None if coords is None else _frozen(coords))
    return matrix.shape[0]


@dataclass(frozen=True, eq=False)
class TSPInstance:
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
        _freeze_graph(self)

    def kernel_arrays(self) -> tuple[np.ndarray, np.ndarray, int]:
        """``(distance, demand, capacity)`` for the kernels: zero demands, so capacity never binds."""
        return self.distance, np.zeros(self.num_nodes, dtype=np.int64), 0

    @classmethod
    def from_coords(cls, coords: np.ndarray, name: str = "tsp") -> "TSPInstance":
        """An instance whose matrix is the unrounded Euclidean distance between ``coords``."""
        coords = _check_coords(coords, len(coords), None)
        return cls(distance=euclidean_matrix(coords), coords=coords, name=name)

    @property
    def num_nodes(self) -> int:
        """Number of cities, node 0 included."""
        return int(self.distance.shape[0])

    @property
    def symmetric(self) -> bool:
        """True when ``distance`` equals its transpose."""
        return bool(np.array_equal(self.distance, self.distance.T))


@dataclass(frozen=True, eq=False)
class CVRPInstance:
    """A capacitated VRP instance: depot 0, customers 1..n with integer demands.

    Any number of identical vehicles of integer ``capacity``; each route starts
    and ends at the depot. ``demand[0]`` (the depot) must be 0.
    """

    distance: np.ndarray
    demand: np.ndarray
    capacity: int
    coords: np.ndarray | None = None
    name: str = "cvrp"
    path: str | None = None
    problem: str = field(default="cvrp", init=False)
    max_routes: ClassVar[int | None] = None  # as many vehicles as it takes

    def __post_init__(self) -> None:
        n = _freeze_graph(self)
        object.__setattr__(self, "demand", _frozen(self._checked_demand(n)))
        object.__setattr__(self, "capacity", self._checked_capacity())
        over = np.flatnonzero(self.demand > self.capacity)
        if over.size:
            c = int(over[0])
            raise InstanceError(
                f"customer {c} has demand {self.demand[c]} above the vehicle capacity {self.capacity}",
                field="demand", path=self.path)

    def kernel_arrays(self) -> tuple[np.ndarray, np.ndarray, int]:
        """``(distance, demand, capacity)`` for the kernels."""
        return self.distance, self.demand, self.capacity

    def _checked_demand(self, n: int) -> np.ndarray:
        raw = np.asarray(self.demand)
        try:
            as_float = raw.astype(np.float64)
        except (TypeError, ValueError):
            raise InstanceError("expected integer demands", field="demand", path=self.path) from None
        if as_float.shape != (n,):
            raise InstanceError(f"expected {n} demands (depot first), got shape {as_float.shape}", field="demand", path=self.path)
        if not np.isfinite(as_float).all() or (as_float != np.round(as_float)).any():
            raise InstanceError("expected integer demands", field="demand", path=self.path)
        if (as_float < 0).any():
            raise InstanceError(f"expected non-negative demands, got {as_float.min()}", field="demand", path=self.path)
        if as_float[0] != 0:
            raise InstanceError(f"expected depot demand 0, got {as_float[0]}", field="demand", path=self.path)
        return as_float.astype(np.int64)

    def _checked_capacity(self) -> int:
        cap = self.capacity
        if isinstance(cap, (bool, np.bool_)) or not isinstance(cap, (int, float, np.integer, np.floating)):
            raise InstanceError(f"expected a positive integer, got {cap!r}", field="capacity", path=self.path)
        if not np.isfinite(cap) or cap != int(cap) or cap <= 0:
            raise InstanceError(f"expected a positive integer, got {cap!r}", field="capacity", path=self.path)
        return int(cap)

    @classmethod
    def from_coords(cls, coords: np.ndarray, demand: np.ndarray, capacity: int, name: str = "cvrp") -> "CVRPInstance":
        """An instance whose matrix is the unrounded Euclidean distance; ``coords[0]`` is the depot."""
        coords = _check_coords(coords, len(coords), None)
        return cls(distance=euclidean_matrix(coords), demand=demand, capacity=capacity, coords=coords, name=name)

    @property
    def num_nodes(self) -> int:
        """Number of nodes, depot included."""
        return int(self.distance.shape[0])

    @property
    def num_customers(self) -> int:
        """Number of customers (nodes 1..n)."""
        return self.num_nodes - 1

    @property
    def min_routes(self) -> int:
        """Lower bound on the number of routes: total demand over capacity, rounded up."""
        return max(1, -(-int(self.demand.sum()) // self.capacity))

    @property
    def symmetric(self) -> bool:
        """True when ``distance`` equals its transpose."""
        return bool(np.array_equal(self.distance, self.distance.T))


Instance = Union[TSPInstance, CVRPInstance]
