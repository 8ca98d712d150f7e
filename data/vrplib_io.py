"""Read and write VRPLIB / TSPLIB files through the ``vrplib`` package.

``vrplib`` parses the specification lines and node sections; the edge-weight
section is parsed here because TSPLIB has rounding rules (ATT, GEO, CEIL_2D)
and matrix layouts (UPPER_ROW, LOWER_DIAG_ROW, ...) that ``vrplib`` does not
compute. Node ids in files are 1-based; inside ``nco`` they are 0-based with
the depot (or first city) at 0, so a CVRP customer keeps its ``.sol`` number.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import vrplib
from vrplib.parse import parse_vrplib

from .atomic import atomic_path
from .errors import InstanceError, SolutionError
from .instances import Instance
from .problems import file_type_of, problem_for_file_type, problem_of
from .solution import Solution, make_solution, tour_to_routes
from .tsplib_distances import coordinate_distances, explicit_matrix

_SECTION = re.compile(r"^\s*([A-Z_]+_SECTION)\s*:?\s*$")


def _split_edge_weights(text: str) -> tuple[str, str | None]:
    """Cut the EDGE_WEIGHT_SECTION out of ``text``; return (rest, section body or None)."""
    lines = text.splitlines()
    out: list[str] = []
    body: list[str] | None = None
    inside = False
    for line in lines:
        head = _SECTION.match(line.upper())
        stripped = line.strip()
        if head or stripped.upper() == "EOF":
            inside = head is not None and head.group(1) == "EDGE_WEIGHT_SECTION"
            if inside:
                body = []
                continue
        if inside:
            body.append(line)  # type: ignore[union-attr]
        else:
            out.append(line)
    return "\n".join(out), None if body is None else "\n".join(body)


def _numbers(text: str, field: str, path: str) -> np.ndarray:
    try:
        return np.array(text.split(), dtype=np.float64)
    except ValueError as exc:
        raise InstanceError(f"expected numbers ({exc})", field=field, path=path) from None


# Sections with one row per node, each starting with its node id (VRPLIB's and TSPLIB's; others, such as
# TSPLIB's FIXED_EDGES_SECTION, list pairs of nodes instead).
_NODE_SECTIONS = ("NODE_COORD_SECTION", "DEMAND_SECTION", "DISPLAY_DATA_SECTION", "TIME_WINDOW_SECTION",
                  "SERVICE_TIME_SECTION", "PICKUP_SECTION", "RELEASE_TIME_SECTION")


def _section_rows(text: str) -> dict[str, list[str]]:
    """The row lines of each data section by its name (``DEMAND_SECTION``, ...), grouped as ``vrplib`` groups
    them: a section runs to the next section, a specification line or EOF. ``vrplib`` drops the node ids at
    the start of each row and keeps the rows in file order; these rows keep them."""
    rows: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        upper = stripped.upper()
        if "_SECTION" in upper:
            current = rows.setdefault(upper.split()[0].strip(":"), [])
        elif upper == "EOF" or ":" in stripped:
            current = None
        elif current is not None:
            current.append(stripped)
    return rows


def _check_depot_section(rows: list[str], path: str) -> None:
    """Every DEPOT_SECTION entry a node id (vrplib would fail on text deep inside NumPy)."""
    for token in " ".join(rows).split():
        if not token.lstrip("-").isdigit():
            raise InstanceError(f"expected node ids ending with -1, got {token!r}", field="DEPOT_SECTION", path=path)


def _in_id_order(data: dict[str, Any], ids: dict[str, list[str]], n: int, path: str) -> None:
    """Put the rows of every node section in node-id order (in place), after checking that its ids are
    exactly 1..n: a file whose lines come in another order describes the same instance, and one with a
    duplicate, missing or foreign id is refused rather than read by position."""
    for name, tokens in ids.items():
        if name not in data or not tokens:
            continue
        field = f"{name.upper()}_SECTION"
        if len(tokens) != n:
            raise InstanceError(f"DIMENSION is {n} but the section has {len(tokens)} nodes", field=field, path=path)
        try:
            order = np.array([int(t) for t in tokens]) - 1
        except ValueError:
            bad = next(t for t in tokens if not t.lstrip("-").isdigit())
            raise InstanceError(f"expected a node id at the start of each row, got {bad!r}", field=field,
                                path=path) from None
        if not np.array_equal(np.sort(order), np.arange(n)):
            seen, dup = np.unique(order, return_counts=True)
            if (dup > 1).any():
                detail = f"node {int(seen[dup > 1][0]) + 1} appears twice"
            elif (order < 0).any() or (order >= n).any():
                detail = f"node id {int(order[(order < 0) | (order >= n)][0]) + 1} is outside 1..{n}"
            else:
                detail = f"node {int(np.setdiff1d(np.arange(n), order)[0]) + 1} is missing"
            raise InstanceError(f"expected each node id 1..{n} once: {detail}", field=field, path=path)
        if np.array_equal(order, np.arange(n)):
            continue
        rows = data[name]
        data[name] = rows[np.argsort(order)] if isinstance(rows, np.ndarray) else [rows[i] for i in np.argsort(order)]


def _parse(path: str) -> tuple[dict[str, Any], str | None]:
    if Path(path).exists() and not Path(path).is_file():  # a folder, or a device such as /dev/zero: never ends
        raise InstanceError("not a regular file: expected an instance file", path=path)
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InstanceError(f"cannot read the file ({exc})", path=path) from None
    rest, weights = _split_edge_weights(text)
    sections = _section_rows(rest)
    _check_depot_section(sections.get("DEPOT_SECTION", []), path)
    try:
        data = parse_vrplib(rest, compute_edge_weights=False)
    except (ValueError, RuntimeError, IndexError, TypeError) as exc:  # TypeError: text where numbers belong
        raise InstanceError(f"not a valid VRPLIB/TSPLIB file ({exc})", path=path) from None
    if not data:
        raise InstanceError("the file is empty", path=path)
    data["_ids"] = {name.removesuffix("_SECTION").lower(): [row.split()[0] for row in rows]
                    for name, rows in sections.items() if name in _NODE_SECTIONS}
    return data, weights


def _dimension(data: dict[str, Any], path: str) -> int:
    n = data.get("dimension")
    if n is None:
        raise InstanceError("missing specification", field="DIMENSION", path=path)
    if not isinstance(n, int) or n < 2:
        raise InstanceError(f"expected an integer >= 2, got {n!r}", field="DIMENSION", path=path)
    return n


def _coords(data: dict[str, Any], n: int, path: str) -> np.ndarray | None:
    raw = data.get("node_coord")
    if raw is None:
        return None
    try:
        coords = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise InstanceError("expected two numbers per node", field="NODE_COORD_SECTION", path=path) from None
    if coords.ndim != 2 or coords.shape[1] < 2:
        raise InstanceError(f"expected rows 'id x y', got shape {coords.shape}", field="NODE_COORD_SECTION", path=path)
    if coords.shape[0] != n:
        raise InstanceError(f"DIMENSION is {n} but the section has {coords.shape[0]} nodes",
                            field="NODE_COORD_SECTION", path=path)
    if not np.isfinite(coords[:, :2]).all():  # before any distance is computed from them
        node = int(np.flatnonzero(~np.isfinite(coords[:, :2]).all(1))[0]) + 1
        raise InstanceError(f"expected finite coordinates, node {node} has {coords[node - 1, :2].tolist()}",
                            field="NODE_COORD_SECTION", path=path)
    return coords[:, :2]


def _matrix(data: dict[str, Any], weights: str | None, n: int, coords: np.ndarray | None, path: str) -> np.ndarray:
    kind = str(data.get("edge_weight_type", "")).upper()
    if not kind:
        raise InstanceError("missing specification", field="EDGE_WEIGHT_TYPE", path=path)
    if kind == "EXPLICIT":
        if weights is None:
            raise InstanceError("EDGE_WEIGHT_TYPE is EXPLICIT but the section is missing",
                                field="EDGE_WEIGHT_SECTION", path=path)
        fmt = str(data.get("edge_weight_format", "")).upper()
        if not fmt:
            raise InstanceError("missing specification for an EXPLICIT matrix", field="EDGE_WEIGHT_FORMAT", path=path)
        return explicit_matrix(_numbers(weights, "EDGE_WEIGHT_SECTION", path), fmt, n, path)
    if coords is None:
        raise InstanceError(f"EDGE_WEIGHT_TYPE {kind} needs node coordinates", field="NODE_COORD_SECTION", path=path)
    return coordinate_distances(kind, coords, path)


def _display_coords(data: dict[str, Any], n: int) -> np.ndarray | None:
    raw = data.get("display_data")
    try:
        coords = np.asarray(raw, dtype=np.float64) if raw is not None else None
    except (TypeError, ValueError):
        return None
    return coords[:, :2] if coords is not None and coords.ndim == 2 and coords.shape[0] == n else None


def read_instance(path: str | os.PathLike, module: Any = None) -> Instance:
    """Read a TSPLIB or VRPLIB instance file; its TYPE names the problem (see ``nco.data.problems``).

    Every TSPLIB edge-weight type used in practice is computed with its own
    rounding rule; malformed files raise :class:`InstanceError` naming the field.
    ``module``: the data module that builds the instance, instead of the
    registered problem of the file's TYPE (a problem not registered yet).
    """
    path = str(path)
    data, weights = _parse(path)
    n = _dimension(data, path)
    _in_id_order(data, data.pop("_ids"), n, path)
    coords = _coords(data, n, path)
    distance = _matrix(data, weights, n, coords, path)
    coords = coords if coords is not None else _display_coords(data, n)
    name = str(data.get("name", Path(path).stem))
    # The first word is the type: some TSPLIB files add an author, "TSP (M.~HOFMEISTER)".
    kind = str(data.get("type", file_type_of(data))).upper().split(" ")[0]
    module = module or problem_for_file_type(kind, path).data
    return module.from_file(data, distance, coords, name, path)


def _read_tour(path: str) -> list[int]:
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise SolutionError(f"{path}: cannot read the file ({exc})") from None
    upper = text.upper()
    if "TOUR_SECTION" not in upper:
        raise SolutionError(f"{path}: missing TOUR_SECTION")
    body = text[upper.index("TOUR_SECTION") + len("TOUR_SECTION"):].split()
    tour: list[int] = []
    for token in body:
        if token == "-1" or token.upper() == "EOF":
            break
        try:
            tour.append(int(token) - 1)
        except ValueError:
            raise SolutionError(f"{path}: TOUR_SECTION: expected node ids, got {token!r}") from None
    return tour


def read_solution(path: str | os.PathLike) -> tuple[tuple[tuple[int, ...], ...], float | None]:
    """Read a VRPLIB ``.sol`` (routes of customer ids) or a TSPLIB ``.tour``.

    Returns ``(routes, cost)``; the cost is the one the file states, or None.
    A tour comes back as one route rotated to start after node 0.
    """
    path = str(path)
    if path.endswith(".tour"):
        return tour_to_routes(_read_tour(path)), None
    try:
        data = vrplib.read_solution(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise SolutionError(f"{path}: not a valid VRPLIB solution ({exc})") from None
    routes = tuple(tuple(int(c) for c in r) for r in data.get("routes", []))
    if not routes:
        raise SolutionError(f"{path}: no 'Route #k:' lines")
    cost = data.get("cost")
    return routes, None if cost is None else float(cost)


def _atomic_write(path: str, text: str) -> None:
    with atomic_path(path, "solution file") as tmp:
        tmp.write_text(text)


def _cost_text(cost: float) -> str:
    return str(int(cost)) if float(cost).is_integer() else f"{cost:.6f}"


def write_solution(path: str | os.PathLike, instance: Instance, solution: Solution) -> None:
    """Write ``solution`` in its problem's format (a TSPLIB ``.tour``, a VRPLIB ``.sol``), atomically, after
    the checker has confirmed that it solves ``instance`` (a :class:`SolutionError` otherwise) and at the
    cost the checker gives."""
    solution = make_solution(instance, solution.routes, solution.solver, solution.runtime, solution.history,
                             solution.vehicles)
    _atomic_write(str(path), problem_of(instance).data.solution_text(instance, solution, _cost_text(solution.cost)))
