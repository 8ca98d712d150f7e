"""Shared fixtures: the benchmark data beside the repository (``../shared/data``), the small instances of
``tests/data``, warm kernels."""

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATA = Path(__file__).resolve().parent / "data"  # small real and malformed instances shipped with the tests


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared benchmark data folder; tests that need it skip, saying so, where it is absent (a user's
    clone), and run wherever it sits beside the repository (CI)."""
    if not SHARED.is_dir():
        pytest.skip(f"needs the shared benchmark data at {SHARED}, which is absent")
    return SHARED


@pytest.fixture(scope="session")
def warm_kernels() -> None:
    """Compile (or load) every solver kernel once, so that tests of time limits measure the solvers, not Numba."""
    from nco.solvers.warmup import warm_up

    warm_up()
