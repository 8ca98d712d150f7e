"""Mutated VRPLIB/TSPLIB files: what a fuzz of the readers feeds them (tests/test_fuzz.py, benchmarks/fuzz.py).

Each file is a small valid one with a few random edits: lines deleted, doubled
or swapped, numbers replaced by hostile values (NaN, infinities, huge or
negative ones, text), sections cut short, bytes flipped. Every outcome must be
a solution the checker accepts or one ``nco`` error; anything else is a bug.
"""

from __future__ import annotations

import random
import traceback
from pathlib import Path

SEEDS = {
    "cvrp.vrp": "NAME : fuzz\nTYPE : CVRP\nDIMENSION : 6\nEDGE_WEIGHT_TYPE : EUC_2D\nCAPACITY : 10\n"
                "NODE_COORD_SECTION\n1 0 0\n2 0 10\n3 10 0\n4 10 10\n5 5 5\n6 7 3\nDEMAND_SECTION\n1 0\n2 4\n"
                "3 2\n4 7\n5 1\n6 3\nDEPOT_SECTION\n1\n-1\nEOF\n",
    "tsp.tsp": "NAME : fuzz\nTYPE : TSP\nDIMENSION : 5\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n"
               "2 3 4\n3 6 0\n4 3 -4\n5 1 1\nEOF\n",
    "explicit.atsp": "NAME : fuzz\nTYPE : ATSP\nDIMENSION : 4\nEDGE_WEIGHT_TYPE : EXPLICIT\n"
                     "EDGE_WEIGHT_FORMAT : FULL_MATRIX\nEDGE_WEIGHT_SECTION\n9999 3 5 4\n2 9999 6 1\n5 3 9999 2\n"
                     "7 1 4 9999\nEOF\n",
    "geo.tsp": "NAME : fuzz\nTYPE : TSP\nDIMENSION : 4\nEDGE_WEIGHT_TYPE : GEO\nNODE_COORD_SECTION\n1 16.47 96.10\n"
               "2 16.47 94.44\n3 20.09 92.54\n4 22.39 93.37\nEOF\n",
}
HOSTILE = ["nan", "inf", "-inf", "-1", "0", "1e400", "99999999999999999999999", "-99999999999999999999", "x",
           "1.5", "", ":", "EOF", "-1 -1", "2**3", "0x10", "1e-400", "NODE_COORD_SECTION", "\x00", "é"]


def mutate(text: str, rng: random.Random) -> bytes:
    """``text`` after one or two random edits."""
    lines = text.splitlines()
    for _ in range(rng.randint(1, 2)):
        kind = rng.randrange(6)
        i = rng.randrange(len(lines)) if lines else 0
        if kind == 0 and lines:
            del lines[i]
        elif kind == 1 and lines:
            lines.insert(i, lines[i])
        elif kind == 2 and len(lines) > 1:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == 3 and lines:
            tokens = lines[i].split(" ")
            tokens[rng.randrange(len(tokens))] = rng.choice(HOSTILE)
            lines[i] = " ".join(tokens)
        elif kind == 4:
            lines = lines[:i]
        else:
            raw = bytearray("\n".join(lines).encode())
            if raw:
                raw[rng.randrange(len(raw))] = rng.randrange(256)
            lines = raw.decode("latin-1").splitlines()
    return ("\n".join(lines) + "\n").encode("latin-1", errors="replace")


def outcome(path: Path) -> str:
    """``solved``, ``refused`` (one ``nco`` error) or ``BUG: ...`` for one file, read and solved by ``nearest``
    (then checked: the solution's cost is the checker's)."""
    import nco
    from nco.data import NcoError, evaluate

    try:
        instance = nco.load(path)
        solution = nco.solve(instance, "nearest", time_limit=5)
    except NcoError as exc:
        message = str(exc)
        if "\n" in message.strip() or not message:
            return f"BUG: a multi-line or empty error: {message!r}"
        return "refused"
    except Exception:  # noqa: BLE001 - anything else is what the fuzz looks for
        return "BUG: " + traceback.format_exc(limit=3)
    if solution.cost != evaluate(instance, solution.routes):
        return "BUG: the reported cost is not the checker's"
    return "solved"


def fuzz(folder: Path, count: int, seed: int = 0) -> dict[str, list[str]]:
    """Write ``count`` mutated files under ``folder`` and sort them by outcome."""
    rng = random.Random(seed)
    found: dict[str, list[str]] = {}
    names = sorted(SEEDS)
    for k in range(count):
        name = names[k % len(names)]
        path = folder / f"{k:05d}-{name}"
        path.write_bytes(mutate(SEEDS[name], rng))
        result = outcome(path)
        found.setdefault("BUG" if result.startswith("BUG") else result, []).append(f"{path.name}: {result}")
    return found
