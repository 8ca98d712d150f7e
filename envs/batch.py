"""Batches of instances as tensors, the input of the batched environments and policies."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nco.data import CVRPInstance, InstanceError, TSPInstance


@dataclass
class Batch:
    """``dist [B, N, N]`` and optional ``coords [B, N, 2]``; for CVRP also ``demand [B, N]``.

    Demands are divided by the capacity (node 0, the depot, has 0), so one
    vehicle holds 1.0. ``capacity [B]`` keeps the integer capacity for turning
    routes back into instance solutions.
    """

    problem: str
    dist: torch.Tensor
    coords: torch.Tensor | None = None
    demand: torch.Tensor | None = None
    capacity: torch.Tensor | None = None

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
        """POMO's start nodes per instance: every city (TSP), every customer (CVRP, not the depot)."""
        return self.num_nodes - (1 if self.problem == "cvrp" else 0)

    def to(self, device: torch.device | str) -> "Batch":
        """The same batch on ``device``."""
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        return Batch(self.problem, move(self.dist), move(self.coords), move(self.demand), move(self.capacity))

    def repeat(self, k: int) -> "Batch":
        """Each instance ``k`` times in a row (for augmentation)."""
        rep = lambda t: None if t is None else t.repeat_interleave(k, 0)  # noqa: E731
        return Batch(self.problem, rep(self.dist), rep(self.coords), rep(self.demand), rep(self.capacity))


def euclidean(coords: torch.Tensor) -> torch.Tensor:
    """Pairwise distances ``[B, N, N]`` of ``coords [B, N, 2]``."""
    return torch.cdist(coords, coords)


def random_batch(problem: str, num_nodes: int, size: int, device: torch.device | str = "cpu",
                 generator: torch.Generator | None = None) -> Batch:
    """Uniform instances drawn on ``device`` (Kool et al.): ``num_nodes`` cities, or customers plus a depot."""
    if problem == "tsp":
        coords = torch.rand(size, num_nodes, 2, device=device, generator=generator)
        return Batch("tsp", euclidean(coords), coords)
    if problem == "cvrp":
        coords = torch.rand(size, num_nodes + 1, 2, device=device, generator=generator)
        return Batch("cvrp", euclidean(coords), coords, *random_demand(num_nodes, size, device, generator))
    raise InstanceError(f"unknown problem {problem!r}; expected 'tsp' or 'cvrp'", field="problem")


def random_demand(num_nodes: int, size: int, device: torch.device | str = "cpu",
                  generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Kool et al.'s CVRP demands: ``(demand [B, N+1]`` as fractions of the capacity, depot 0; ``capacity [B])``."""
    from nco.data import capacity_for

    capacity = capacity_for(num_nodes)
    demand = torch.randint(1, 10, (size, num_nodes + 1), device=device, generator=generator).float()
    demand[:, 0] = 0
    return demand / capacity, torch.full((size,), float(capacity), device=device)


def from_instances(instances: list[TSPInstance] | list[CVRPInstance], device: torch.device | str = "cpu") -> Batch:
    """Stack instances of one problem and size into a batch (float32)."""
    if not instances:
        raise InstanceError("expected at least one instance", field="instances")
    problem = instances[0].problem
    sizes = {(i.problem, i.num_nodes) for i in instances}
    if len(sizes) != 1:
        raise InstanceError(f"a batch needs one problem and one size, got {sorted(sizes)}", field="instances")
    dist = torch.as_tensor(np.stack([i.distance for i in instances]), dtype=torch.float32, device=device)
    coords = None
    if all(i.coords is not None for i in instances):
        coords = torch.as_tensor(np.stack([i.coords for i in instances]), dtype=torch.float32, device=device)
    if problem == "tsp":
        return Batch("tsp", dist, coords)
    caps = torch.as_tensor([float(i.capacity) for i in instances], device=device)
    demand = torch.as_tensor(np.stack([i.demand for i in instances]), dtype=torch.float32, device=device)
    return Batch("cvrp", dist, coords, demand / caps[:, None], caps)
