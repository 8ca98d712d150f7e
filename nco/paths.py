"""Path selection from the front door: ``nco solve-network`` (and ``nco route-flows``, in :mod:`nco.paths_online`).

A topology file (REPETITA ``.graph``, SNDlib ``.xml``, Topology Zoo
``.graphml``) with its traffic (or a gravity matrix drawn for it) is routed
by each asked method; the table gives every method's MLU, its ratio to the
all-paths LP optimum and its seconds, and ``--plot`` draws the link
utilisation of each on the topology.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from nco.data import NcoError
from nco.data.paths import CAPACITIES, WEIGHTS, PathsInstance, gravity, read_network
from nco.solvers import paths as P

LEARNED = ("gnn",)  # methods that load the shipped policy (torch, torch-geometric)


def route_learned(instance: PathsInstance, policy: str | None = None, k: int = 4,
                  weight: str = "weight") -> list[P.Routing]:
    """Every traffic matrix of ``instance`` routed by the GNN policy (``policy``: a checkpoint file, by default
    the shipped one) over the ``k`` shortest paths by ``weight``: one greedy split per matrix, its seconds
    the matrix's share of one batched forward pass (candidate paths excluded, as for the path LP)."""
    import time

    import torch

    from .checkpoints import load_policy, shipped
    from nco.envs.paths import PathSplitEnv, batch_of

    model, _ = load_policy(policy or shipped("paths", instance.size, "gnn"), problem="paths", policy="gnn")
    batch = batch_of(instance, k, weight)
    env = PathSplitEnv()
    started = time.perf_counter()
    with torch.inference_mode():
        action, _ = model.act(model.encode(batch), 1, greedy=True)  # type: ignore[arg-type]
        state = env.step(env.reset(batch), action)
    seconds = (time.perf_counter() - started) / batch.size
    load = state.load[:, 0].double().numpy() * batch.unit
    carried = state.satisfied[:, 0].tolist()  # type: ignore[index]
    return [P.Routing(row, float((row / instance.network.capacity).max()), "gnn", seconds, satisfied=share)
            for row, share in zip(load, carried)]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """``nco solve-network``'s arguments."""
    n = sub.add_parser("solve-network", help="route a network's traffic: MLU of the LP optimum and baselines",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    n.add_argument("topology", metavar="FILE", help="a REPETITA .graph, SNDlib .xml or Topology Zoo .graphml")
    n.add_argument("--traffic", nargs="+", default=(), metavar="FILE",
                   help="REPETITA .demands (or the .tar.gz), SNDlib demand-matrix XMLs (default: the file's own "
                        "demands, else a gravity matrix)")
    n.add_argument("--methods", default="lp,path-lp,ecmp,shortest,least-loaded",
                   help=f"comma-separated, of {', '.join(P.METHODS + LEARNED)} (gnn: the shipped policy)")
    n.add_argument("--matrix", type=int, default=0, metavar="T", help="which traffic matrix (default 0)")
    n.add_argument("--k", type=int, default=4, help="candidate paths per demand (default 4)")
    n.add_argument("--weight", choices=WEIGHTS, default="weight", help="what shortest paths follow")
    n.add_argument("--capacity", choices=CAPACITIES, default="installed",
                   help="SNDlib: installed capacities, or the largest module (files without them, GEANT)")
    n.add_argument("--default-capacity", type=float, default=None,
                   help="Topology Zoo: the capacity of links without LinkSpeedRaw")
    n.add_argument("--load", type=float, default=0.5, metavar="U",
                   help="a gravity matrix (no traffic given) is scaled so that ECMP's MLU is about U")
    n.add_argument("--lp", choices=P.LP_BACKENDS, default="highs",
                   help="the LPs' solver: HiGHS (SciPy), or OR-Tools' GLOP or PDLP (default: highs)")
    n.add_argument("--plot", metavar="FILE.png", help="draw each method's link utilisation on the topology")
    n.set_defaults(func=cmd_solve_network)
    from .paths_online import add_parser as add_route_flows  # the online variant's command, nco route-flows

    add_route_flows(sub)


def _instance(args: argparse.Namespace) -> PathsInstance:
    options = {}
    suffix = Path(args.topology).suffix.lower()
    if suffix == ".xml":
        options["capacity"] = args.capacity
    elif suffix == ".graphml" and args.default_capacity is not None:
        options["default_capacity"] = args.default_capacity
    instance = read_network(args.topology, args.traffic, **options)
    if instance.traffic.sum() > 0:
        return instance
    first = PathsInstance(instance.network, gravity(instance.network), path=instance.path)
    scale = args.load / P.ecmp(first).mlu  # loads are linear in the volumes
    return PathsInstance(instance.network, first.traffic * scale, path=instance.path)


def cmd_solve_network(args: argparse.Namespace) -> int:
    """``nco solve-network``: each method's MLU, ratio to the LP and time, as a table (and a plot)."""
    from rich.console import Console
    from rich.table import Table

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in P.METHODS + LEARNED]
    if unknown:
        raise NcoError(f"--methods: unknown {', '.join(unknown)}; expected some of {', '.join(P.METHODS + LEARNED)}")
    if args.plot:
        from .maps import check_plot_destination

        check_plot_destination(args.plot)
    instance = _instance(args)
    console = Console()
    with console.status(f"solving the LP optimum ({args.lp})"):
        solvable = 0 <= args.matrix < instance.num_matrices
        best = P.optimal_mlu(instance, t=args.matrix, backend=args.lp) if solvable else None
    routings = {}
    for m in methods:
        with console.status(f"routing by {m}"):
            if m in LEARNED:
                routings[m] = route_learned(instance, k=args.k, weight=args.weight)[args.matrix]
            else:
                routings[m] = best if m == "lp" and best is not None else P.solve_network(
                    instance, m, args.matrix, args.k, args.weight, args.lp)
    net = instance.network
    table = Table(title=f"{instance.name}: {net.num_nodes} nodes, {net.num_edges} links, "
                        f"{len(instance.demands(args.matrix)[0])} demands (matrix {args.matrix})")
    for column in ("method", "MLU", "ratio to the LP", "traffic carried %", "seconds"):
        table.add_column(column, justify="right")
    for m, r in routings.items():
        # a max-flow routing carries less traffic, so its MLU is no routing of the whole matrix: no ratio
        ratio = f"{r.mlu / best.mlu:.4f}" if best is not None and best.mlu > 0 and r.solver != "max-flow" else "-"
        carried = "-" if np.isnan(r.satisfied) else f"{100 * r.satisfied:.2f}"  # ECMP or the LP over capacity
        table.add_row(m, f"{r.mlu:.4f}", ratio, carried, f"{r.seconds:.2f}")
    console.print(table)
    if args.plot:
        console.print(f"link utilisation drawn to {plot_utilisation(instance, routings, args.plot)}")
    return 0


def plot_utilisation(instance: PathsInstance, routings: dict[str, P.Routing], path: str) -> str:
    """Each routing's link utilisation on the topology (nodes at their coordinates), one panel per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import cm, colors

    from nco.data.atomic import atomic_path

    net = instance.network
    xy = net.coords if net.coords is not None and np.isfinite(net.coords).all() else _circle(net.num_nodes)
    fig, axes = plt.subplots(1, len(routings), figsize=(5 * len(routings), 4.5), squeeze=False)
    top = max(max(float((r.load / net.capacity).max()) for r in routings.values()), 1.0)
    scale = colors.Normalize(0, top)
    for ax, (name, r) in zip(axes[0], routings.items()):
        use = r.load / net.capacity
        for e in np.argsort(use):
            a, b = net.src[e], net.dst[e]
            ax.plot(*zip(xy[a], xy[b]), color=cm.viridis(scale(use[e])), lw=1 + 3 * use[e] / top)
        ax.scatter(xy[:, 0], xy[:, 1], s=12, c="k", zorder=3)
        ax.set_title(f"{name}: MLU {r.mlu:.3f}")
        ax.set_xticks([]), ax.set_yticks([])
    fig.colorbar(cm.ScalarMappable(scale, "viridis"), ax=axes[0].tolist(), label="link utilisation")
    with atomic_path(Path(path)) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


def _circle(n: int) -> np.ndarray:
    angle = 2 * np.pi * np.arange(n) / n
    return np.stack([np.cos(angle), np.sin(angle)], 1)
