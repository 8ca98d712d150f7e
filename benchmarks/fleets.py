"""Profiled fleets against their references: HFVRP (gap to BKS), HCVRP and PVRP, OR-Tools and PyVRP at equal time.

    python benchmarks/fleets.py hfvrp --seconds 10          # the 43 shared HFVRP files
    python benchmarks/fleets.py hfvrp --per-customer 2.4    # PyVRP's own limit: 2.4 s per customer
    python benchmarks/fleets.py hcvrp --seconds 2 --per-set 128  # the first instances of the 12 HCVRP sets
    python benchmarks/fleets.py hcvrp --seconds 2 --per-set 8 --objective min-sum --solvers ga ortools pyvrp
    python benchmarks/fleets.py pvrp --seconds 2 --per-set 8 --solvers insertion ortools ga pyvrp  # CAMP's grid
    python benchmarks/fleets.py hcvrp-neural                  # the shipped policy on all 1,280 of each set
    python benchmarks/fleets.py hcvrp --seconds 1 --per-set 128 --solvers ga neural+ga  # seeding, paired
    python benchmarks/fleets.py plot                          # results/fleets.png from the results files

Each (instance, solver) is one task on one core, two at a time on this 2-core
machine, so that solvers compared at the same limit run side by side. Every
cost is the fleet checker's, on unrounded Euclidean distances (PyVRP solves
on integers: the HFVRP files x 1000, HCVRP and PVRP costs x 10^4, rounded;
its routes are re-costed here). PyVRP has no min-max objective, so it is a
reference for HFVRP, HCVRP min-sum and PVRP only. Rows are appended to
``results/fleets_<part>.csv`` as they finish (a rerun skips what is there);
the tables go to ``results/fleets_<part>.md``.
"""

from __future__ import annotations

import argparse
import csv
import functools
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, SHARED, append_row, machine, markdown_table, read_rows  # noqa: E402

HFVRP = SHARED / "hetero/hfvrp"
HCVRP = SHARED / "hetero/hcvrp"
PYVRP_SCALE = 10_000  # HCVRP and PVRP costs (unit square, speeds 0.5-1) in PyVRP's integers
HFVRP_SOLVERS = ["ga", "ortools", "pyvrp"]
BARRED = 1_000.0  # PVRP-ZC: the price of entering a customer outside a vehicle's zones (a trip costs < 10)


def _pyvrp_fleet(path: str, instance, seconds: float) -> tuple[list[list[int]], list[int]]:
    """PyVRP's own reading and HGS on an HFVRP file; each route given to one of our vehicles of its type."""
    import pyvrp
    from pyvrp.stop import MaxRuntime

    data = pyvrp.read(path, round_func="exact")  # x 1000, capacities and costs too
    result = pyvrp.solve(data, stop=MaxRuntime(seconds), seed=0, display=False)
    free = {}  # vehicle type -> our vehicles of that type not yet given a route
    types = data.vehicle_types()
    for t, kind in enumerate(types):
        free[t] = [k for k in range(instance.num_vehicles) if int(instance.capacity[k]) * 1000 == kind.capacity[0]
                   and round(instance.fixed_cost[k] * 100 * 1000) == kind.fixed_cost
                   and round(instance.unit_cost[k] * 100) == kind.unit_distance_cost]
    trips = _pyvrp_trips(result)  # one per route: these fleets do not reload
    return [trip for trip, _ in trips], [free[kind].pop(0) for _, kind in trips]


def _pyvrp_trips(result) -> list[tuple[list[int], int]]:
    """A PyVRP result's trips in our node numbers, each with its route's vehicle type; a route that reloads
    at the depot is one trip per load."""
    trips = []
    for route in result.best.routes():
        trip: list[int] = []
        for activity in route:
            if activity.is_client():
                trip.append(int(activity.idx) + 1)
            elif trip:  # a reload: the trip ends
                trips.append((trip, route.vehicle_type()))
                trip = []
        if trip:
            trips.append((trip, route.vehicle_type()))
    return trips


def _hfvrp_task(path: str, solver: str, seconds: float) -> dict:
    import time

    from nco.data import make_solution, pvrp
    from nco.data.vrplib_io import read_instance
    from nco.solvers.pvrp import SOLVERS
    from nco.solvers.warmup import warm_up

    warm_up()
    from nco.data import NcoError

    instance = read_instance(path, pvrp)
    started = time.perf_counter()
    cost, note = "", ""
    try:
        if solver == "pyvrp":
            routes, vehicles = _pyvrp_fleet(path, instance, seconds)
            cost = round(make_solution(instance, routes, vehicles=vehicles).cost, 4)
        else:
            cost = round(SOLVERS[solver](instance, time_limit=seconds).cost, 4)
    except NcoError as exc:  # recorded: a solver that finds nothing is a result too
        note = str(exc)
    return {"instance": instance.name, "solver": solver, "seconds": seconds, "cost": cost,
            "wall_s": round(time.perf_counter() - started, 2), "note": note, "machine": machine()}


def _pyvrp_profiled(instance, seconds: float) -> tuple[list[list[int]], list[int]]:
    """PyVRP's HGS on a min-sum fleet that reloads (HCVRP min-sum, PVRP-P, PVRP-ZC): one vehicle type per
    vehicle, each with its own arc costs (``PYVRP_SCALE`` x, rounded):

    ``cost_v(i, j) = rate_v d(i, j) - credit_v(j) + max_w credit_w(j)``, ``rate_v = unit cost + time weight /
    speed``, ``credit_v(j)`` the preference weight times v's preference for customer j (0 into the depot).
    Each customer is entered once, so the ``max_w`` term adds the same constant to every solution and keeps
    costs >= 0 (PyVRP's are). A customer that v may not serve costs ``BARRED`` more to enter on v's profile:
    PyVRP has no per-client vehicle restriction, so the zones are a price it avoids, and the checker that
    re-costs its routes counts any it did not. Its routes are split into trips at the reloads."""
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime

    model = Model()
    places = [model.add_location(x=float(x), y=float(y)) for x, y in instance.coords]
    depot = model.add_depot(places[0])
    for c in range(1, instance.num_nodes):
        model.add_client(places[c], delivery=[int(instance.demand[c])])
    n = instance.num_nodes
    credit = np.zeros((instance.num_vehicles, n))
    credit[:, 1:] = instance.preference_weight * np.asarray(instance.preference)
    barred = ~instance.node_mask()
    for v in range(instance.num_vehicles):
        profile = model.add_profile()
        model.add_vehicle_type(capacity=[int(instance.capacity[v])], start_depot=depot, end_depot=depot,
                               reload_depots=[depot], profile=profile,
                               fixed_cost=int(round(instance.fixed_cost[v] * PYVRP_SCALE)))
        rate = instance.unit_cost[v] + instance.time_weight / instance.speed[v]
        enter = credit.max(0) - credit[v] + BARRED * barred[v]  # added to every arc into each node
        costs = np.rint((rate * instance.distance + enter[None, :]) * PYVRP_SCALE).astype(np.int64)
        for i in range(n):
            for j in range(n):
                if i != j:
                    model.add_edge(places[i], places[j], distance=int(costs[i, j]), profile=profile)
    result = model.solve(stop=MaxRuntime(seconds), seed=0, display=False)
    trips = _pyvrp_trips(result)  # vehicle type v is our vehicle v
    return [trip for trip, _ in trips], [kind for _, kind in trips]


@functools.lru_cache(maxsize=2)
def _hcvrp_set(path: str, objective: str) -> list:
    """A set's 1,280 instances, read once per worker (1.5 s a read: as long as most solves' limit)."""
    from nco.data import pvrp

    return pvrp.read_hcvrp_set(path, objective)


def _hcvrp_task(path: str, index: int, objective: str, solver: str, seconds: float) -> dict:
    import time

    from nco.data import make_solution
    from nco.solvers.pvrp import SOLVERS
    from nco.solvers.warmup import warm_up

    warm_up()
    instance = _hcvrp_set(path, objective)[index]
    started = time.perf_counter()
    if solver == "pyvrp":
        routes, vehicles = _pyvrp_profiled(instance, seconds)
        cost = make_solution(instance, routes, vehicles=vehicles).cost
    elif solver.startswith("neural"):  # the shipped policy, alone or seeding a refiner (nco.solve's own path)
        import nco

        cost = nco.solve(instance, solver=solver, time_limit=seconds).cost
    else:
        cost = SOLVERS[solver](instance, time_limit=seconds).cost
    return {"set": Path(path).stem, "index": index, "solver": solver, "seconds": seconds, "cost": round(cost, 5),
            "wall_s": round(time.perf_counter() - started, 2), "machine": machine()}


def _pvrp_task(preset: str, pattern: str, n: int, m: int, index: int, solver: str, seconds: float) -> dict:
    import time

    from nco.data import pvrp
    from nco.solvers.pvrp import SOLVERS
    from nco.solvers.warmup import warm_up

    warm_up()
    from nco.data import SolutionError

    instance = pvrp.random_pvrp(n, m, preset, pattern, seed=index)
    started = time.perf_counter()
    if solver == "pyvrp":
        routes, vehicles = _pyvrp_profiled(instance, seconds)
    else:
        if solver.startswith("neural"):  # the shipped policy of the preset, alone or seeding a refiner
            import nco

            solution = nco.solve(instance, solver=solver, time_limit=seconds)
        else:
            solution = SOLVERS[solver](instance, time_limit=seconds)
        routes, vehicles = solution.routes, solution.vehicles
    row = {"preset": preset, "pattern": pattern, "n": n, "m": m, "index": index, "solver": solver,
           "seconds": seconds, "wall_s": round(time.perf_counter() - started, 2), "machine": machine()}
    try:
        cost = instance.cost_of(routes, vehicles)
    except SolutionError as exc:  # PyVRP prices the zones but cannot forbid them: recorded, not averaged
        return row | {"cost": "", "note": str(exc)}
    return row | {"cost": round(cost.objective, 5), "time": round(float(cost.time.sum()), 5),
                  "preference": round(cost.preference, 5)}


def _run(tasks: list[tuple], work, csv_path: Path, done: set) -> None:
    from rich.progress import track

    todo = [t for t in tasks if t[:-1] not in done]
    with ProcessPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(work, *t) for t in todo]
        for future in track(as_completed(futures), total=len(futures), description="fleets"):
            append_row(csv_path, future.result())


def _hfvrp_limit(path: str, per_customer: float | None, seconds: float) -> float:
    """The time limit of one file: ``per_customer`` x its customers (PyVRP's benchmark rule is 2.4 s per
    customer on its reference CPU), else ``seconds``."""
    if per_customer is None:
        return seconds
    with open(path) as text:
        dimension = next(int(line.split(":")[1]) for line in text if line.startswith("DIMENSION"))
    return round(per_customer * (dimension - 1), 1)


def hfvrp(args: argparse.Namespace) -> str:
    csv_path = args.out / f"fleets_hfvrp{args.suffix}.csv"
    files = sorted(str(p) for p in HFVRP.glob("*.vrp") if not args.instances or p.stem in args.instances)
    done = {(str(HFVRP / f"{r['instance']}.vrp"), r["solver"]) for r in read_rows(csv_path)}
    tasks = [(f, s, _hfvrp_limit(f, args.per_customer, args.seconds)) for f in files for s in args.solvers]
    _run(tasks, _hfvrp_task, csv_path, done)
    with open(HFVRP / "hfvrp_bks.csv") as table:
        bks = {r["instance"]: float(r["bks_recomputed_original_units"]) for r in csv.DictReader(table)}
    rows = read_rows(csv_path)
    solvers = [s for s in args.solvers if any(r["solver"] == s for r in rows)]
    gaps = {s: {r["instance"]: 100 * (float(r["cost"]) / bks[r["instance"]] - 1) for r in rows
                if r["solver"] == s and r["cost"]} for s in solvers}
    names = sorted({r["instance"] for r in rows})
    both = [n for n in names if all(n in gaps[s] for s in solvers)]  # the means over what every solver solved
    body = [[n, f"{bks[n]:.2f}", *[f"{gaps[s][n]:.2f}" if n in gaps[s] else "none" for s in solvers]]
            for n in names]
    means = [f"**{np.mean([gaps[s][n] for n in both]):.2f}** ({len(gaps[s])}/{len(names)} solved)"
             for s in solvers]
    table = markdown_table(["instance", "BKS", *[f"{s} gap %" for s in solvers]],
                           body + [[f"mean over the {len(both)} all solved", "", *means]])
    variants = sorted({n.split("-")[1] for n in both})  # FSMF, FSMD, FSMFD: unlimited fleets; HVRP, HD: limited
    table += "\n\nBy variant, mean gap % over the files every solver solved:\n\n" + markdown_table(
        ["variant", "files", *solvers],
        [[v, str(len(of)), *[f"{np.mean([gaps[s][n] for n in of]):.2f}" for s in solvers]]
         for v in variants for of in [[n for n in both if n.split("-")[1] == v]]])
    limit = f"{args.per_customer:g} s per customer" if args.per_customer else f"{args.seconds:g} s"
    flag = f"--per-customer {args.per_customer:g}" if args.per_customer else f"--seconds {args.seconds:g}"
    flag += f" --solvers {' '.join(args.solvers)}" if args.solvers != HFVRP_SOLVERS else ""
    flag += f" --instances {' '.join(args.instances)}" if args.instances else ""
    flag += f" --tag {args.tag}" if args.tag else ""
    return (f"# HFVRP: gap to the best-known solutions at {limit}\n\n`python benchmarks/fleets.py hfvrp {flag}` "
            f"on {machine()}, one core per run.\n\n{table}\n")


def hcvrp(args: argparse.Namespace) -> str:
    csv_path = args.out / f"fleets_hcvrp{_hcvrp_suffix(args)}.csv"
    sets = sorted(str(p) for p in HCVRP.glob("hcvrp_v*_seed24610.npz"))
    done = {(str(HCVRP / f"{r['set']}.npz"), int(r["index"]), args.objective, r["solver"])
            for r in read_rows(csv_path)}
    tasks = [(f, i, args.objective, s, args.seconds) for f in sets for i in range(args.per_set) for s in args.solvers]
    _run(tasks, _hcvrp_task, csv_path, done)
    rows = [r for r in read_rows(csv_path) if int(r["index"]) < args.per_set]
    solvers = [s for s in args.solvers if any(r["solver"] == s for r in rows)]
    body = []
    for name in sorted({r["set"] for r in rows}, key=lambda n: (int(n.split("_")[1][1:]), int(n.split("_")[2]))):
        cells = [np.mean([float(r["cost"]) for r in rows if r["set"] == name and r["solver"] == s]) for s in solvers]
        body.append([name.replace("_seed24610", ""), *[f"{c:.3f}" for c in cells]])
    table = markdown_table(["set (vehicles, customers)", *[f"{s} mean {args.objective}" for s in solvers]], body)
    if "neural+ga" in solvers and "ga" in solvers:
        table += "\n\n" + _paired(rows, "neural+ga", "ga")
    flag = "" if args.objective == "min-max" else " --objective min-sum"
    flag += f" --solvers {' '.join(args.solvers)}" if args.solvers != ["insertion", "ortools", "ga"] else ""
    return (f"# HCVRP ({args.objective}): the first {args.per_set} instances of each set at {args.seconds:g} s\n\n"
            f"`python benchmarks/fleets.py hcvrp --seconds {args.seconds:g} --per-set {args.per_set}{flag}` on "
            f"{machine()}, one core per run.\n\n{table}\n")


def _hcvrp_suffix(args: argparse.Namespace) -> str:
    """The HCVRP results' file suffix: the objective when min-sum, the limit when not the 2 s of the tables."""
    return ("" if args.objective == "min-max" else "_min-sum") + ("" if args.seconds == 2 else f"_{args.seconds:g}s")


def _paired(rows: list[dict], first: str, second: str, keys: tuple[str, ...] = ("set",), what: str = "") -> str:
    """``first`` minus ``second`` per instance (the same instances, the same limit; an instance is its ``keys``
    columns and its index): the mean difference, its standard error and the counts either way."""
    by = {(*(r[k] for k in keys), int(r["index"]), r["solver"]): float(r["cost"]) for r in rows if r["cost"]}
    diff = np.array([by[k] - by[(*k[:-1], second)] for k in by if k[-1] == first and (*k[:-1], second) in by])
    if not len(diff):
        return ""
    se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
    better = int((diff < -1e-9).sum())
    return (f"{first} - {second}{what}, per instance over {len(diff)} instances: mean **{diff.mean():+.4f}** "
            f"(standard error {se:.4f}); {first} better on {better}, worse on {int((diff > 1e-9).sum())}.")


NEURAL_DECODES = ("greedy", "sample", "augment")  # one greedy rollout; best of NEURAL_SAMPLES; best of x8 copies
NEURAL_SAMPLES = 16
NEURAL_CHUNK = 256  # instances decoded together


def _neural_set(path: str, objective: str, decode: str, checkpoint: str | None) -> dict:
    """Every instance of one HCVRP set decoded by the policy in chunks, timed, each solution re-costed by the
    fleet checker."""
    import time

    from nco.checkpoints import expect, load_policy, shipped
    from nco.data import pvrp
    from nco.neural import decode as run
    from nco.neural import decoded_routes, env_for, to_batch

    instances = pvrp.read_hcvrp_set(path, objective)
    source = checkpoint or str(shipped("pvrp", instances[0].size, "camp", pvrp.preset_of(instances[0])))
    policy, meta = load_policy(source)
    expect(source, meta, problem="pvrp", preset=pvrp.preset_of(instances[0]), vehicles=instances[0].num_vehicles)
    how = "sample" if decode == "sample" else "greedy"
    factor = 8 if decode == "augment" else 1
    started, actions = time.perf_counter(), []
    for k in range(0, len(instances), NEURAL_CHUNK):
        batch = to_batch(instances[k:k + NEURAL_CHUNK])
        actions += list(run(policy, meta, batch, how, factor, samples=NEURAL_SAMPLES).actions)
    seconds = time.perf_counter() - started
    env = env_for(meta)
    costs = [i.cost_of(*decoded_routes(env, i, a)).objective for i, a in zip(instances, actions)]
    return {"set": Path(path).stem, "decode": decode, "instances": len(costs), "seconds": round(seconds, 2),
            "mean": round(float(np.mean(costs)), 5), "mean_first_128": round(float(np.mean(costs[:128])), 5),
            "checkpoint": Path(source).name, "machine": machine()}


def hcvrp_neural(args: argparse.Namespace) -> str:
    """The policy alone on all 1,280 instances of each HCVRP set (min-max), beside the classical reference (the
    ``ga`` column of ``fleets_hcvrp.csv``) on the first 128."""
    from rich.progress import track

    csv_path = args.out / "fleets_hcvrp_neural.csv"
    sets = sorted(str(p) for p in HCVRP.glob("hcvrp_v*_seed24610.npz"))
    done = {(r["set"], r["decode"]) for r in read_rows(csv_path)}
    todo = [(f, d) for f in sets for d in NEURAL_DECODES if (Path(f).stem, d) not in done]
    for f, d in track(todo, description="neural"):  # one at a time: the timing is the point, on every core
        append_row(csv_path, _neural_set(f, "min-max", d, args.checkpoint))
    rows = read_rows(csv_path)
    classical = [r for r in read_rows(args.out / "fleets_hcvrp.csv") if int(r["index"]) < 128 and r["solver"] == "ga"]
    body = []
    for name in sorted({r["set"] for r in rows}, key=lambda n: (int(n.split("_")[1][1:]), int(n.split("_")[2]))):
        ref = [float(r["cost"]) for r in classical if r["set"] == name]
        mine = {r["decode"]: r for r in rows if r["set"] == name}
        cells = []
        for d in NEURAL_DECODES:
            r = mine.get(d)
            gap = f" ({100 * (float(r['mean_first_128']) / np.mean(ref) - 1):+.1f}%)" if r and len(ref) == 128 else ""
            cells.append(f"{float(r['mean']):.3f}{gap}, {float(r['seconds']):.1f} s" if r else "")
        body.append([name.replace("_seed24610", ""), f"{np.mean(ref):.3f}" if ref else "", *cells])
    table = markdown_table(["set (vehicles, customers)", "ga 2 s, first 128", *[f"neural {d}" for d in
                                                                                 NEURAL_DECODES]], body)
    used = sorted({r["checkpoint"] for r in rows})
    return (f"# HCVRP (min-max): the policy alone on all 1,280 instances of each set\n\n`python benchmarks/fleets.py "
            f"hcvrp-neural` on {machine()} (all cores), checkpoint {', '.join(used)}. Each cell: the mean longest "
            f"time over the 1,280 instances, in brackets the gap of the first 128's mean to the ga column (2 s "
            f"each, `fleets_hcvrp.csv`), and the seconds the whole set took (decoding in chunks of {NEURAL_CHUNK}; "
            f"sample: the best of {NEURAL_SAMPLES}; augment: the best of the 8 symmetric copies, greedy). Every "
            f"solution passed the fleet checker.\n\n{table}\n")


PVRP_KEYS = ("preset", "pattern", "n", "m")  # with the index: one PVRP instance


def pvrp_grid(args: argparse.Namespace) -> str:
    csv_path = args.out / "fleets_pvrp.csv"
    cells = [(preset, pattern) for preset, patterns in (("pvrp-p", ("random", "pi", "cluster")),
                                                         ("pvrp-zc", ("random", "pi"))) for pattern in patterns]
    done = {(r["preset"], r["pattern"], int(r["n"]), int(r["m"]), int(r["index"]), r["solver"])
            for r in read_rows(csv_path)}
    tasks = [(p, q, n, m, i, s, args.seconds) for p, q in cells for n in (60, 100) for m in (3, 7)
             for i in range(args.per_set) for s in args.solvers]
    _run(tasks, _pvrp_task, csv_path, done)
    rows = [r for r in read_rows(csv_path) if int(r["index"]) < args.per_set]
    solvers = [s for s in args.solvers if any(r["solver"] == s for r in rows)]
    body = []
    for (p, q) in cells:
        for n in (60, 100):
            for m in (3, 7):
                mine = [r for r in rows if (r["preset"], r["pattern"], int(r["n"]), int(r["m"])) == (p, q, n, m)]
                body.append([p, q, n, m, *[_mean_cell([r for r in mine if r["solver"] == s]) for s in solvers]])
    table = markdown_table(["preset", "pattern", "n", "m", *[f"{s} mean objective" for s in solvers]], body)
    table += "".join(f"\n\n{_paired([r for r in rows if r['preset'] == p], 'ga', other, PVRP_KEYS, f' ({p})')}"
                     for other in ("pyvrp", "ortools") if other in solvers for p in ("pvrp-p", "pvrp-zc"))
    return (f"# PVRP-P (0.8 time - 0.2 preference) and PVRP-ZC (time, zones as a hard mask): instances 0.."
            f"{args.per_set - 1} of each cell at {args.seconds:g} s\n\n`python benchmarks/fleets.py pvrp --seconds "
            f"{args.seconds:g} --per-set {args.per_set}` on {machine()}, one core per run; every solution passed "
            f"the fleet checker (zones included).\n\n{table}\n")


def _mean_cell(rows: list[dict]) -> str:
    """The mean cost of ``rows``, saying how many had no valid solution (zones broken) when any."""
    costs = [float(r["cost"]) for r in rows if r["cost"]]
    text = f"{np.mean(costs):.3f}" if costs else "none"
    return text if len(costs) == len(rows) else f"{text} ({len(rows) - len(costs)} of {len(rows)} broke a zone)"


def _costs(name: str, keys: tuple[str, ...]) -> dict[tuple, dict[str, float]]:
    """``results/<name>.csv`` as {key columns: {solver: cost}}, rows without a cost left out."""
    out: dict[tuple, dict[str, float]] = {}
    for r in read_rows(RESULTS / f"{name}.csv"):
        if r["cost"]:
            out.setdefault(tuple(r[k] for k in keys), {})[r["solver"]] = float(r["cost"])
    return out


def _set_label(name: str) -> str:
    """``hcvrp_v3_40_seed24610`` as ``V3/40``."""
    parts = name.split("_")
    return f"{parts[1].upper()}/{parts[2]}"


def plot(args: argparse.Namespace) -> str:
    """``results/fleets.png`` from the results files: HFVRP gaps (ga against PyVRP, file by file), HCVRP
    min-max (ga and OR-Tools), HCVRP min-sum and PVRP (ga and OR-Tools against PyVRP), means per set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(HFVRP / "hfvrp_bks.csv") as table:
        bks = {r["instance"]: float(r["bks_recomputed_original_units"]) for r in csv.DictReader(table)}
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    ax = axes[0, 0]
    hf = {k[0]: {s: 100 * (c / bks[k[0]] - 1) for s, c in v.items()}
          for k, v in _costs("fleets_hfvrp", ("instance",)).items()}
    both = sorted(n for n in hf if {"ga", "pyvrp"} <= hf[n].keys())
    for variant, marker in zip(("FSMF", "FSMD", "FSMFD", "HVRP", "HD"), "osD^v"):
        of = [n for n in both if n.split("-")[1] == variant]
        ax.scatter([hf[n]["pyvrp"] for n in of], [hf[n]["ga"] for n in of], marker=marker, label=variant)
    top = max(max(hf[n]["pyvrp"], hf[n]["ga"]) for n in both) * 1.05
    ax.plot([0, top], [0, top], color="grey", lw=0.8)
    ax.set(xlabel="PyVRP gap to BKS %", ylabel="ga gap to BKS %", xlim=(0, top), ylim=(0, top),
           title=f"HFVRP, {len(both)} files at 10 s (below the line: ga better)")
    ax.legend()
    for ax, name, ref, others, what in (
            (axes[0, 1], "fleets_hcvrp", "ortools", ("ga",), "HCVRP min-max at 2 s: ga against OR-Tools"),
            (axes[1, 0], "fleets_hcvrp_min-sum", "pyvrp", ("ga", "ortools"), "HCVRP min-sum at 2 s, against PyVRP")):
        by_set: dict[str, dict[str, list[float]]] = {}
        for (name_, _), v in _costs(name, ("set", "index")).items():
            if ref in v:
                for s in others:
                    if s in v:
                        by_set.setdefault(name_, {}).setdefault(s, []).append(100 * (v[s] / v[ref] - 1))
        sets = sorted(by_set, key=lambda n: (int(n.split("_")[1][1:]), int(n.split("_")[2])))
        width = 0.8 / len(others)
        for k, s in enumerate(others):
            ax.bar([p + k * width for p in range(len(sets))], [np.mean(by_set[n][s]) for n in sets], width, label=s)
        ax.set_xticks([p + width * (len(others) - 1) / 2 for p in range(len(sets))],
                      [_set_label(n) for n in sets], rotation=45)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set(ylabel=f"mean % against {ref} per instance", title=what)
        ax.legend()
    ax = axes[1, 1]
    cells: dict[str, dict[str, list[float]]] = {}
    for (preset, pattern, n, m, _), v in _costs("fleets_pvrp", ("preset", "pattern", "n", "m", "index")).items():
        if "pyvrp" in v:
            for s in ("ga", "ortools"):
                if s in v:
                    cells.setdefault(f"{preset[5:].upper()} {pattern} {n}x{m}", {}).setdefault(s, []).append(
                        v[s] - v["pyvrp"])
    labels = list(cells)
    for k, s in enumerate(("ga", "ortools")):
        ax.bar([p + k * 0.4 for p in range(len(labels))], [np.mean(cells[c][s]) for c in labels], 0.4, label=s)
    ax.set_xticks([p + 0.2 for p in range(len(labels))], labels, rotation=75, fontsize=7)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set(ylabel="mean objective - PyVRP's, per instance", title="PVRP-P and PVRP-ZC at 2 s, against PyVRP")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "fleets.png", dpi=120)
    plt.close(fig)
    return "results/fleets.png written"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=("hfvrp", "hcvrp", "hcvrp-neural", "pvrp", "plot"))
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--per-set", type=int, default=16, help="hcvrp: instances per set")
    parser.add_argument("--solvers", nargs="+", default=None)
    parser.add_argument("--objective", choices=("min-max", "min-sum"), default="min-max", help="hcvrp only")
    parser.add_argument("--per-customer", type=float, default=None,
                        help="hfvrp: a limit of this many seconds per customer (results in their own files)")
    parser.add_argument("--instances", nargs="+", default=None, help="hfvrp: only these files (names, no .vrp)")
    parser.add_argument("--checkpoint", default=None, help="hcvrp-neural: a policy file (default: the shipped one)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--tag", default="", help="hfvrp: results in fleets_hfvrp_TAG.{csv,md}, apart from the main "
                        "table's (e.g. the construction heuristics)")
    args = parser.parse_args(argv)
    args.suffix = (f"_{args.per_customer:g}n" if args.per_customer else "") + (f"_{args.tag}" if args.tag else "")
    args.solvers = args.solvers or (HFVRP_SOLVERS if args.part == "hfvrp"
                                    else ["insertion", "ortools", "ga"])
    if args.part == "plot":
        print(plot(args))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    text = {"hfvrp": hfvrp, "hcvrp": hcvrp, "hcvrp-neural": hcvrp_neural, "pvrp": pvrp_grid}[args.part](args)
    suffix = _hcvrp_suffix(args) if args.part == "hcvrp" else args.suffix
    (args.out / f"fleets_{args.part.replace('-', '_')}{suffix}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
