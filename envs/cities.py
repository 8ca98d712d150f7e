"""Training instances drawn from real cities, as batches on any device.

Each instance takes a random subset of one city's points (a random city of
the pool per instance) and its distance or duration matrix (a random choice
per instance), so one policy learns both objectives. Coordinates are moved
into the unit square exactly as :func:`nco.neural.to_batch` moves them at
solve time, and each matrix is divided by its mean arc, so costs from cities
of different sizes and from metres or seconds stay comparable in a batch.
"""

from __future__ import annotations

import torch

from nco.data import InstanceError, get_problem

from .batch import Batch, TorchSampler, mean_scaled, unit_square


class CityPool:
    """Coordinates and both matrices of several cities, ready to sample training batches from."""

    def __init__(self, cities: list) -> None:
        """``cities``: :class:`nco.data.City` objects (see :func:`nco.data.load_city`)."""
        if not cities:
            raise InstanceError("expected at least one city", field="cities")
        self.names = [c.name for c in cities]
        self.coords = [torch.as_tensor(c.coords, dtype=torch.float32) for c in cities]
        self.matrices = [torch.stack([torch.as_tensor(c.distance, dtype=torch.float32),
                                      torch.as_tensor(c.duration, dtype=torch.float32)]) for c in cities]

    def to(self, device: torch.device | str) -> "CityPool":
        """The pool on ``device`` (in place; returns itself)."""
        self.coords = [c.to(device) for c in self.coords]
        self.matrices = [m.to(device) for m in self.matrices]
        return self

    def sample(self, problem: str, num_nodes: int, size: int, generator: torch.Generator | None = None) -> Batch:
        """``size`` instances of ``num_nodes`` cities, or customers plus a depot; what the problem adds to
        the points (CVRP: demands) is drawn by its own generator."""
        spec = get_problem(problem)
        nodes = num_nodes + spec.depot
        smallest = min(c.shape[0] for c in self.coords)
        if nodes > smallest:
            raise InstanceError(f"expected at most {smallest} nodes (the smallest city), got {nodes}",
                                field="num_nodes")
        device = self.coords[0].device
        draw = lambda *shape, high: torch.randint(high, shape, device=device, generator=generator)  # noqa: E731
        city, objective = draw(size, high=len(self.coords)), draw(size, high=2)
        dist = torch.empty(size, nodes, nodes, device=device)
        coords = torch.empty(size, nodes, 2, device=device)
        for c in range(len(self.coords)):
            rows = (city == c).nonzero().flatten()
            if len(rows) == 0:
                continue
            pick = torch.rand(len(rows), self.coords[c].shape[0], device=device,
                              generator=generator).argsort(1)[:, :nodes]
            dist[rows] = self.matrices[c][objective[rows, None, None], pick[:, :, None], pick[:, None, :]]
            coords[rows] = self.coords[c][pick]
        dist, coords = mean_scaled(dist), unit_square(coords)[0]
        extra = spec.data.features(TorchSampler(device, generator), size, num_nodes)
        return spec.env_module().make_batch({"coords": coords, **extra}, dist=dist)
