"""The capacitated VRP in the data layer: instance, generator, Kool's test data, file pieces.

Node 0 is the depot; customers 1..n have integer demands; any number of
identical vehicles of integer capacity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

import numpy as np

from .errors import InstanceError
from .generate import KOOL_TEST_SEED, NumpySampler, Sampler, check_size, points
from .instances import (EXACT_LIMIT, DepotInstance, check_coords, depot_demands, euclidean_matrix, file_demands,
                        freeze_graph, frozen, stacked_coords)

# Vehicle capacity by number of customers: Kool et al. (2019) for 10-100, and
# the values of later papers (as collected by RL4CO) for larger sizes.
CVRP_CAPACITY = {10: 20, 15: 25, 20: 30, 30: 33, 40: 37, 50: 40, 60: 43, 75: 45, 100: 50,
                 125: 55, 150: 60, 200: 70, 500: 100, 1000: 150}


def capacity_for(num_customers: int) -> int:
    """The conventional capacity for a CVRP of ``num_customers`` (see :data:`CVRP_CAPACITY`).

    Sizes between the published ones get the linear interpolation, rounded;
    sizes outside the table get the nearest end's value.
    """
    check_size(num_customers, 1, "num_customers")
    if num_customers in CVRP_CAPACITY:
        return CVRP_CAPACITY[num_customers]
    sizes = sorted(CVRP_CAPACITY)
    return int(round(float(np.interp(num_customers, sizes, [CVRP_CAPACITY[k] for k in sizes]))))


@dataclass(frozen=True, eq=False)
class CVRPInstance(DepotInstance):
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
        n = freeze_graph(self)
        object.__setattr__(self, "demand", frozen(depot_demands(self.demand, n, self.path)))
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

    def _checked_capacity(self) -> int:
        cap = self.capacity
        if isinstance(cap, (bool, np.bool_)) or not isinstance(cap, (int, float, np.integer, np.floating)):
            raise InstanceError(f"expected a positive integer, got {cap!r}", field="capacity", path=self.path)
        if not isinstance(cap, (int, np.integer)) and (not np.isfinite(cap) or cap != int(cap)):
            raise InstanceError(f"expected a positive integer, got {cap!r}", field="capacity", path=self.path)
        if int(cap) <= 0:
            raise InstanceError(f"expected a positive integer, got {cap!r}", field="capacity", path=self.path)
        if int(cap) > EXACT_LIMIT:
            raise InstanceError(f"expected a capacity of at most 2**53 (the largest load the kernels add up "
                                f"exactly), got {cap!r}", field="capacity", path=self.path)
        return int(cap)

    @classmethod
    def from_coords(cls, coords: np.ndarray, demand: np.ndarray, capacity: int, name: str = "cvrp") -> "CVRPInstance":
        """An instance whose matrix is the unrounded Euclidean distance; ``coords[0]`` is the depot."""
        xy = check_coords(coords, len(coords), None)
        assert xy is not None  # given, so checked
        return cls(distance=euclidean_matrix(xy), demand=demand, capacity=capacity, coords=xy, name=name)

    @property
    def min_routes(self) -> int:
        """Lower bound on the number of routes: total demand over capacity, rounded up."""
        return max(1, -(-int(self.demand.sum()) // self.capacity))



def features(sampler: Sampler, count: int, size: int, capacity: int | None = None, **options: Any) -> dict[str, Any]:
    """Kool et al.'s demands, 1..9 for each of ``size`` customers (``demand [count, size]``, depot left
    out), and the capacity (the convention for the size unless given)."""
    return {"demand": sampler.integers(1, 10, (count, size)),
            "capacity": capacity_for(size) if capacity is None else capacity}


def draw(sampler: Sampler, count: int, size: int, distribution: str = "uniform", capacity: int | None = None,
         **options: Any) -> dict[str, Any]:
    """``count`` random instances of ``size`` customers as arrays: ``coords [count, size + 1, 2]`` (depot
    first), then :func:`features`."""
    coords = points(sampler, count, size + 1, distribution)
    return {"coords": coords, **features(sampler, count, size, capacity)}


def kool_arrays(size: int, count: int = 10_000, seed: int = KOOL_TEST_SEED) -> dict[str, Any]:
    """The exact data of Kool et al.'s CVRP test set of ``size`` customers, drawn as they drew it (depot,
    locations, demand), in :func:`draw`'s layout."""
    state = np.random.RandomState(seed)
    depot = state.uniform(size=(count, 2))
    locations = state.uniform(size=(count, size, 2))
    demand = state.randint(1, 10, size=(count, size))
    return {"coords": np.concatenate([depot[:, None], locations], 1), "demand": demand, "capacity": capacity_for(size)}


def instance_from(distance: np.ndarray, coords: np.ndarray | None, extra: dict[str, Any], name: str) -> CVRPInstance:
    """One instance from a matrix, its coordinates and row ``extra`` of :func:`features`."""
    return CVRPInstance(distance, np.concatenate([[0], extra["demand"]]), extra["capacity"], coords=coords, name=name)


def instances(arrays: dict[str, Any], names: list[str]) -> list[CVRPInstance]:
    """Euclidean instances from the arrays of :func:`draw` or :func:`kool_arrays`."""
    return [CVRPInstance.from_coords(p, np.concatenate([[0], d]), int(arrays["capacity"]), name=name)
            for p, d, name in zip(arrays["coords"], arrays["demand"], names)]


def random_cvrp(num_customers: int, batch: int | None = None, seed: int = 0, distribution: str = "uniform",
                capacity: int | None = None) -> CVRPInstance | list[CVRPInstance]:
    """Random CVRP instance(s) as in Kool et al.: depot and customers in the unit square, demands 1..9."""
    check_size(num_customers, 1, "num_customers")
    arrays = draw(NumpySampler(np.random.default_rng(seed)), batch or 1, num_customers, distribution, capacity)
    out = instances(arrays, [f"cvrp{num_customers}-{distribution}-{seed}-{k}" for k in range(batch or 1)])
    return out if batch is not None else out[0]


# -- VRPLIB files --------------------------------------------------------------------------------
FILE_TYPES = ("CVRP",)
FILE_MARKER = "capacity"  # a VRPLIB file without a TYPE line is a CVRP when it has this field


def from_file(data: dict[str, Any], distance: np.ndarray, coords: np.ndarray | None, name: str,
              path: str) -> CVRPInstance:
    """The instance of a parsed VRPLIB file (its matrix and coordinates already read)."""
    demand = file_demands(data, distance.shape[0], path)
    if "capacity" not in data:
        raise InstanceError("missing specification", field="CAPACITY", path=path)
    capacity = data["capacity"]
    if not isinstance(capacity, (int, float)):
        raise InstanceError(f"expected a positive integer, got {capacity!r}", field="CAPACITY", path=path)
    # a float is passed on as read: the instance checks that it is a positive integer and names the field
    return CVRPInstance(distance=distance, demand=demand, capacity=cast(int, capacity), coords=coords, name=name,
                        path=path)


def solution_text(instance: CVRPInstance, solution: Any, cost: str) -> str:
    """A VRPLIB ``.sol`` of ``solution``: one ``Route #k:`` line per route, then the cost."""
    lines = [f"Route #{k}: " + " ".join(map(str, route)) for k, route in enumerate(solution.routes, 1)]
    return "\n".join(lines) + f"\nCost {cost}\n"


def routes_of(sequence: list[int]) -> tuple[tuple[int, ...], ...]:
    """The routes of a decoded action sequence: split at the depot visits."""
    from .solution import from_sequence

    return from_sequence(sequence)


def arrays_of(instances: list[CVRPInstance]) -> dict[str, Any]:
    """The arrays of :func:`draw`'s layout for stacked instances, one capacity each (``coords`` None
    unless all have them)."""
    return {"coords": stacked_coords(instances),
            "demand": np.stack([i.demand[1:] for i in instances]),
            "capacity": np.array([i.capacity for i in instances])}
