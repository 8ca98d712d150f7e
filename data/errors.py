"""The `nco` exceptions.

They live in the lowest layer that raises them (``nco.data``) so every layer
above can raise and catch them; ``nco`` re-exports them. Each message names the
file or field at fault and what was expected.
"""

from __future__ import annotations

import os


class NcoError(Exception):
    """Base class of every error `nco` raises on purpose."""


class InstanceError(NcoError, ValueError):
    """An instance (or its file) is malformed or infeasible by construction."""

    def __init__(self, message: str, *, field: str | None = None, path: str | os.PathLike | None = None):
        where = []
        if path is not None:
            where.append(str(path))
        if field is not None:
            where.append(f"field {field!r}")
        prefix = ": ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.field = field
        self.path = None if path is None else str(path)


class SolutionError(NcoError, ValueError):
    """A solution breaks the instance: a customer missed or repeated, capacity exceeded, ..."""


class SolverError(NcoError, ValueError):
    """A solver was asked for something it cannot do (unknown name, bad time limit, ...)."""
