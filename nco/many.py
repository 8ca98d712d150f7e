"""Many instances over Ray: ``nco.solve_many`` and ``nco solve-many``.

Each instance (a TSPLIB/VRPLIB file, or one drawn by a problem's generator) is one Ray task that runs
:func:`nco.solve` on one core and returns a row: the cost, the routes (checked by the solver's checker),
the seconds and the worker, or the instance's one-line error. The driver alone writes the output CSV, one
row as each task finishes, flushed to disk, so that:

- an interrupted run resumes where it stopped (the instances already in the file are skipped; a half-written
  last line is dropped), and only for the same inputs, solver, time limit and seed (the run's record beside
  the file, ``<out>.run.json``, says which; another run's file is refused);
- a task whose worker dies is retried by Ray on another worker, and the driver writes each instance once.

Ray is local by default (``workers`` processes, one core each) or an existing cluster by ``address``
(``ray start --head`` on one machine, ``ray start --address HEAD:6379`` on the others, nco installed on
each; then ``nco solve-many ... --address HEAD:6379``).
"""

from __future__ import annotations

import argparse
import csv
import glob
import hashlib
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nco.data import PROBLEMS, NcoError
from nco.data.atomic import atomic_path, check_destination
from nco.data.problems import problem_for
from nco.solvers.common import check_seed, check_time_limit

# what a directory given as input is searched for: VRPLIB's .vrp and each registered file type's own suffix
SUFFIXES = (".vrp", *sorted({f".{t.lower()}" for p in PROBLEMS.values() for t in getattr(p.data, "FILE_TYPES", ())}))
COLUMNS = ("key", "instance", "problem", "solver", "time_limit", "seed", "cost", "routes", "vehicles",
           "seconds", "error", "worker")
GENERATED = "generate:"  # a key of a drawn instance: generate:PROBLEM:SIZE:SEED
RETRIES = 3  # Ray's retries of a task whose worker died


def instance_keys(inputs: Sequence[str | os.PathLike] = (), generate: str | None = None,
                  seed: int = 0) -> list[str]:
    """The instances of a run, each as its key: every file named, every file with one of :data:`SUFFIXES` in a
    directory named, every file a glob pattern matches (resolved, sorted, each once), then ``generate``'s
    drawn instances (``PROBLEM:SIZE:COUNT``, PROBLEM a problem or preset of ``nco solve --problem``: seeds
    ``seed`` .. ``seed + COUNT - 1``)."""
    files: list[Path] = []
    for given in inputs:
        text = str(given)
        path = Path(text)
        if path.is_dir():
            files += [f for f in path.iterdir() if f.suffix.lower() in SUFFIXES and f.is_file()]
        elif path.is_file():
            files.append(path)
        elif glob.has_magic(text):
            matched = [Path(m) for m in glob.glob(text, recursive=True) if Path(m).is_file()]
            if not matched:
                raise NcoError(f"{text}: the pattern matches no file")
            files += matched
        else:
            raise NcoError(f"{text}: no such file or directory")
    keys = sorted({str(f.resolve()) for f in files})
    keys += _generated(generate, seed) if generate else []
    if not keys:
        raise NcoError("no instances: give files, directories or patterns, or --generate PROBLEM:SIZE:COUNT")
    return keys


def _generated(spec: str, seed: int) -> list[str]:
    """The keys of ``PROBLEM:SIZE:COUNT``'s drawn instances, checked."""
    parts = spec.split(":")
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise NcoError(f"--generate {spec}: expected PROBLEM:SIZE:COUNT (a problem or preset of nco solve --problem, "
                       f"the size, how many), e.g. {next(iter(PROBLEMS))}:100:50")
    problem_for(parts[0])  # the name checked here, not in every task
    size, count = int(parts[1]), int(parts[2])
    if size < 1 or count < 1:
        raise NcoError(f"--generate {spec}: expected a size and a count of at least 1")
    return [f"{GENERATED}{parts[0]}:{size}:{seed + k}" for k in range(count)]


def solve_key(key: str, solver: str, time_limit: float, seed: int) -> dict[str, Any]:
    """One instance's row: solved by :func:`nco.solve` (the solution checked), or its one-line error;
    ``seconds`` the solve's wall-clock, the kernels' first load in a worker not counted."""
    from nco.api import load, solve
    from nco.solvers.warmup import warm_up

    warm_up()

    row: dict[str, Any] = {"key": key, "instance": "", "problem": "", "solver": solver, "time_limit": time_limit,
                           "seed": seed, "cost": "", "routes": "", "vehicles": "", "seconds": "", "error": "",
                           "worker": f"{socket.gethostname()}:{os.getpid()}"}
    started = time.perf_counter()
    try:
        instance = _draw(key) if key.startswith(GENERATED) else load(key)
        row |= {"instance": instance.name, "problem": instance.problem}
        started = time.perf_counter()
        solution = solve(instance, solver=solver, time_limit=time_limit, seed=seed)
        row |= {"cost": f"{solution.cost:.10g}", "routes": json.dumps([list(r) for r in solution.routes]),
                "vehicles": json.dumps(list(solution.vehicles)) if solution.vehicles else ""}
    except Exception as exc:  # the row records any instance's failure; the run goes on
        row["error"] = " ".join(f"{type(exc).__name__}: {exc}".split())
    row["seconds"] = f"{time.perf_counter() - started:.3f}"
    return row


def _draw(key: str) -> Any:
    """The instance of a ``generate:PROBLEM:SIZE:SEED`` key."""
    name, size, seed = key[len(GENERATED):].split(":")
    problem, preset = problem_for(name)
    options = {"preset": preset} if preset else {}
    return problem.random(int(size), seed=int(seed), **options)


def _record(keys: list[str], solver: str, time_limit: float, seed: int) -> dict[str, Any]:
    """What a run is: its solver, time limit, seed and inputs (their count and a digest of their keys)."""
    digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()
    return {"solver": solver, "time_limit": time_limit, "seed": seed, "instances": len(keys), "keys_sha256": digest}


def _resume(out: Path, record: dict[str, Any]) -> set[str]:
    """The keys already in ``out`` (none for a new file), after checking the file is this run's; a half-written
    last line (an interrupted write) is dropped, through a temporary file renamed over ``out``."""
    sidecar = out.with_name(out.name + ".run.json")
    if not out.exists() or out.stat().st_size == 0:
        with atomic_path(sidecar, "--out") as tmp:
            tmp.write_text(json.dumps(record, indent=1) + "\n")
        return set()
    if not sidecar.is_file():
        raise NcoError(f"--out {out}: exists and was not written by nco solve-many (no {sidecar.name}); "
                       "expected a new file or one of the same run")
    theirs = json.loads(sidecar.read_text())
    differ = [k for k in record if theirs.get(k) != record[k]]
    if differ:
        said = ", ".join(f"{k} {theirs.get(k)!r} there, {record[k]!r} here" for k in differ)
        raise NcoError(f"--out {out}: holds another run ({said}); expected the same inputs to resume")
    text = out.read_text()
    if not text.endswith("\n"):  # the last row was cut mid-write: that instance is solved again
        with atomic_path(out, "--out") as tmp:
            tmp.write_text(text[: text.rfind("\n") + 1])
    with out.open(newline="") as f:
        return {row["key"] for row in csv.DictReader(f)}


def _connect(address: str | None, workers: int | None) -> bool:
    """Start a local Ray (``workers`` cores) or join ``address``; True when this call started it."""
    import ray

    if address is not None:
        _check_reachable(address)
    if ray.is_initialized():  # the caller's own Ray (a test's, a notebook's): used as it is
        return False
    try:
        if address is None:
            ray.init(num_cpus=workers or os.cpu_count(), include_dashboard=False, log_to_driver=False,
                     object_store_memory=256 * 2**20)
        else:
            ray.init(address=address, log_to_driver=False)
    except (ConnectionError, RuntimeError) as exc:
        raise NcoError(f"--address {address}: could not start or join Ray ({' '.join(str(exc).split())})") from None
    return True


def _check_reachable(address: str) -> None:
    """A ``HOST:PORT`` (or ``ray://HOST:PORT``) that answers within 5 s, else one clear error."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise NcoError(f"--address {address}: expected HOST:PORT (the head node's, e.g. 10.0.0.1:6379) or auto")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise NcoError(f"--address {address}: no Ray head answers there ({exc.strerror or exc})") from None


def solve_many(inputs: Sequence[str | os.PathLike] = (), solver: str = "ga", time_limit: float = 10.0,
               out: str | os.PathLike = "results.csv", seed: int = 0, generate: str | None = None,
               address: str | None = None, workers: int | None = None, progress: bool = True,
               on_row: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """Solve every instance of ``inputs`` and ``generate`` (see :func:`instance_keys`) with ``solver`` for
    ``time_limit`` seconds each over Ray, streaming one row per instance to the CSV ``out`` (resumed when it
    holds the same run); ``on_row`` sees each row as it is written. Returns the path of ``out``."""
    time_limit, seed = check_time_limit(time_limit), check_seed(seed)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise NcoError(f"--workers: expected at least 1 worker, got {workers!r}")
    target = check_destination(out, "--out")
    if target.suffix.lower() != ".csv":
        raise NcoError(f"--out {out}: expected a .csv file")
    keys = instance_keys(inputs, generate, seed)
    done = _resume(target, _record(keys, solver, time_limit, seed))
    todo = [k for k in keys if k not in done]
    if todo:
        _run(todo, solver, time_limit, seed, target, address, workers, progress, on_row)
    return target


def _run(todo: list[str], solver: str, time_limit: float, seed: int, out: Path, address: str | None,
         workers: int | None, progress: bool, on_row: Callable[[dict[str, Any]], None] | None) -> None:
    """Submit every task, write each row as it arrives (each key once), shut a Ray this call started."""
    import ray
    from rich.progress import Progress

    started = _connect(address, workers)
    try:
        task = ray.remote(num_cpus=1, max_retries=RETRIES)(solve_key)
        pending = {task.remote(k, solver, time_limit, seed): k for k in todo}
        written: set[str] = set()
        new = not out.exists() or out.stat().st_size == 0
        with out.open("a", newline="") as f, Progress(disable=not progress, transient=True) as bar:
            writer = csv.DictWriter(f, COLUMNS)
            if new:
                writer.writeheader()
            job = bar.add_task(f"{solver}, {time_limit:g} s each", total=len(todo))
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                key = pending.pop(ready[0])
                row = _result(ready[0], key, solver, time_limit, seed)
                if key in written:  # cannot happen with one driver; guarded so the file never repeats one
                    continue
                writer.writerow(row)
                f.flush()
                os.fsync(f.fileno())
                written.add(key)
                bar.advance(job)
                if on_row is not None:
                    on_row(row)
    finally:
        if started:
            ray.shutdown()


def _result(ref: Any, key: str, solver: str, time_limit: float, seed: int) -> dict[str, Any]:
    """A finished task's row, or (its retries spent on dead workers) a row saying so."""
    import ray

    try:
        return ray.get(ref)
    except ray.exceptions.RayError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return {"key": key, "solver": solver, "time_limit": time_limit, "seed": seed,
                "error": f"{type(exc).__name__} after {RETRIES} retries: {first}"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    """``nco solve-many``'s arguments."""
    m = sub.add_parser("solve-many", help="solve many instance files (or drawn instances) over Ray into a CSV",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    m.add_argument("inputs", nargs="*", metavar="INPUT",
                   help=f"instance files, directories (their {'/'.join(SUFFIXES)} files) or glob patterns (quoted)")
    m.add_argument("--generate", default=None, metavar="PROBLEM:SIZE:COUNT",
                   help="also COUNT instances drawn by PROBLEM's generator (seeds from --seed); "
                        "PROBLEM: a problem or preset of nco solve --problem")
    m.add_argument("--solver", default="ga", help="the solver of nco solve (default ga)")
    m.add_argument("--time-limit", type=float, default=10.0, metavar="S", help="seconds per instance (default 10)")
    m.add_argument("--seed", type=int, default=0, help="the solver's seed, and the first drawn one (default 0)")
    m.add_argument("--out", default="results.csv", metavar="FILE.csv",
                   help="the rows, one per instance as it finishes; a file of the same run resumes")
    m.add_argument("--workers", type=int, default=None, help="local Ray's worker processes (default: all cores)")
    m.add_argument("--address", default=None, metavar="HOST:PORT",
                   help="an existing Ray cluster's head (ray start --head) instead of a local Ray")
    m.set_defaults(func=cmd_solve_many)


def cmd_solve_many(args: argparse.Namespace) -> int:
    """``nco solve-many``: the run, then one line on what the file holds."""
    out = solve_many(args.inputs, args.solver, args.time_limit, args.out, args.seed, args.generate, args.address,
                     args.workers)
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    failed = sum(1 for r in rows if r["error"])
    print(f"{len(rows)} instances in {out} ({len(rows) - failed} solved, {failed} failed: see their error column)",
          file=sys.stdout)
    return 1 if failed else 0
