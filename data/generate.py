"""Seeded random instances: uniform (Kool et al. 2019) and clustered, plus the exact Kool test sets."""

from __future__ import annotations

import numpy as np

from .errors import InstanceError
from .instances import CVRPInstance, TSPInstance

# Vehicle capacity by number of customers: Kool et al. (2019) for 10-100, and
# the values of later papers (as collected by RL4CO) for larger sizes.
CVRP_CAPACITY = {10: 20, 15: 25, 20: 30, 30: 33, 40: 37, 50: 40, 60: 43, 75: 45, 100: 50,
                 125: 55, 150: 60, 200: 70, 500: 100, 1000: 150}

KOOL_TEST_SEED = 1234
KOOL_VALIDATION_SEED = 4321


def capacity_for(num_customers: int) -> int:
    """The conventional capacity for a CVRP of ``num_customers`` (see :data:`CVRP_CAPACITY`).

    Sizes between the published ones get the linear interpolation, rounded;
    sizes outside the table get the nearest end's value.
    """
    if num_customers < 1:
        raise InstanceError(f"expected at least 1 customer, got {num_customers}", field="num_customers")
    if num_customers in CVRP_CAPACITY:
        return CVRP_CAPACITY[num_customers]
    sizes = sorted(CVRP_CAPACITY)
    return int(round(float(np.interp(num_customers, sizes, [CVRP_CAPACITY[k] for k in sizes]))))


def _points(rng: np.random.Generator, batch: int, n: int, distribution: str) -> np.ndarray:
    if distribution == "uniform":
        return rng.uniform(size=(batch, n, 2))
    if distribution == "clustered":
        # Gaussian clusters around 3-7 centres, kept inside the unit square by
        # redrawing (not clipping), so no points pile up on the border.
        out = np.empty((batch, n, 2))
        for b in range(batch):
            centres = rng.uniform(0.1, 0.9, size=(int(rng.integers(3, 8)), 2))
            pts = centres[rng.integers(0, len(centres), n)] + rng.normal(0, 0.05, size=(n, 2))
            bad = ((pts < 0) | (pts > 1)).any(1)
            while bad.any():
                pts[bad] = centres[rng.integers(0, len(centres), bad.sum())] + rng.normal(0, 0.05, size=(bad.sum(), 2))
                bad = ((pts < 0) | (pts > 1)).any(1)
            out[b] = pts
        return out
    raise InstanceError(f"unknown distribution {distribution!r}; expected 'uniform' or 'clustered'", field="distribution")


def random_tsp(num_nodes: int, batch: int | None = None, seed: int = 0,
               distribution: str = "uniform") -> TSPInstance | list[TSPInstance]:
    """Random Euclidean TSP instance(s) in the unit square; a list when ``batch`` is given."""
    if num_nodes < 2:
        raise InstanceError(f"expected at least 2 nodes, got {num_nodes}", field="num_nodes")
    rng = np.random.default_rng(seed)
    pts = _points(rng, batch or 1, num_nodes, distribution)
    out = [TSPInstance.from_coords(p, name=f"tsp{num_nodes}-{distribution}-{seed}-{k}") for k, p in enumerate(pts)]
    return out if batch is not None else out[0]


def random_cvrp(num_customers: int, batch: int | None = None, seed: int = 0, distribution: str = "uniform",
                capacity: int | None = None) -> CVRPInstance | list[CVRPInstance]:
    """Random CVRP instance(s) as in Kool et al.: depot and customers in the unit square, demands 1..9."""
    if num_customers < 1:
        raise InstanceError(f"expected at least 1 customer, got {num_customers}", field="num_customers")
    capacity = capacity_for(num_customers) if capacity is None else capacity
    rng = np.random.default_rng(seed)
    pts = _points(rng, batch or 1, num_customers + 1, distribution)
    demand = rng.integers(1, 10, size=(batch or 1, num_customers))
    out = [CVRPInstance.from_coords(p, np.concatenate([[0], d]), capacity,
                                    name=f"cvrp{num_customers}-{distribution}-{seed}-{k}")
           for k, (p, d) in enumerate(zip(pts, demand))]
    return out if batch is not None else out[0]


def kool_tsp_arrays(num_nodes: int, size: int = 10_000, seed: int = KOOL_TEST_SEED) -> np.ndarray:
    """The exact points of Kool et al.'s TSP test set: ``[size, num_nodes, 2]``."""
    state = np.random.RandomState(seed)  # the legacy generator is what generate_data.py seeded
    return state.uniform(size=(size, num_nodes, 2))


def kool_cvrp_arrays(num_customers: int, size: int = 10_000, seed: int = KOOL_TEST_SEED) -> dict[str, np.ndarray]:
    """The exact data of Kool et al.'s CVRP test set: depot, locations, demand, capacity (drawn in that order)."""
    capacity = capacity_for(num_customers)
    state = np.random.RandomState(seed)
    depot = state.uniform(size=(size, 2))
    locations = state.uniform(size=(size, num_customers, 2))
    demand = state.randint(1, 10, size=(size, num_customers))
    return {"depot": depot, "locations": locations, "demand": demand, "capacity": np.full(size, capacity)}


def kool_test_set(problem: str, size_nodes: int, count: int = 10_000) -> list[TSPInstance] | list[CVRPInstance]:
    """The first ``count`` instances of Kool's test set for ``tsp`` (n nodes) or ``cvrp`` (n customers)."""
    if problem == "tsp":
        pts = kool_tsp_arrays(size_nodes)[:count]
        return [TSPInstance.from_coords(p, name=f"kool-tsp{size_nodes}-{k}") for k, p in enumerate(pts)]
    if problem == "cvrp":
        data = kool_cvrp_arrays(size_nodes)
        out = []
        for k in range(count):
            coords = np.concatenate([data["depot"][k][None], data["locations"][k]])
            demand = np.concatenate([[0], data["demand"][k]])
            out.append(CVRPInstance.from_coords(coords, demand, int(data["capacity"][k]), name=f"kool-cvrp{size_nodes}-{k}"))
        return out
    raise InstanceError(f"unknown problem {problem!r}; expected 'tsp' or 'cvrp'", field="problem")
