"""Batches of instances as tensors, the input of the batched environments and policies.

A problem's env module turns arrays (drawn by its generator, or stacked
from instances) into a :class:`Batch` with ``make_batch``; the functions here
are the same for every problem and ask the registry which module to use.
``unit_square`` and ``mean_scaled`` put any batch's coordinates and matrices
on the scale policies were trained on.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Sequence

import numpy as np
import torch

from nco.data import Instance, InstanceError, get_problem


@dataclass
class Batch:
    """``dist [B, N, N]`` and optional ``coords [B, N, 2]``; for CVRP also ``demand [B, N]``.

    Demands are divided by the capacity (node 0, the depot, has 0), so one
    vehicle holds 1.0. ``capacity [B]`` keeps the integer capacity for turning
    routes back into instance solutions. ``problem`` names the registry entry.

    A fleet of M vehicles that differ (PVRP) has ``capacity [B, M]`` instead,
    demands and capacities divided by the largest capacity; ``speed``,
    ``fixed_cost`` and ``unit_cost [B, M]``; ``preference [B, M, N]`` and
    ``allowed [B, M, N]`` (the depot's column 0 and True); and ``weights
    [B, 3]``, the objective's weights of the longest time, the total time and
    the preference collected.
    """

    problem: str
    dist: torch.Tensor
    coords: torch.Tensor | None = None
    demand: torch.Tensor | None = None
    capacity: torch.Tensor | None = None
    speed: torch.Tensor | None = None
    fixed_cost: torch.Tensor | None = None
    unit_cost: torch.Tensor | None = None
    preference: torch.Tensor | None = None
    allowed: torch.Tensor | None = None
    weights: torch.Tensor | None = None

    def require(self, name: str) -> torch.Tensor:
        """The tensor ``name`` (``coords``, ``demand``, ``capacity``), or an error saying the batch lacks it."""
        value = getattr(self, name)
        if value is None:
            raise InstanceError(f"this {self.problem} batch has no {name}", field=name)
        return value

    @property
    def size(self) -> int:
        """Number of instances B."""
        return self.dist.shape[0]

    @property
    def num_nodes(self) -> int:
        """Nodes per instance N (the depot included)."""
        return self.dist.shape[1]

    @property
    def num_starts(self) -> int:
        """POMO's start nodes per instance: every node but a depot."""
        return self.num_nodes - get_problem(self.problem).depot

    def to(self, device: torch.device | str) -> "Batch":
        """The same batch on ``device``."""
        return self._map(lambda t: t.to(device))

    def repeat(self, k: int) -> "Batch":
        """Each instance ``k`` times in a row (for augmentation)."""
        return self._map(lambda t: t.repeat_interleave(k, 0))

    def slice(self, start: int, stop: int) -> "Batch":
        """Instances ``start:stop``."""
        return self._map(lambda t: t[start:stop])

    def tensors(self) -> dict[str, torch.Tensor]:
        """The batch's per-instance tensors by field name (those it has)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name != "problem" and getattr(self, f.name) is not None}

    def _map(self, fn) -> "Batch":
        return Batch(self.problem, **{name: fn(t) for name, t in self.tensors().items()})


class TorchSampler:
    """The data layer's :class:`nco.data.generate.Sampler` on a torch device (training draws there)."""

    def __init__(self, device: torch.device | str = "cpu", generator: torch.Generator | None = None) -> None:
        self.device, self.generator = device, generator

    def uniform(self, shape: tuple[int, ...], low: float = 0.0, high: float = 1.0) -> torch.Tensor:
        u = torch.rand(shape, device=self.device, generator=self.generator)
        return u if (low, high) == (0.0, 1.0) else low + (high - low) * u

    def integers(self, low: int, high: int, shape: tuple[int, ...]) -> torch.Tensor:
        return torch.randint(low, high, shape, device=self.device, generator=self.generator)

    def normal(self, scale: float, shape: tuple[int, ...]) -> torch.Tensor:
        return scale * torch.randn(shape, device=self.device, generator=self.generator)

    def empty(self, shape: tuple[int, ...]) -> torch.Tensor:
        return torch.empty(shape, device=self.device)

    def full(self, shape: tuple[int, ...], value: float) -> torch.Tensor:
        return torch.full(shape, float(value), device=self.device)

    def arange(self, n: int) -> torch.Tensor:
        return torch.arange(n, device=self.device)


def as_float(array: Any, device: torch.device | str | None = None) -> torch.Tensor:
    """``array`` (NumPy or torch) as a float32 tensor on ``device`` (its own when None)."""
    return torch.as_tensor(array, dtype=torch.float32, device=device)


def euclidean(coords: torch.Tensor) -> torch.Tensor:
    """Pairwise distances ``[B, N, N]`` of ``coords [B, N, 2]``."""
    return torch.cdist(coords, coords)


def matrix_of(dist: torch.Tensor | None, coords: torch.Tensor | None) -> torch.Tensor:
    """``dist`` when given, else the Euclidean matrix of ``coords`` (one of them is needed)."""
    if dist is not None:
        return dist
    if coords is None:
        raise InstanceError("expected coordinates or a distance matrix", field="coords")
    return euclidean(coords)


def random_batch(problem: str, num_nodes: int, size: int, device: torch.device | str = "cpu",
                 generator: torch.Generator | None = None, distribution: str | None = None,
                 **options: Any) -> Batch:
    """``size`` random instances drawn on ``device`` by the problem's generator: ``num_nodes`` cities, or
    customers plus a depot (Kool et al.'s uniform distribution unless told otherwise); ``options`` go to the
    generator (a fleet's ``preset`` and ``num_vehicles``)."""
    spec = get_problem(problem)
    given = {} if distribution is None else {"distribution": distribution}  # None: the generator's default
    arrays = spec.data.draw(TorchSampler(device, generator), size, num_nodes, **given, **options)
    return spec.env_module().make_batch(arrays, device=device)


def kool_batch(problem: str, num_nodes: int, size: int, seed: int) -> Batch:
    """A reproducible batch drawn exactly like Kool et al.'s data sets (legacy NumPy generator)."""
    spec = get_problem(problem)
    if not hasattr(spec.data, "kool_arrays"):
        raise InstanceError(f"the {spec.title} has no test set drawn like Kool et al.'s; its policies are measured "
                            "by the benchmarks (benchmarks/fleets.py hcvrp-neural on the published HCVRP sets)",
                            field="problem")
    return spec.env_module().make_batch(spec.data.kool_arrays(num_nodes, size, seed))


def from_instances(instances: Sequence[Instance], device: torch.device | str = "cpu") -> Batch:
    """Stack instances of one problem and size into a batch (float32), their own matrices included."""
    if not instances:
        raise InstanceError("expected at least one instance", field="instances")
    own = getattr(get_problem(instances[0].problem).env_module(), "from_instances", None)
    if own is not None:  # a batch of another shape (network paths: one network's traffic matrices)
        return own(instances, device)
    sizes = {(i.problem, i.num_nodes) for i in instances}
    if len(sizes) != 1:
        raise InstanceError(f"a batch needs one problem and one size, got {sorted(sizes)}", field="instances")
    spec = get_problem(instances[0].problem)
    dist = as_float(np.stack([i.distance for i in instances]), device)
    return spec.env_module().make_batch(spec.data.arrays_of(instances), dist=dist, device=device)


def unit_square(coords: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``coords [B, N, 2]`` shifted and scaled (one factor for both axes) into the unit square, and the factors."""
    lo = coords.amin(1, keepdim=True)
    span = (coords.amax(1, keepdim=True) - lo).amax(-1, keepdim=True).clamp_min(1e-12)
    return (coords - lo) / span, span


def mean_scaled(dist: torch.Tensor) -> torch.Tensor:
    """``dist [B, N, N]`` divided by each instance's mean off-diagonal entry."""
    n = dist.shape[1]
    scale = dist.sum((1, 2), keepdim=True) / (n * (n - 1))
    return dist / scale.clamp_min(1e-12)
