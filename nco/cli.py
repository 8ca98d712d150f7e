"""The ``nco`` command line."""

from __future__ import annotations

import argparse
import importlib
import sys
import threading
import time

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from nco.data import (DEFAULT_PROBLEM, PROBLEMS, NcoError, Problem, Solution, SolverError, gap, known_value,
                      problem_of, write_solution)
from nco.data.problems import problem_for
from nco.data.cities import bundled_cities, load_city
from nco.data.atomic import check_destination
from nco.data.instances import check_fits
from nco.data.city_build import build_city
from nco.data.osrm import OSRM_VERSION, install_osrm
from nco.solvers import SOLVERS, solvers_for
from nco.solvers.common import check_seed, check_time_limit
from nco.solvers.warmup import warm_up

from . import many
from .api import HYBRIDS, load, solve
from .maps import check_plot_destination, plot_routes
from .train_config import TrainConfig

EXIT_BAD_INPUT = 2


DEMO_CITY = "monaco"  # where `nco solve` without an instance samples its CVRP
DEFAULT_COMPARE = "ortools,neural+ga"  # OR-Tools against nco's best hybrid, unless --solver or --compare says
DEFAULT_CLASSICAL = "ortools,ga"  # where no policy solves the problem: OR-Tools against nco's genetic search


def _solve_with_progress(console: Console, instance, solver: str, time_limit: float, seed: int) -> Solution:
    """Run the solver in a worker thread while a bar shows the time budget being spent."""
    result: dict[str, object] = {}

    def work() -> None:
        try:
            result["solution"] = solve(instance, solver=solver, time_limit=time_limit, seed=seed)
        except BaseException as exc:  # handed back to the main thread
            result["error"] = exc

    worker = threading.Thread(target=work, daemon=True)
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(f"{solver} on {instance.name}", total=time_limit)
        start = time.perf_counter()
        worker.start()
        while worker.is_alive():
            worker.join(0.1)
            bar.update(task, completed=min(time_limit, time.perf_counter() - start))
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["solution"]  # type: ignore[return-value]


def _solvers(args: argparse.Namespace, problem: Problem) -> list[str]:
    """The solvers to run: ``--solver``, or ``--compare``'s list, or the problem's own default comparison, else
    OR-Tools against the best hybrid (the GA where no policy solves ``problem``; of those, what solves it; its
    first solver when none does)."""
    if args.solver and args.compare:
        raise NcoError("give --solver or --compare, not both")
    if args.solver:
        return [args.solver]
    known = ("neural", *HYBRIDS, *SOLVERS) if problem.learned else tuple(solvers_for(problem))
    if args.compare is None:
        default = problem.compare or (DEFAULT_COMPARE if problem.learned else DEFAULT_CLASSICAL)
        return [name for name in default.split(",") if name in known] or [known[0]]
    names = [name.strip() for name in args.compare.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise NcoError(f"--compare: unknown solver {', '.join(map(repr, unknown)) or '(none given)'}; expected "
                       f"a comma-separated list of {', '.join(known)}")
    return list(dict.fromkeys(names))  # each once, in the order given


def _report(console: Console, instance, solutions: list[Solution], reference: float | None) -> None:
    """One row per solution: cost, difference to the first solver's, gap to the known best, time, routes."""
    table = Table(title=f"{instance.name} ({instance.problem.upper()}, {instance.num_nodes} nodes)")
    first = solutions[0]
    columns = ["solver", "cost"] + ([f"vs {first.solver} %"] if len(solutions) > 1 else [])
    columns += (["known best", "gap %"] if reference is not None else []) + ["time s", "routes"]
    for column in columns:
        table.add_column(column, justify="right")
    for solution in solutions:
        row = [solution.solver, f"{solution.cost:.6g}" if solution.cost < 1e6 else f"{solution.cost:.0f}"]
        if len(solutions) > 1:
            row.append(f"{100 * (solution.cost - first.cost) / first.cost:+.2f}" if first.cost else "-")
        if reference is not None:
            g = gap(solution.cost, reference)
            row += [f"{reference:g}", "-" if g is None else f"{g:.2f}"]
        table.add_row(*row, f"{solution.runtime:.2f}", str(solution.num_routes))
    console.print(table)
    best = min(solutions, key=lambda s: s.cost)
    if best.vehicles:
        _report_fleet(console, instance, best)


def _report_fleet(console: Console, instance, solution: Solution) -> None:
    """Every objective term of a fleet's solution and each vehicle's trips, load, distance and time."""
    cost = instance.cost_of(solution.routes, solution.vehicles)
    terms = {"fixed costs": cost.fixed, "distance costs": cost.unit, "total time": float(cost.time.sum()),
             "longest time": cost.longest, "preference": cost.preference}
    shown = ", ".join(f"{name} {value:.6g}" for name, value in terms.items() if value)
    table = Table(title=f"{solution.solver}'s vehicles ({instance.objective} objective {cost.objective:.6g}: "
                        f"{shown})")
    for column in ("vehicle", "capacity", "speed", "trips", "customers", "fullest trip", "distance", "time"):
        table.add_column(column, justify="right")
    for v in range(instance.num_vehicles):
        own = [r for r, k in zip(solution.routes, solution.vehicles) if k == v]
        load = max((int(instance.demand[list(r)].sum()) for r in own), default=0)
        table.add_row(str(v), str(int(instance.capacity[v])), f"{instance.speed[v]:.3g}", str(len(own)),
                      str(sum(len(r) for r in own)), str(load), f"{cost.distance[v]:.4g}", f"{cost.time[v]:.4g}")
    console.print(table)


def _instance(args: argparse.Namespace):
    """The instance to solve, its known best cost (or None) and its street map (or None)."""
    if args.path is not None and (args.city is not None or args.uniform):
        raise NcoError("give an instance file, --city or --uniform, not several")
    if args.path is not None:
        return load(args.path), known_value(args.path), None
    if args.num_nodes < 1:
        raise NcoError(f"--num-nodes: expected at least 1, got {args.num_nodes}")
    check_fits(args.num_nodes + 1, "--num-nodes")
    problem, preset = problem_for(args.problem)
    if problem.presets:  # a fleet: drawn by its preset's own generator
        if args.num_vehicles < 1:
            raise NcoError(f"--num-vehicles: expected at least 1, got {args.num_vehicles}")
        options = {"preset": preset or problem.presets[0], "num_vehicles": args.num_vehicles}
        if args.distribution is not None:
            options["distribution"] = args.distribution
        return problem.random(args.num_nodes, seed=args.seed, **options), None, None
    if args.uniform:
        return problem.random(args.num_nodes, seed=args.seed), None, None
    city = load_city(args.city or DEMO_CITY)
    return city.sample(args.num_nodes, args.problem, args.objective, seed=args.seed), None, city.roads


def _solve_each(console: Console, instance, solvers: list[str], args: argparse.Namespace) -> list[Solution]:
    """Each solver's solution. In a comparison, a solver that cannot answer (a limit too short for it at this
    size, say) gets one ``nco:`` line on stderr and the others still run; alone, or when none answers, its
    error is the command's."""
    solutions, errors = [], []
    for name in solvers:
        try:
            solutions.append(_solve_with_progress(console, instance, name, args.time_limit, args.seed))
        except SolverError as exc:
            if len(solvers) == 1:
                raise
            errors.append(exc)
            print(f"nco: {name}: {exc}", file=sys.stderr)
    if not solutions:
        raise errors[0]
    return solutions


def cmd_solve(args: argparse.Namespace) -> int:
    """``nco solve``: solve a file (or an instance sampled from a bundled city) with one solver or several
    side by side, print the results, write the best solution and draw the routes."""
    console = Console()
    if args.solver and args.compare:
        raise NcoError("give --solver or --compare, not both")
    check_time_limit(args.time_limit), check_seed(args.seed)  # once, not as every solver's own failure
    if args.out:  # before the solve, so that a bad destination loses no work
        check_destination(args.out, "--out")
    if args.plot:
        check_plot_destination(args.plot)
    instance, reference, roads = _instance(args)
    solvers = _solvers(args, problem_of(instance))
    with console.status("loading the Numba kernels (compiled once, about a minute in a fresh install)"):
        warm_up()
    solutions = _solve_each(console, instance, solvers, args)
    _report(console, instance, solutions, reference)
    best = min(solutions, key=lambda s: s.cost)
    if args.out:
        write_solution(args.out, instance, best)
        console.print(f"{best.solver}'s solution written to {args.out}" if len(solutions) > 1
                      else f"solution written to {args.out}")
    if args.plot:
        console.print(f"routes drawn to {plot_routes(instance, solutions, args.plot, roads=roads)}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """``nco train``: train a policy with REINFORCE and print where its checkpoint is."""
    from .training import TrainingInterrupted, fit

    try:
        result = fit(TrainConfig.from_args(args))
    except TrainingInterrupted as stop:
        print(f"nco: {stop}", file=sys.stderr)
        return 130
    if result.get("rank", 0) != 0:  # another DDP rank: rank 0 reports
        return 0
    Console().print(f"policy: {result['policy']}\ncheckpoint: {result['checkpoint']}\n"
                    f"{result['instances_seen']} instances in {result['minutes']} min on {result['device']}, "
                    f"best validation cost {result['val_cost']}")
    print(result["checkpoint"])
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """``nco eval``: decode the Kool test set (or files) with a checkpoint; print cost, gap and time."""
    from .evaluation import evaluate_policy

    r = evaluate_policy(args.checkpoint, instances=args.instances, how=args.decode, augment_factor=args.augment,
                        samples=args.samples, batch_size=args.batch_size, device=args.device, files=args.file)
    table = Table(title=f"{r['policy']} on {r['problem'].upper()}{r['num_nodes']}, {r['instances']} instances")
    for column in ("decode", "mean cost", "reference", "gap %", "time s", "instances/s", "device"):
        table.add_column(column, justify="right")
    reference = "-" if r["reference"] is None else f"{r['reference']:.2f} ({r['reference_source']})"
    gap = "-" if r["gap"] is None else f"{r['gap']:.2f}"
    table.add_row(f"{r['decode']} x{r['augment']}", f"{r['mean_cost']:.4f}", reference, gap,
                  f"{r['seconds']:.2f}", f"{r['per_second']:.0f}", r["device"])
    console = Console()
    console.print(table)
    if r["reference"] is not None and not r["full_test_set"]:
        console.print("the reference is the published mean over all 10,000 test instances: "
                      "the gap of a subset is approximate")
    return 0


def cmd_install_osrm(args: argparse.Namespace) -> int:
    """``nco data install-osrm``: put OSRM's binaries in place and say where."""
    home = install_osrm(force=args.force)
    print(f"OSRM {OSRM_VERSION}: {home / 'bin'}")
    return 0


def cmd_build_city(args: argparse.Namespace) -> int:
    """``nco data build-city``: build a city file and summarise it."""
    started = time.perf_counter()
    city = build_city(args.pbf, args.name, args.points, args.out, profile=args.profile, seed=args.seed,
                      port=args.port, progress=sys.stderr.isatty())
    asym = float(np.mean(np.abs(city.distance - city.distance.T)) / max(1e-9, float(np.mean(city.distance))))
    print(f"{args.out}: {city.size} points of {args.name}, mean distance {float(city.distance.mean()):.0f} m, "
          f"mean duration {float(city.duration.mean()):.0f} s, asymmetry {100 * asym:.1f}% "
          f"({time.perf_counter() - started:.1f} s)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``nco`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="nco", description="Neural and classical routing optimization: solve "
                                f"{', '.join(p.title for p in PROBLEMS.values())} instances.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("solve", help="solve an instance file (TSPLIB/VRPLIB) or one sampled from a bundled city",
                       description="Solve a TSPLIB or VRPLIB instance file, or without PATH an instance sampled "
                                   f"from a real city ({DEMO_CITY} unless --city), with OR-Tools and nco's best "
                                   "hybrid side by side (or --solver / --compare), each for the time limit, and "
                                   "print cost, difference, gap to the known optimum/BKS (when one is found "
                                   "beside the file), time and routes.")
    p.add_argument("path", nargs="?", metavar="PATH", help=f"instance file; omit to sample one from {DEMO_CITY}")
    solvers = f"neural, {', '.join(HYBRIDS)}, {', '.join(SOLVERS)}"
    p.add_argument("--solver", default=None, help=f"run this one solver: {solvers}")
    p.add_argument("--compare", default=None, metavar="S1,S2,...",
                   help=f"run these solvers in turn, each for the time limit (default: {DEFAULT_COMPARE})")
    p.add_argument("--time-limit", type=float, default=10.0, metavar="S",
                   help="wall-clock seconds per solver (default: 10)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--out", metavar="FILE",
                   help="write the (best) solution in its problem's format (a VRPLIB .sol, a TSPLIB .tour)")
    presets = tuple(preset for spec in PROBLEMS.values() for preset in spec.presets)
    routing = tuple(name for name, spec in PROBLEMS.items() if spec.cli is None)  # the rest have own commands
    p.add_argument("--problem", choices=routing + presets, default=DEFAULT_PROBLEM,
                   help=f"problem of a sampled instance (default: {DEFAULT_PROBLEM}); {', '.join(presets)}: "
                        "a profiled fleet drawn by that preset's generator")
    p.add_argument("--num-vehicles", type=int, default=3, metavar="M",
                   help="vehicles of a sampled fleet (default: 3)")
    p.add_argument("--distribution", default=None,
                   help="of a sampled fleet's preferences or zones: random, pi or cluster (default: random)")
    p.add_argument("--num-nodes", type=int, default=100, metavar="N",
                   help="size of a sampled instance: customers or cities, as the problem counts them (default: 100)")
    p.add_argument("--city", metavar="NAME|FILE.npz",
                   help=f"sample an asymmetric instance from this city: {', '.join(bundled_cities())} or a file "
                        f"of `nco data build-city` (default: {DEMO_CITY})")
    p.add_argument("--uniform", action="store_true",
                   help="sample a Euclidean instance in the unit square (Kool et al.'s distribution) instead")
    p.add_argument("--objective", choices=("distance", "duration"), default="distance",
                   help="of a city instance: minimise metres or seconds (default: distance)")
    p.add_argument("--plot", metavar="FILE.png",
                   help="draw each solver's routes side by side (over the street map for a city instance)")
    p.set_defaults(func=cmd_solve)

    many.add_parser(sub)  # nco solve-many: instances over Ray

    for spec in PROBLEMS.values():  # a problem's own commands (nco solve-network)
        if spec.cli is not None:
            importlib.import_module(spec.cli).add_parser(sub)

    d = sub.add_parser("data", help="real-city data: install OSRM, build a city's distance/duration matrices")
    data_sub = d.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    i = data_sub.add_parser("install-osrm", help=f"fetch OSRM {OSRM_VERSION}'s binaries (pinned wheel, sha256 "
                                                 "checked) into the cache folder")
    i.add_argument("--force", action="store_true", help="install again even if present")
    i.set_defaults(func=cmd_install_osrm)
    b = data_sub.add_parser("build-city", help="distance and duration matrices of a city from an OSM extract",
                            description="Run OSRM's extract/partition/customize on the extract, serve it on "
                                        "127.0.0.1, pick road points spread over the city, query every pair "
                                        "and write an .npz (coords, distance m, duration s, metadata).")
    b.add_argument("pbf", metavar="OSM.pbf")
    b.add_argument("--name", required=True)
    b.add_argument("--points", type=int, default=1000, metavar="N", help="points (default 1000)")
    b.add_argument("--out", required=True, metavar="FILE.npz")
    b.add_argument("--profile", default="car", help="car, bicycle, foot or a .lua file (default car)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--port", type=int, default=None, help="port for osrm-routed (default: a free one)")
    b.set_defaults(func=cmd_build_city)

    t = sub.add_parser("train", help="train a policy with REINFORCE (Lightning) and print its checkpoint",
                       description="Train an attention model (am), POMO (pomo), matrix-aware POMO (matrix), "
                                   "pointer network (ptrnet) or, for fleets, CAMP (camp) on instances generated on "
                                   "the fly; writes "
                                   "checkpoints, CSV and TensorBoard logs and OUT/policy.pt, and prints the "
                                   "checkpoint path.")
    t.add_argument("problem", choices=tuple(name for spec in PROBLEMS.values() if spec.learned
                                            for name in (spec.name, *spec.presets)))
    t.add_argument("--config", default=None, metavar="FILE.yaml", help="options as YAML; flags override it")
    TrainConfig.add_arguments(t)
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("eval", help="evaluate a checkpoint on the Kool test set: mean cost, gap, time",
                       description="Decode the first K instances of Kool et al.'s test set (seed 1234) for the "
                                   "checkpoint's problem and size, or the given files, and print the mean cost, "
                                   "the gap to the published reference and the time.")
    e.add_argument("checkpoint", metavar="CKPT", help="a policy.pt or a Lightning checkpoint of nco train")
    e.add_argument("--instances", type=int, default=1000, metavar="K", help="test instances (default 1000)")
    e.add_argument("--decode", choices=("greedy", "sample", "multistart"), default="multistart")
    e.add_argument("--augment", type=int, choices=(1, 8), default=1, help="8: also decode the 8 symmetric copies")
    e.add_argument("--samples", type=int, default=16, help="rollouts per instance with --decode sample")
    e.add_argument("--batch-size", type=int, default=None)
    e.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    e.add_argument("--file", nargs="+", default=None, help="instance files of one size instead of the test set")
    e.set_defaults(func=cmd_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``nco`` command; bad input prints one line and exits with status 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except NcoError as exc:
        print(f"nco: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("nco: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
