"""Seeded random points for every problem, drawn through one sampler interface (NumPy or torch).

A problem's generator (``draw`` in its data module, e.g. :mod:`nco.data.cvrp`)
is written once against :class:`Sampler`; :class:`NumpySampler` serves the
instance generators here, ``nco.envs.batch.TorchSampler`` draws the same
distributions on a device for training.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from .errors import InstanceError

KOOL_TEST_SEED = 1234  # Kool et al.'s generate_data.py: the test sets
KOOL_VALIDATION_SEED = 4321  # and the validation sets
DISTRIBUTIONS = ("uniform", "clustered")


class Sampler(Protocol):
    """Random arrays of a given shape; NumPy's and torch's generators behind one interface."""

    def uniform(self, shape: tuple[int, ...], low: float = 0.0, high: float = 1.0) -> Any:
        """Uniform floats in ``[low, high)``."""

    def integers(self, low: int, high: int, shape: tuple[int, ...]) -> Any:
        """Uniform integers in ``[low, high)``."""

    def normal(self, scale: float, shape: tuple[int, ...]) -> Any:
        """Normal floats around 0."""

    def empty(self, shape: tuple[int, ...]) -> Any:
        """An uninitialised float array."""

    def full(self, shape: tuple[int, ...], value: float) -> Any:
        """A float array of ``value`` (a generator's constants, on the sampler's device)."""

    def arange(self, n: int) -> Any:
        """The integers ``0 .. n - 1`` (for indexing rows of the sampler's arrays)."""


class NumpySampler:
    """:class:`Sampler` over a ``numpy.random.Generator``."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def uniform(self, shape: tuple[int, ...], low: float = 0.0, high: float = 1.0) -> np.ndarray:
        return self.rng.uniform(low, high, size=shape)

    def integers(self, low: int, high: int, shape: tuple[int, ...]) -> np.ndarray:
        return self.rng.integers(low, high, size=shape)

    def normal(self, scale: float, shape: tuple[int, ...]) -> np.ndarray:
        return self.rng.normal(0, scale, size=shape)

    def empty(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.empty(shape)

    def full(self, shape: tuple[int, ...], value: float) -> np.ndarray:
        return np.full(shape, float(value))

    def arange(self, n: int) -> np.ndarray:
        return np.arange(n)


def points(sampler: Sampler, count: int, n: int, distribution: str = "uniform") -> Any:
    """``[count, n, 2]`` points in the unit square: uniform (Kool et al.) or clustered.

    Clustered: Gaussian clusters around 3-7 centres, kept inside the square
    by redrawing (not clipping), so no points pile up on the border.
    """
    if distribution == "uniform":
        return sampler.uniform((count, n, 2))
    if distribution != "clustered":
        raise InstanceError(f"unknown distribution {distribution!r}; expected one of {', '.join(DISTRIBUTIONS)}",
                            field="distribution")
    out = sampler.empty((count, n, 2))
    for b in range(count):
        centres = sampler.uniform((int(sampler.integers(3, 8, ())), 2), 0.1, 0.9)
        pts = centres[sampler.integers(0, len(centres), (n,))] + sampler.normal(0.05, (n, 2))
        bad = ((pts < 0) | (pts > 1)).any(1)
        while bad.any():
            k = int(bad.sum())
            pts[bad] = centres[sampler.integers(0, len(centres), (k,))] + sampler.normal(0.05, (k, 2))
            bad = ((pts < 0) | (pts > 1)).any(1)
        out[b] = pts
    return out


def take(arrays: dict[str, Any], rows: int | slice) -> dict[str, Any]:
    """``rows`` of every per-instance array of a generator's output; scalars (one capacity for all) stay."""
    return {k: v[rows] if isinstance(v, np.ndarray) else v for k, v in arrays.items()}


def check_size(size: int, least: int, field: str) -> int:
    """``size`` as an int, or an :class:`InstanceError` when it is below ``least``."""
    if size < least:
        raise InstanceError(f"expected at least {least}, got {size}", field=field)
    return int(size)


def kool_test_set(problem: str, size: int, count: int = 10_000) -> list[Any]:
    """The first ``count`` instances of Kool et al.'s test set for ``problem`` of ``size`` (cities, customers)."""
    from .problems import get_problem

    spec = get_problem(problem)
    arrays = spec.data.kool_arrays(size)  # all 10,000 are drawn: the legacy generator fills them in order
    arrays = take(arrays, slice(0, count))
    return spec.data.instances(arrays, [f"kool-{problem}{size}-{k}" for k in range(count)])
