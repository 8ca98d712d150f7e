"""What every problem's instance shares: a checked, frozen (possibly asymmetric) distance matrix.

Each problem's instance class lives in its own module (``nco.data.tsp``,
``nco.data.cvrp``, ...) and satisfies :class:`Instance`. Distances always come
from ``distance``; ``coords`` are optional and only used to draw plots or to
build the matrix in :func:`euclidean_matrix`.
"""

from __future__ import annotations

import functools
import os
from typing import Any, ClassVar, Protocol, Sequence, runtime_checkable

import numpy as np

from .errors import InstanceError


def euclidean_matrix(coords: np.ndarray) -> np.ndarray:
    """Pairwise Euclidean distances (float64, unrounded) between ``coords`` rows.

    SciPy's ``cdist`` writes the matrix alone (the same values, bit for bit, as broadcasting the
    differences, which first makes an ``[n, n, 2]`` array: 1.6 GB more at n = 10,000)."""
    from scipy.spatial.distance import cdist

    coords = np.asarray(coords, dtype=np.float64)
    return cdist(coords, coords)


# The largest integer quantity (a demand, a capacity, a route's total load) the kernels add up exactly:
# float64 holds every integer up to 2**53, and int64 sums of such numbers cannot wrap around.
EXACT_LIMIT = 2**53


def real_array(values: Any, field: str, path: str | None, what: str = "numbers") -> np.ndarray:
    """``values`` as a float64 array, refusing what would convert silently wrong: complex numbers (NumPy
    drops the imaginary part) and text or objects that are not numbers."""
    raw = np.asarray(values)
    if raw.dtype.kind == "c" or (raw.dtype.kind == "O" and any(isinstance(v, complex) for v in raw.flat)):
        raise InstanceError(f"expected real {what}, got complex ones", field=field, path=path)
    try:
        return raw.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise InstanceError(f"expected {what} ({exc})", field=field, path=path) from None


def exact_integers(values: Any, field: str, path: str | None) -> np.ndarray:
    """Non-negative integer quantities (demands, ...) as int64, each and their total at most
    :data:`EXACT_LIMIT`, so that no load the kernels sum can overflow or round."""
    as_float = real_array(values, field, path, "integers")
    if not np.isfinite(as_float).all() or (as_float != np.round(as_float)).any():
        raise InstanceError("expected integers", field=field, path=path)
    if (as_float < 0).any():
        raise InstanceError(f"expected non-negative integers, got {as_float.min():g}", field=field, path=path)
    if as_float.size and (as_float.max() > EXACT_LIMIT or float(as_float.sum()) > EXACT_LIMIT):
        raise InstanceError(f"expected integers whose total is at most 2**53 (the largest load the kernels add "
                            f"up exactly), got a total of {float(as_float.sum()):.3g}", field=field, path=path)
    return as_float.astype(np.int64)


def check_fits(num_nodes: int, label: str, copies: int = 4) -> None:
    """Refuse, naming ``label``, an instance of ``num_nodes`` whose distance matrix (float64, about ``copies``
    times over while it is generated, checked and solved) would not fit in the memory free now."""
    need = copies * 8 * num_nodes**2
    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not a system that says
        return
    if need > free:
        raise InstanceError(f"{num_nodes} nodes need about {need / 2**30:.1f} GiB for their distance matrix, "
                            f"more than the {free / 2**30:.1f} GiB free", field=label)


def frozen(array: np.ndarray) -> np.ndarray:
    """A read-only copy of ``array``."""
    array = np.array(array, copy=True)
    array.setflags(write=False)
    return array


def _check_matrix(distance: np.ndarray, path: str | None) -> np.ndarray:
    matrix = real_array(distance, "distance", path, "a numeric matrix")
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise InstanceError(f"expected a square matrix, got shape {matrix.shape}", field="distance", path=path)
    if matrix.shape[0] < 2:
        raise InstanceError(f"expected at least 2 nodes, got {matrix.shape[0]} (empty instance)", field="distance",
                            path=path)
    bad = ~np.isfinite(matrix)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InstanceError(f"expected finite distances, got {matrix[i, j]} at [{i}, {j}]", field="distance", path=path)
    if (matrix < 0).any():
        i, j = np.argwhere(matrix < 0)[0]
        raise InstanceError(f"expected non-negative distances, got {matrix[i, j]} at [{i}, {j}]", field="distance",
                            path=path)
    return matrix


def check_coords(coords: np.ndarray | None, n: int, path: str | None) -> np.ndarray | None:
    """``coords`` as finite float64 ``[n, 2]``, or an :class:`InstanceError` naming the field."""
    if coords is None:
        return None
    coords = real_array(coords, "coords", path, "numeric coordinates")
    if coords.shape != (n, 2):
        raise InstanceError(f"expected shape ({n}, 2), got {coords.shape}", field="coords", path=path)
    if not np.isfinite(coords).all():
        raise InstanceError("expected finite coordinates", field="coords", path=path)
    return coords


def stacked_coords(instances: Sequence[Any]) -> np.ndarray | None:
    """``[B, N, 2]`` coordinates of instances of one size, or None unless every one has them."""
    coords = [i.coords for i in instances]
    return None if any(c is None for c in coords) else np.stack(coords)


def freeze_graph(instance: Any) -> int:
    """Check and freeze ``distance`` and ``coords`` of a frozen dataclass instance; return the node count."""
    matrix = _check_matrix(instance.distance, instance.path)
    object.__setattr__(instance, "distance", frozen(matrix))
    coords = check_coords(instance.coords, matrix.shape[0], instance.path)
    object.__setattr__(instance, "coords", None if coords is None else frozen(coords))
    return matrix.shape[0]




def depot_demands(values: Any, n: int, path: str | None) -> np.ndarray:
    """``n`` demands, the depot's first and 0, as :func:`exact_integers`; an :class:`InstanceError` naming
    ``demand`` otherwise."""
    shape = np.shape(values)
    if shape != (n,):
        raise InstanceError(f"expected {n} demands (depot first), got shape {shape}", field="demand", path=path)
    demand = exact_integers(values, "demand", path)
    if demand[0] != 0:
        raise InstanceError(f"expected depot demand 0, got {demand[0]}", field="demand", path=path)
    return demand


def file_demands(data: dict[str, Any], n: int, path: str) -> np.ndarray:
    """A parsed VRPLIB file's ``DEMAND_SECTION`` (one number per node, as read) after checking that its
    ``DEPOT_SECTION`` names the single depot node 1; an :class:`InstanceError` naming the section otherwise."""
    if "demand" not in data:
        raise InstanceError("missing section", field="DEMAND_SECTION", path=path)
    try:
        demand = np.asarray(data["demand"], dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InstanceError("expected one number per node", field="DEMAND_SECTION", path=path) from None
    if demand.size != n:
        raise InstanceError(f"DIMENSION is {n} but the section has {demand.size} demands", field="DEMAND_SECTION",
                            path=path)
    depot = np.asarray(data.get("depot", [0])).reshape(-1)
    if depot.size != 1 or int(depot[0]) != 0:
        raise InstanceError(f"expected a single depot at node 1, got {(depot + 1).tolist()}", field="DEPOT_SECTION",
                            path=path)
    return demand


class MatrixInstance:
    """What every instance's frozen matrix tells, mixed into the problems' instance dataclasses: the number
    of nodes and whether the matrix is symmetric (computed once: 60 ms at n = 3000)."""

    distance: np.ndarray

    @property
    def num_nodes(self) -> int:
        """Number of nodes, node 0 (the depot or first city) included."""
        return int(self.distance.shape[0])

    @functools.cached_property
    def symmetric(self) -> bool:
        """True when ``distance`` equals its transpose."""
        return bool(np.array_equal(self.distance, self.distance.T))


class DepotInstance(MatrixInstance):
    """A :class:`MatrixInstance` whose node 0 is a depot and whose size is its customers."""

    @property
    def num_customers(self) -> int:
        """Number of customers (nodes 1..n)."""
        return self.num_nodes - 1

    @property
    def size(self) -> int:
        """The size the problem is named by: customers."""
        return self.num_customers


@runtime_checkable
class Instance(Protocol):
    """What every problem's instance provides (see ``nco.data.problems`` for the problems).

    ``problem`` names its registry entry; ``size`` is the number the problem
    is named by (cities, customers); ``max_routes`` is None when any number
    of routes may be used and ``min_routes`` a lower bound on them; ``kernel_arrays`` gives ``(distance, demand,
    capacity)`` for the kernels, which check and cost every solution.
    """

    distance: np.ndarray
    coords: np.ndarray | None
    name: str
    path: str | None
    problem: str
    max_routes: ClassVar[int | None]

    @property
    def num_nodes(self) -> int: ...

    @property
    def size(self) -> int: ...

    @property
    def min_routes(self) -> int: ...

    @property
    def symmetric(self) -> bool: ...

    def kernel_arrays(self) -> tuple[np.ndarray, np.ndarray, int]: ...


@runtime_checkable
class FleetInstance(Protocol):
    """An instance whose vehicles differ (``nco.data.pvrp``): per vehicle a capacity, speed and costs, per
    vehicle and customer a preference and whether it may serve it; :meth:`cost_of` checks trips and their
    vehicles and returns every objective term (its ``objective`` is the value solvers minimise)."""

    @property
    def distance(self) -> np.ndarray: ...

    @property
    def demand(self) -> np.ndarray: ...

    @property
    def capacity(self) -> np.ndarray: ...

    @property
    def speed(self) -> np.ndarray: ...

    @property
    def fixed_cost(self) -> np.ndarray: ...

    @property
    def unit_cost(self) -> np.ndarray: ...

    @property
    def preference(self) -> np.ndarray: ...

    @property
    def allowed(self) -> np.ndarray: ...

    @property
    def multi_trip(self) -> bool: ...

    @property
    def objective(self) -> str: ...

    @property
    def time_weight(self) -> float: ...

    @property
    def preference_weight(self) -> float: ...

    @property
    def name(self) -> str: ...

    @property
    def problem(self) -> str: ...

    @property
    def num_nodes(self) -> int: ...

    @property
    def num_vehicles(self) -> int: ...

    def node_mask(self) -> np.ndarray: ...

    def cost_of(self, routes: Sequence[Sequence[int]], vehicles: Sequence[int]) -> Any: ...
