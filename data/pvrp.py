"""Profiled fleets (PVRP) in the data layer: vehicles that differ, and the objective terms they price.

One model covers the published variants (CAMP's PVRP; HCVRP and HFVRP are
presets of it): a depot 0 and customers 1..n with integer demands, and ``m``
vehicles, each with a capacity, a speed (travel time = distance / speed),
a fixed cost (paid when it is used) and a cost per unit of distance, a
preference for each customer and a mask of the customers it may serve. A
vehicle makes one trip, or several when the fleet reloads at the depot
(``multi_trip``). The objective is

- ``min-sum``: fixed costs of the vehicles used + unit costs x distances
  + ``time_weight`` x the vehicles' total travel time
  - ``preference_weight`` x the preferences collected;
- ``min-max``: the longest travel time of any vehicle (HCVRP's).

A solution is a list of trips and the vehicle of each
(:attr:`nco.data.Solution.vehicles`); :meth:`PVRPInstance.cost_of` checks
every constraint with :func:`nco.kernels.fleet.check_fleet` and recomputes
every term (:class:`FleetCost`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from nco.kernels.fleet import FLEET_MESSAGES, OK, check_fleet

from .errors import InstanceError, SolutionError
from .generate import NumpySampler, Sampler, check_size
from .instances import (DepotInstance, check_coords, depot_demands, euclidean_matrix, exact_integers, file_demands,
                        freeze_graph, frozen, real_array)
from .solution import Solution, from_sequence, to_sequence

OBJECTIVES = ("min-sum", "min-max")
_UNSET = np.empty(0)  # a per-vehicle field not given


@dataclass(frozen=True)
class FleetCost:
    """Every objective term of a checked solution; ``objective`` is the instance's objective value."""

    objective: float
    distance: np.ndarray  # [m] each vehicle's distance, all its trips together
    time: np.ndarray  # [m] distance / speed
    trips: np.ndarray  # [m] trips per vehicle (0: unused)
    fixed: float  # fixed costs of the vehicles used
    unit: float  # unit costs x distances
    preference: float  # preferences collected (each customer's, for the vehicle that served it)

    @property
    def longest(self) -> float:
        """The longest travel time of any vehicle (the min-max objective)."""
        return float(self.time.max()) if self.time.size else 0.0


@dataclass(frozen=True, eq=False)
class PVRPInstance(DepotInstance):
    """A profiled-fleet VRP instance (see the module docstring).

    Per vehicle (``m`` of them): ``capacity`` (positive integers), ``speed``
    (> 0, default 1), ``fixed_cost`` and ``unit_cost`` (>= 0, default 0);
    per vehicle and customer, ``[m, n]`` with n customers: ``preference``
    (default 0) and ``allowed`` (default all True). ``demand[0]`` (the depot)
    must be 0.
    """

    distance: np.ndarray
    demand: np.ndarray
    capacity: np.ndarray
    # not given (None, or the empty default): speeds 1, no costs, no preferences, every customer allowed
    speed: np.ndarray = field(default_factory=lambda: _UNSET)
    fixed_cost: np.ndarray = field(default_factory=lambda: _UNSET)
    unit_cost: np.ndarray = field(default_factory=lambda: _UNSET)
    preference: np.ndarray = field(default_factory=lambda: _UNSET)
    allowed: np.ndarray = field(default_factory=lambda: _UNSET)
    multi_trip: bool = False
    objective: str = "min-sum"
    time_weight: float = 1.0
    preference_weight: float = 0.0
    coords: np.ndarray | None = None
    name: str = "pvrp"
    path: str | None = None
    problem: str = field(default="pvrp", init=False)
    max_routes: ClassVar[int | None] = None

    def __post_init__(self) -> None:
        n = freeze_graph(self)
        demand = depot_demands(self.demand, n, self.path)
        m = _vehicle_count(self.capacity, self.path)
        set_ = functools.partial(object.__setattr__, self)
        set_("demand", frozen(demand))
        set_("capacity", frozen(_capacities(self.capacity, self.path)))
        set_("speed", frozen(_per_vehicle(self.speed, m, 1.0, "speed", self.path, positive=True)))
        set_("fixed_cost", frozen(_per_vehicle(self.fixed_cost, m, 0.0, "fixed_cost", self.path)))
        set_("unit_cost", frozen(_per_vehicle(self.unit_cost, m, 0.0, "unit_cost", self.path)))
        set_("preference", frozen(_per_customer(self.preference, m, n - 1, "preference", self.path)))
        set_("allowed", frozen(_mask(self.allowed, m, n - 1, self.path)))
        set_("multi_trip", bool(self.multi_trip))
        if self.objective not in OBJECTIVES:
            raise InstanceError(f"expected one of {', '.join(OBJECTIVES)}, got {self.objective!r}", field="objective",
                                path=self.path)
        for name in ("time_weight", "preference_weight"):
            set_(name, _weight(getattr(self, name), name, self.path))
        self._check_servable()

    # -- what the solvers and the checker read -----------------------------------------------------
    @property
    def num_vehicles(self) -> int:
        """Number of vehicles in the fleet."""
        return int(self.capacity.shape[0])

    @property
    def min_routes(self) -> int:
        """Lower bound on the number of trips: total demand over the largest capacity, rounded up."""
        return max(1, -(-int(self.demand.sum()) // int(self.capacity.max())))

    def node_mask(self) -> np.ndarray:
        """``allowed`` as ``[m, n + 1]`` over all nodes (the depot's column True), the kernels' layout."""
        return np.concatenate([np.ones((self.num_vehicles, 1), dtype=np.bool_), self.allowed], 1)

    def cost_of(self, routes: Sequence[Sequence[int]], vehicles: Sequence[int]) -> FleetCost:
        """Check ``routes`` (trips) served by ``vehicles`` (one per trip) and return every objective term,
        or a :class:`SolutionError` naming the first violation."""
        seq = to_sequence(routes)
        chosen = np.asarray(list(vehicles), dtype=np.int64)
        code, detail, distance, trips = check_fleet(self.distance, self.demand, self.capacity, self.node_mask(),
                                                    self.multi_trip, seq, chosen)
        if code != OK:
            raise SolutionError(f"{self.name}: {FLEET_MESSAGES[code].format(detail=detail)}")
        return self._terms(routes, chosen, distance, trips)

    def _terms(self, routes: Sequence[Sequence[int]], vehicles: np.ndarray, distance: np.ndarray,
               trips: np.ndarray) -> FleetCost:
        time = distance / self.speed
        fixed = float(self.fixed_cost[trips > 0].sum())
        unit = float((self.unit_cost * distance).sum())
        preference = float(sum(self.preference[v, c - 1] for route, v in zip(routes, vehicles) for c in route))
        if self.objective == "min-max":
            value = float(time.max())
        else:
            value = fixed + unit + self.time_weight * float(time.sum()) - self.preference_weight * preference
        return FleetCost(value, distance, time, trips, fixed, unit, preference)

    def _check_servable(self) -> None:
        """Every customer has a vehicle that may serve it and can carry its demand; without reloading, the
        fleet can carry the total demand."""
        demand = self.demand[1:]
        carry = np.where(self.allowed, self.capacity[:, None], 0).max(0)  # [n] the largest allowed capacity
        if not self.allowed.any(0).all():
            c = int(np.flatnonzero(~self.allowed.any(0))[0]) + 1
            raise InstanceError(f"customer {c} may be served by no vehicle", field="allowed", path=self.path)
        over = np.flatnonzero(demand > carry)
        if over.size:
            c = int(over[0]) + 1
            raise InstanceError(f"customer {c} has demand {demand[c - 1]} above the capacity of every vehicle "
                                f"allowed to serve it (at most {carry[c - 1]})", field="demand", path=self.path)
        if not self.multi_trip and int(demand.sum()) > int(self.capacity.sum()):
            raise InstanceError(f"the total demand {int(demand.sum())} is above the fleet's capacity "
                                f"{int(self.capacity.sum())}, and its vehicles make one trip each (multi_trip "
                                "is off)", field="capacity", path=self.path)

    @classmethod
    def from_coords(cls, coords: np.ndarray, demand: np.ndarray, capacity: np.ndarray, **fleet: Any) -> "PVRPInstance":
        """An instance whose matrix is the unrounded Euclidean distance; ``coords[0]`` is the depot."""
        xy = check_coords(coords, len(coords), fleet.get("path"))
        assert xy is not None  # given, so checked
        return cls(distance=euclidean_matrix(xy), demand=demand, capacity=capacity, coords=xy, **fleet)


# -- argument checks -------------------------------------------------------------------------------
def _vehicle_count(capacity: Any, path: str | None) -> int:
    shape = np.shape(capacity)
    if len(shape) != 1 or shape[0] < 1:
        raise InstanceError(f"expected one capacity per vehicle (at least one), got shape {shape}", field="capacity",
                            path=path)
    return int(shape[0])


def _capacities(values: Any, path: str | None) -> np.ndarray:
    capacity = exact_integers(values, "capacity", path)
    if (capacity <= 0).any():  # (exact_integers bounded them above)
        k = int(np.flatnonzero(capacity <= 0)[0])
        raise InstanceError(f"expected positive capacities, vehicle {k} has {capacity[k]}", field="capacity",
                            path=path)
    return capacity


def _unset(values: Any) -> bool:
    return values is None or values is _UNSET


def _per_vehicle(values: Any, m: int, default: float, name: str, path: str | None,
                 positive: bool = False) -> np.ndarray:
    if _unset(values):
        return np.full(m, default)
    array = real_array(values, name, path)
    if array.shape != (m,):
        raise InstanceError(f"expected one value per vehicle ({m}), got shape {array.shape}", field=name, path=path)
    bad = ~np.isfinite(array) | ((array <= 0) if positive else (array < 0))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        what = "> 0" if positive else ">= 0"
        raise InstanceError(f"expected finite values {what}, vehicle {k} has {array[k]}", field=name, path=path)
    return array


def _per_customer(values: Any, m: int, n: int, name: str, path: str | None) -> np.ndarray:
    if _unset(values):
        return np.zeros((m, n))
    array = real_array(values, name, path)
    if array.shape != (m, n):
        raise InstanceError(f"expected shape ({m}, {n}): vehicles x customers, got {array.shape}", field=name,
                            path=path)
    if not np.isfinite(array).all():
        raise InstanceError("expected finite values", field=name, path=path)
    return array


def _mask(values: Any, m: int, n: int, path: str | None) -> np.ndarray:
    if _unset(values):
        return np.ones((m, n), dtype=np.bool_)
    array = np.asarray(values)
    if array.shape != (m, n):
        raise InstanceError(f"expected shape ({m}, {n}): vehicles x customers, got {array.shape}", field="allowed",
                            path=path)
    if array.dtype != np.bool_ and not np.isin(array, (0, 1)).all():
        raise InstanceError("expected booleans (or 0/1)", field="allowed", path=path)
    return array.astype(np.bool_)


def _weight(value: Any, name: str, path: str | None) -> float:
    try:
        weight = float(value)
    except (TypeError, ValueError):
        raise InstanceError(f"expected a number >= 0, got {value!r}", field=name, path=path) from None
    if not np.isfinite(weight) or weight < 0:
        raise InstanceError(f"expected a number >= 0, got {value!r}", field=name, path=path)
    return weight


# -- the HCVRP preset: 2D-Ptr's generator (as PARCO and CAMP use it) ---------------------------------------
def hcvrp_arrays(num_customers: int, num_vehicles: int, count: int, seed: int) -> dict[str, np.ndarray]:
    """2D-Ptr's ``generate_hcvrp_data`` exactly: with ``np.random.RandomState(seed)``, points U(0, 1) of which
    the last is the depot, demands randint(1, 10), speeds U(0.5, 1), capacities randint(20, 41), in that
    order, stored as float32 (the layout of the staged ``.npz`` sets)."""
    state = np.random.RandomState(seed)
    loc = state.uniform(0, 1, size=(count, num_customers + 1, 2))
    demand = state.randint(1, 10, [count, num_customers + 1])[:, :-1]
    speed = state.uniform(0.5, 1, size=(count, num_vehicles))
    capacity = state.randint(20, 41, size=(count, num_vehicles))
    return {"depot": loc[:, -1].astype(np.float32), "loc": loc[:, :-1].astype(np.float32),
            "demand": demand.astype(np.float32), "capacity": capacity.astype(np.float32),
            "speed": speed.astype(np.float32)}


def hcvrp_instances(arrays: dict[str, np.ndarray], names: Sequence[str], objective: str = "min-max",
                    path: str | None = None) -> list[PVRPInstance]:
    """HCVRP instances from :func:`hcvrp_arrays`' layout: the depot first, vehicles that reload (the total
    demand is about twice the fleet's capacity), travel time = distance / speed."""
    out = []
    for k, name in enumerate(names):
        coords = np.concatenate([arrays["depot"][k][None], arrays["loc"][k]]).astype(np.float64)
        demand = np.concatenate([[0], arrays["demand"][k]]).astype(np.float64)
        out.append(PVRPInstance.from_coords(coords, demand, arrays["capacity"][k].astype(np.float64),
                                            speed=arrays["speed"][k].astype(np.float64), multi_trip=True,
                                            objective=objective, name=name, path=path))
    return out


def random_hcvrp(num_customers: int, num_vehicles: int, batch: int | None = None, seed: int = 0,
                 objective: str = "min-max") -> PVRPInstance | list[PVRPInstance]:
    """Random HCVRP instance(s) from 2D-Ptr's generator (:func:`hcvrp_arrays`); the 2D-Ptr / PARCO / CAMP
    test sets are seed 24610 with 1,280 instances (the draws depend on ``batch``, as there)."""
    arrays = hcvrp_arrays(num_customers, num_vehicles, batch or 1, seed)
    names = [f"hcvrp{num_customers}-v{num_vehicles}-{seed}-{k}" for k in range(batch or 1)]
    out = hcvrp_instances(arrays, names, objective)
    return out if batch is not None else out[0]


# -- files: HFVRP in PyVRP's VRPLIB dialect, the HCVRP .npz sets, .sol with one line per vehicle ---------------
FILE_TYPES = ("HFVRP",)
COST_SCALE = 100  # PyVRP's dialect stores Pessoa et al.'s costs x 100 (integers); read back in their units

_VEHICLE_SECTIONS = {"capacity": "CAPACITY_SECTION", "vehicles_fixed_cost": "VEHICLES_FIXED_COST_SECTION",
                     "vehicles_unit_distance_cost": "VEHICLES_UNIT_DISTANCE_COST_SECTION"}


def from_file(data: dict[str, Any], distance: np.ndarray, coords: np.ndarray | None, name: str,
              path: str) -> PVRPInstance:
    """The instance of a parsed HFVRP file (Pessoa et al. 2018 in PyVRP's dialect): one line per vehicle in
    its capacity and cost sections (a missing cost section: PyVRP's default), costs in Pessoa's units (the
    file's / :data:`COST_SCALE`), the min-sum of fixed and distance costs on unrounded Euclidean distances
    (how the best-known values are stated)."""
    if coords is None:
        raise InstanceError("expected coordinates", field="NODE_COORD_SECTION", path=path)
    n = distance.shape[0]
    vehicles = data.get("vehicles")
    if "capacity" not in data:
        raise InstanceError("missing section", field="CAPACITY_SECTION", path=path)
    sections = {}
    for key, section in _VEHICLE_SECTIONS.items():
        default = np.full(np.size(data["capacity"]), 0 if "fixed" in key else COST_SCALE)  # PyVRP's: no fixed
        values = np.asarray(data.get(key, default)).reshape(-1)  # cost, a unit cost of 1 (x COST_SCALE)
        if vehicles is not None and values.size != vehicles:
            raise InstanceError(f"VEHICLES is {vehicles} but the section has {values.size} lines", field=section,
                                path=path)
        sections[key] = values
    if len({v.size for v in sections.values()}) != 1:
        raise InstanceError("the vehicle sections disagree on the number of vehicles", field="CAPACITY_SECTION",
                            path=path)
    demand = file_demands(data, n, path)
    return PVRPInstance(distance=euclidean_matrix(coords), demand=demand, capacity=sections["capacity"],
                        fixed_cost=real_array(sections["vehicles_fixed_cost"], "VEHICLES_FIXED_COST_SECTION",
                                              path) / COST_SCALE,
                        unit_cost=real_array(sections["vehicles_unit_distance_cost"],
                                             "VEHICLES_UNIT_DISTANCE_COST_SECTION", path) / COST_SCALE,
                        time_weight=0.0, coords=coords, name=name, path=path)


def solution_text(instance: PVRPInstance, solution: Solution, cost: str) -> str:
    """PyVRP's ``.sol`` for fleets: ``Route #k`` is vehicle k (1-based, a line for every vehicle, empty when
    unused); a vehicle's later trips follow its first after a 0 (a reload at the depot)."""
    trips: list[list[list[int]]] = [[] for _ in range(instance.num_vehicles)]
    for route, vehicle in zip(solution.routes, solution.vehicles):
        trips[vehicle].append(list(route))
    lines = [f"Route #{k + 1}: " + " 0 ".join(" ".join(map(str, t)) for t in own) for k, own in enumerate(trips)]
    return "\n".join(line.rstrip() for line in lines) + f"\nCost: {cost}\n"


def read_fleet_solution(path: str) -> tuple[tuple[tuple[int, ...], ...], tuple[int, ...], float | None]:
    """A ``.sol`` of :func:`solution_text`'s format: ``(trips, vehicle of each trip, stated cost or None)``.
    Unlike a CVRP ``.sol``, the line number is the vehicle, so empty lines count."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise SolutionError(f"{path}: cannot read the file ({exc})") from None
    trips: list[tuple[int, ...]] = []
    vehicles: list[int] = []
    cost = None
    for line in text.splitlines():
        head, _, body = line.partition(":")
        if head.strip().lower().startswith("route #"):
            try:
                vehicle = int(head.strip()[len("route #"):]) - 1
                nodes = [int(t) for t in body.split()]
            except ValueError:
                raise SolutionError(f"{path}: expected 'Route #k:' and node numbers, got {line!r}") from None
            own = from_sequence(nodes)  # a 0 between a vehicle's trips
            trips += own
            vehicles += [vehicle] * len(own)
        elif head.strip().lower() == "cost":
            try:
                cost = float(body)
            except ValueError:
                raise SolutionError(f"{path}: expected a number after 'Cost:', got {body.strip()!r}") from None
    if not trips:
        raise SolutionError(f"{path}: no 'Route #k:' lines")
    return tuple(trips), tuple(vehicles), cost


def read_hcvrp_set(path: str, objective: str = "min-max") -> list[PVRPInstance]:
    """The instances of a staged HCVRP ``.npz`` set (2D-Ptr's test data: ``depot``, ``loc``, ``demand``,
    ``capacity``, ``speed``), named ``<file stem>-<k>``."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in ("depot", "loc", "demand", "capacity", "speed")}
    except KeyError as exc:
        raise InstanceError(f"missing array {exc}", field="npz", path=str(path)) from None
    except (OSError, ValueError) as exc:
        raise InstanceError(f"not a readable .npz archive ({exc})", path=str(path)) from None
    stem = Path(path).stem
    return hcvrp_instances(arrays, [f"{stem}-{k}" for k in range(len(arrays["depot"]))], objective, str(path))


# -- the PVRP-P and PVRP-ZC presets: CAMP's generators (ai4co/camp, envs/pvrp_p and envs/pvrp_zc) -----------------
PREFERENCES = ("random", "pi", "cluster")  # PVRP-P's preference patterns
ZONES = ("random", "pi")  # PVRP-ZC's zone patterns (CAMP's "cluster" zones are scores, not a mask)
CAMP_CAPACITY = 40
CAMP_TIME_WEIGHT, CAMP_PREFERENCE_WEIGHT = 0.8, 0.2  # reward = -0.8 time + 0.2 preference
MAX_ZONE_RATE = 2 / 3  # of the vehicles barred from a customer, at most


def sectors(sampler: Sampler, coords: Any, m: int) -> Any:
    """``[count, m, n]``: customer j of ``coords [count, n + 1, 2]`` (the depot first) lies in sector i of
    ``m`` equal angles around the depot, counted anticlockwise from the x axis. Tested by the sign of cross
    products with each sector's first edge and the next one's (a sector is at most half a turn; the last
    takes every customer the others do not), so NumPy and torch arrays alike."""
    rel = coords[:, 1:] - coords[:, :1]
    x, y = rel[..., 0], rel[..., 1]
    count, n = x.shape
    inside = sampler.full((count, m, n), 0.0)
    taken = x < x  # all False, of the arrays' own kind
    for k in range(m - 1):
        first, after = 2 * math.pi * k / m, 2 * math.pi * (k + 1) / m
        member = (math.cos(first) * y - math.sin(first) * x >= 0) & (math.cos(after) * y - math.sin(after) * x < 0)
        member = member & ~taken
        inside[:, k] = member * 1.0
        taken = taken | member
    inside[:, m - 1] = ~taken * 1.0
    return inside > 0.5


def _ranks(sampler: Sampler, shape: tuple[int, ...], axis: int) -> Any:
    """Independent uniform random permutations' ranks (0 .. shape[axis] - 1) along ``axis``."""
    return sampler.uniform(shape).argsort(axis).argsort(axis)


def camp_preference(sampler: Sampler, coords: Any, m: int, pattern: str) -> Any:
    """CAMP's PVRP-P preferences ``[count, m, n]``: ``random`` U(0, 1); ``pi``: 1 in the vehicle's sector of
    angles around the depot, else 0; ``cluster``: 1 - distance / sqrt 2 to the vehicle's centre, a random
    customer."""
    count, n = coords.shape[0], coords.shape[1] - 1
    if pattern == "random":
        return sampler.uniform((count, m, n))
    if pattern == "pi":
        return sectors(sampler, coords, m) * 1.0
    if pattern == "cluster":
        centres = coords[sampler.arange(count)[:, None], 1 + sampler.integers(0, n, (count, m))]  # [count, m, 2]
        gap = coords[:, None, 1:] - centres[:, :, None]
        return 1 - ((gap ** 2).sum(-1) ** 0.5) / math.sqrt(2)
    raise InstanceError(f"expected one of {', '.join(PREFERENCES)}, got {pattern!r}", field="distribution")


def camp_zones(sampler: Sampler, coords: Any, m: int, pattern: str) -> Any:
    """CAMP's PVRP-ZC zones as the allowed mask ``[count, m, n]``. ``random``: a rate r ~ U(0, 2/3), and each
    customer barred from int(r m) random vehicles; ``pi``: each vehicle barred from int(2/3 m) random sectors
    around the depot. Deviations from CAMP: r and the barred vehicles are drawn per instance (CAMP draws them
    once per batch, shared by all its instances), and a customer that ``pi`` bars from every vehicle is allowed
    to one at random (CAMP's zones are penalties, which a solution may pay; here they are hard)."""
    count, n = coords.shape[0], coords.shape[1] - 1
    if pattern == "random":
        rate = sampler.uniform((count,), 0.0, MAX_ZONE_RATE)
        return ~(_ranks(sampler, (count, m, n), 1) + 1 <= rate[:, None, None] * m)  # rank < int(r m)
    if pattern == "pi":
        barred = (_ranks(sampler, (count, m, m), 2) < int(MAX_ZONE_RATE * m)) * 1.0  # [count, vehicle, sector]
        allowed = (barred @ (sectors(sampler, coords, m) * 1.0)) < 0.5
        lone = ~allowed.any(1)  # [count, n]: barred from every vehicle
        return allowed | (lone[:, None] & (_ranks(sampler, (count, m, n), 1) == 0))
    raise InstanceError(f"expected one of {', '.join(ZONES)}, got {pattern!r}", field="distribution")


PRESETS = ("hcvrp", "pvrp-p", "pvrp-zc")  # what ``nco solve --problem`` takes for this problem
HCVRP_CAPACITY = (20, 41)  # 2D-Ptr's capacities randint(20, 41)
HCVRP_SPEED = (0.5, 1.0)  # and speeds U(0.5, 1)


def draw(sampler: Sampler, count: int, size: int, distribution: str = "uniform", preset: str = "hcvrp",
         num_vehicles: int = 3, **options: Any) -> dict[str, Any]:
    """``count`` random instances of a preset with ``size`` customers and ``num_vehicles`` vehicles, as arrays:
    ``coords [count, size + 1, 2]`` U(0, 1)^2 (the depot first), ``demand [count, size]`` 1..9, ``capacity``
    and ``speed [count, m]``, ``preference`` or ``allowed [count, m, size]`` where the preset has them, and the
    objective (``objective``, ``time_weight``, ``preference_weight``: one for all). ``hcvrp``: 2D-Ptr's
    distribution (min-max; :func:`hcvrp_arrays` draws its exact test sets); ``pvrp-p`` / ``pvrp-zc``: CAMP's,
    capacity 40, speed 1, preferences or zones of ``distribution`` (``uniform`` reads as ``random``). Every
    vehicle reloads at the depot."""
    if preset not in PRESETS:
        raise InstanceError(f"expected one of {', '.join(PRESETS)}, got {preset!r}", field="preset")
    m = check_size(num_vehicles, 1, "num_vehicles")
    coords = sampler.uniform((count, size + 1, 2))
    arrays: dict[str, Any] = {"coords": coords, "demand": sampler.integers(1, 10, (count, size))}
    if preset == "hcvrp":
        arrays["speed"] = sampler.uniform((count, m), *HCVRP_SPEED)
        arrays["capacity"] = sampler.integers(*HCVRP_CAPACITY, (count, m)) * 1.0
        return arrays | {"objective": "min-max", "time_weight": 1.0, "preference_weight": 0.0}
    arrays |= {"capacity": sampler.full((count, m), CAMP_CAPACITY), "speed": sampler.full((count, m), 1.0)}
    pattern = "random" if distribution == "uniform" else distribution
    if preset == "pvrp-p":
        arrays["preference"] = camp_preference(sampler, coords, m, pattern)
        return arrays | {"objective": "min-sum", "time_weight": CAMP_TIME_WEIGHT,
                         "preference_weight": CAMP_PREFERENCE_WEIGHT}
    arrays["allowed"] = camp_zones(sampler, coords, m, pattern)
    return arrays | {"objective": "min-sum", "time_weight": 1.0, "preference_weight": 0.0}


def instances(arrays: dict[str, Any], names: Sequence[str]) -> list[PVRPInstance]:
    """Euclidean instances (vehicles that reload) from the arrays of :func:`draw`."""
    out = []
    for k, name in enumerate(names):
        fleet: dict[str, np.ndarray] = {key: np.asarray(arrays[key][k], dtype=np.float64)
                                        for key in ("speed", "preference") if key in arrays}
        if "allowed" in arrays:
            fleet["allowed"] = np.asarray(arrays["allowed"][k], dtype=np.bool_)
        out.append(PVRPInstance.from_coords(np.asarray(arrays["coords"][k], dtype=np.float64),
                                            np.concatenate([[0], arrays["demand"][k]]),
                                            np.asarray(arrays["capacity"][k], dtype=np.float64), multi_trip=True,
                                            objective=arrays["objective"], time_weight=arrays["time_weight"],
                                            preference_weight=arrays["preference_weight"], name=name, **fleet))
    return out


def arrays_of(instances: Sequence[PVRPInstance]) -> dict[str, Any]:
    """Instances of one size and fleet size stacked in :func:`draw`'s layout (the environments' input), with
    each one's objective as ``weights [count, 3]`` (longest time, total time, preference) and ``multi_trip``
    True only when every instance reloads."""
    fleets = sorted({i.num_vehicles for i in instances})
    if len(fleets) != 1:
        raise InstanceError(f"a batch needs one fleet size, got {fleets} vehicles", field="instances")

    def stack(name: str) -> np.ndarray:
        return np.stack([getattr(i, name) for i in instances])

    weights = [[1.0, 0.0, 0.0] if i.objective == "min-max" else [0.0, i.time_weight, i.preference_weight]
               for i in instances]
    coords = None if any(i.coords is None for i in instances) else stack("coords")
    return {"coords": coords, "demand": stack("demand")[:, 1:], "capacity": stack("capacity"),
            "speed": stack("speed"), "fixed_cost": stack("fixed_cost"), "unit_cost": stack("unit_cost"),
            "preference": stack("preference"), "allowed": stack("allowed"), "weights": np.asarray(weights),
            "multi_trip": all(i.multi_trip for i in instances)}


def random_pvrp(num_customers: int, num_vehicles: int, preset: str = "pvrp-p", distribution: str = "random",
                batch: int | None = None, seed: int = 0) -> PVRPInstance | list[PVRPInstance]:
    """Random PVRP instance(s) as CAMP draws them (:func:`draw`): ``pvrp-p``, preferences of ``distribution``
    (:func:`camp_preference`), min-sum of 0.8 x time - 0.2 x preference; ``pvrp-zc``, zones of ``distribution``
    as a hard mask (:func:`camp_zones`), min-sum of time. Drawn with NumPy (CAMP uses torch): the same
    distributions, not the same numbers."""
    if preset not in ("pvrp-p", "pvrp-zc"):
        raise InstanceError(f"expected pvrp-p or pvrp-zc, got {preset!r}", field="preset")
    known = PREFERENCES if preset == "pvrp-p" else ZONES
    if distribution not in known:
        raise InstanceError(f"expected one of {', '.join(known)}, got {distribution!r}", field="distribution")
    arrays = draw(NumpySampler(np.random.default_rng(seed)), batch or 1, num_customers, distribution, preset,
                  num_vehicles)
    out = instances(arrays, [f"{preset}{num_customers}-v{num_vehicles}-{distribution}-{seed}-{k}"
                             for k in range(batch or 1)])
    return out if batch is not None else out[0]




def preset_of(instance: PVRPInstance) -> str:
    """The preset whose policies serve ``instance``: ``hcvrp`` for min-max, ``pvrp-p`` for min-sum with
    preferences, ``pvrp-zc`` for the other min-sum fleets (time, zones or not); none for a fleet whose
    vehicles make one trip each (every preset's reload: an :class:`InstanceError`)."""
    if not instance.multi_trip:
        raise InstanceError(f"{instance.name}: its vehicles make one trip each (multi_trip is off), and the "
                            "learned policies were trained on fleets that reload; solve it with the classical "
                            "solvers (ga, ortools, ls, insertion)", field="multi_trip", path=instance.path)
    if instance.objective == "min-max":
        return "hcvrp"
    return "pvrp-p" if instance.preference_weight and bool(instance.preference.any()) else "pvrp-zc"


def random_fleet(num_customers: int, batch: int | None = None, seed: int = 0, distribution: str = "random",
                 preset: str = "hcvrp", num_vehicles: int = 3) -> PVRPInstance | list[PVRPInstance]:
    """Random instance(s) of a preset: ``hcvrp`` (:func:`random_hcvrp`, ``distribution`` unused) or
    ``pvrp-p`` / ``pvrp-zc`` (:func:`random_pvrp`; ``uniform`` reads as ``random``)."""
    if preset == "hcvrp":
        return random_hcvrp(num_customers, num_vehicles, batch, seed)
    pattern = "random" if distribution == "uniform" else distribution
    return random_pvrp(num_customers, num_vehicles, preset, pattern, batch, seed)
