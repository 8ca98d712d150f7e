"""Shared fixtures: the benchmark data beside the repository (``../shared/data``)."""

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared benchmark data folder; tests that need it fail loudly when it is missing."""
    assert SHARED.is_dir(), f"expected the shared benchmark data at {SHARED}"
    return SHARED
