"""Distance functions of TSPLIB95 (Reinelt 1991), each with its own rounding rule.

An optimum from the literature is matched only when the rule is followed to
the letter; ``nint(x)`` is ``int(x + 0.5)`` as in the TSPLIB documentation.
"""

from __future__ import annotations

import numpy as np

from .errors import InstanceError


def _nint(x: np.ndarray) -> np.ndarray:
    return np.floor(x + 0.5)


def _deltas(coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return coords[:, None, 0] - coords[None, :, 0], coords[:, None, 1] - coords[None, :, 1]


def _geo(coords: np.ndarray) -> np.ndarray:
    # Coordinates are DDD.MM (degrees and minutes); the integer part is truncated, not rounded.
    pi = 3.141592
    deg = np.trunc(coords)
    rad = pi * (deg + 5.0 * (coords - deg) / 3.0) / 180.0
    lat, lon = rad[:, 0], rad[:, 1]
    q1 = np.cos(lon[:, None] - lon[None, :])
    q2 = np.cos(lat[:, None] - lat[None, :])
    q3 = np.cos(lat[:, None] + lat[None, :])
    arg = np.clip(0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3), -1.0, 1.0)
    out = np.floor(6378.388 * np.arccos(arg) + 1.0)
    np.fill_diagonal(out, 0.0)
    return out


def _att(coords: np.ndarray) -> np.ndarray:
    dx, dy = _deltas(coords)
    r = np.sqrt((dx * dx + dy * dy) / 10.0)
    t = _nint(r)
    return np.where(t < r, t + 1.0, t)


def coordinate_distances(edge_weight_type: str, coords: np.ndarray, path: str | None = None) -> np.ndarray:
    """The full matrix for a coordinate-based ``EDGE_WEIGHT_TYPE``."""
    coords = np.asarray(coords, dtype=np.float64)
    if edge_weight_type == "GEO":
        return _geo(coords)
    if edge_weight_type == "ATT":
        return _att(coords)
    dx, dy = _deltas(coords)
    euclid = np.sqrt(dx * dx + dy * dy)
    rules = {
        "EUC_2D": lambda: _nint(euclid),
        "CEIL_2D": lambda: np.ceil(euclid),
        "FLOOR_2D": lambda: np.floor(euclid),
        "EXACT_2D": lambda: euclid,
        "MAN_2D": lambda: _nint(np.abs(dx) + np.abs(dy)),
        "MAX_2D": lambda: np.maximum(_nint(np.abs(dx)), _nint(np.abs(dy))),
    }
    if edge_weight_type not in rules:
        raise InstanceError(f"unsupported edge weight type {edge_weight_type!r}; expected one of "
                            f"{sorted([*rules, 'GEO', 'ATT', 'EXPLICIT'])}", field="EDGE_WEIGHT_TYPE", path=path)
    return rules[edge_weight_type]()


def _triangle(values: np.ndarray, n: int, lower: bool, diagonal: bool, row_major: bool, path: str | None) -> np.ndarray:
    # A column-wise lower triangle lists the same numbers as a row-wise upper one.
    upper = (not lower) if row_major else lower
    k = 0 if diagonal else 1
    rows, cols = np.triu_indices(n, k) if upper else np.tril_indices(n, -k)
    if values.size != rows.size:
        raise InstanceError(f"expected {rows.size} edge weights for DIMENSION {n}, got {values.size}",
                            field="EDGE_WEIGHT_SECTION", path=path)
    out = np.zeros((n, n))
    out[rows, cols] = values
    out[cols, rows] = values
    return out


def explicit_matrix(values: np.ndarray, edge_weight_format: str, n: int, path: str | None = None) -> np.ndarray:
    """The full matrix from an ``EDGE_WEIGHT_SECTION`` read as one stream of numbers."""
    fmt = edge_weight_format
    if fmt == "FULL_MATRIX":
        if values.size != n * n:
            raise InstanceError(f"expected {n * n} edge weights for DIMENSION {n}, got {values.size}",
                                field="EDGE_WEIGHT_SECTION", path=path)
        return values.reshape(n, n).astype(np.float64)
    shapes = {
        "UPPER_ROW": (False, False, True), "LOWER_ROW": (True, False, True),
        "UPPER_DIAG_ROW": (False, True, True), "LOWER_DIAG_ROW": (True, True, True),
        "UPPER_COL": (False, False, False), "LOWER_COL": (True, False, False),
        "UPPER_DIAG_COL": (False, True, False), "LOWER_DIAG_COL": (True, True, False),
    }
    if fmt not in shapes:
        raise InstanceError(f"unsupported edge weight format {fmt!r}; expected FULL_MATRIX or one of {sorted(shapes)}",
                            field="EDGE_WEIGHT_FORMAT", path=path)
    lower, diagonal, row_major = shapes[fmt]
    return _triangle(values.astype(np.float64), n, lower, diagonal, row_major, path)
