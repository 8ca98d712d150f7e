"""Online path selection (``nco/FlowArrival-v0``): each router's time-averaged MLU, rejected flows and delay
as flows arrive, with fresh and stale telemetry.

Topologies: SNDlib Abilene with 8 of its real 5-minute traffic matrices (one episode each) and the REPETITA
graphs held out from the learned routers' training (Aarnet, Janetbackbone, Geant2012; their one demand set,
4 independent episodes each). Every pair's 4 shortest paths by IGP weight; 50 flows in the network on
average, traffic scaled so that the mean matrix on shortest paths gives an MLU of 1.2 (shortest paths must
reject flows); 3,000 arrivals per episode, the first 1,000 not counted. Telemetry refreshed every 0.1 and
every 1.0 mean holding times. Routers: those of ``nco route-flows`` (the learned one: the shipped
checkpoint, greedy).

    python benchmarks/paths_online.py

Writes ``results/paths_online.csv`` (one row per topology, period, episode and router; resumable by topology and
period), ``results/paths_online.md`` and ``results/paths_online.png``.
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, SHARED, append_row, machine, markdown_table, read_rows  # noqa: E402

from nco.data.paths import PathsInstance, read_repetita, read_sndlib  # noqa: E402
from nco.envs.paths_online import FlowArrivalEnv, instance_flows  # noqa: E402
from nco.paths_online import ROUTERS, load_scorer, simulate  # noqa: E402

NETS = SHARED / "networks"
REPETITA = NETS / "repetita" / "topologyzoo_inverseCapacity_graphs"
DEMANDS = NETS / "repetita" / "topologyzoo_inverseCapacity_demands0000.tar.gz"
HELD_OUT = ("Aarnet", "Janetbackbone", "Geant2012")
PERIODS = (0.1, 1.0)
FLOWS, INTENSITY, ARRIVALS, WARMUP, K = 50.0, 1.2, 3000, 1000, 4


def topologies() -> list[tuple[str, PathsInstance, int]]:
    """(label, instance, episodes per matrix) of every benchmarked topology."""
    sndlib = NETS / "sndlib"
    matrices = sorted(glob.glob(str(sndlib / "demand_samples/directed-abilene*/*.xml")))[:8]
    out = [("SNDlib Abilene (real TMs)", read_sndlib(sndlib / "networks/abilene.xml", matrices), 1)]
    return out + [(f"REPETITA {name}", read_repetita(REPETITA / f"{name}.graph", DEMANDS), 4) for name in HELD_OUT]


def measure(label: str, instance: PathsInstance, repeats: int, period: float, path: Path) -> None:
    """Every router on ``instance`` at one telemetry period, one CSV row per episode."""
    net, volume = instance_flows(instance, K)
    volume = volume.repeat_interleave(repeats, 0)
    env = FlowArrivalEnv(FLOWS, INTENSITY, period, WARMUP)
    policy = load_scorer()
    for router in ROUTERS:
        r = simulate(net, volume, router, env, ARRIVALS, seed=0, policy=policy)
        for b in range(len(r.mlu)):
            append_row(path, {"topology": label, "nodes": instance.network.num_nodes, "pairs": net.num_demands,
                              "period": period, "episode": b, "router": router, "mlu": round(float(r.mlu[b]), 6),
                              "rejection": round(float(r.rejection[b]), 6), "delay": round(float(r.delay[b]), 4),
                              "us_per_flow": round(1e6 * r.seconds, 2), "machine": machine()})
        print(f"{label}, period {period}: {router} MLU {r.mlu.mean():.4f}, rejected "
              f"{100 * r.rejection.mean():.2f}%", flush=True)


def report(path: Path) -> None:
    """The markdown table and the two-panel chart (MLU, rejected %) of the rows in ``path``."""
    rows = read_rows(path)
    groups = list(dict.fromkeys((r["topology"], r["period"]) for r in rows))
    body, mlu, rejected = [], {r: [] for r in ROUTERS}, {r: [] for r in ROUTERS}
    for label, period in groups:
        mine = [r for r in rows if (r["topology"], r["period"]) == (label, period)]
        cells = []
        for router in ROUTERS:
            of = [r for r in mine if r["router"] == router]
            m, j = np.mean([float(r["mlu"]) for r in of]), 100 * np.mean([float(r["rejection"]) for r in of])
            cells.append(f"{m:.3f} / {j:.2f}%")
            mlu[router].append(float(m))
            rejected[router].append(float(j))
        body.append([label, mine[0]["pairs"], period, len(mine) // len(ROUTERS), *cells])
    speed = [f"{r}: {np.mean([float(x['us_per_flow']) for x in rows if x['router'] == r]):.0f} us" for r in ROUTERS]
    text = markdown_table(["topology", "pairs", "period", "episodes", *ROUTERS], body)
    path.with_suffix(".md").write_text(
        f"# Online path selection: time-averaged MLU / flows rejected\n\n`python benchmarks/paths_online.py` on "
        f"{rows[0]['machine']}; {FLOWS:g} flows in the network on average, intensity {INTENSITY:g} (the mean "
        f"matrix's MLU on shortest paths), {ARRIVALS} arrivals per episode, the first {WARMUP} not counted; "
        f"period: the telemetry's, in mean holding times.\n\n{text}\n\nDeciding time per flow (mean): "
        f"{', '.join(speed)}.\n")
    _chart(path.with_suffix(".png"), [f"{lb.replace('REPETITA ', '').replace(' (real TMs)', '')}\n"
                                      f"period {p}" for lb, p in groups], mlu, rejected)
    print(text)


def _chart(path: Path, groups: list[str], mlu: dict[str, list[float]], rejected: dict[str, list[float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    width = 0.8 / len(ROUTERS)
    for ax, values, label in ((axes[0], mlu, "time-averaged MLU"), (axes[1], rejected, "flows rejected %")):
        for k, router in enumerate(ROUTERS):
            ax.bar([g + k * width for g in range(len(groups))], values[router], width, label=router)
        ax.set_ylabel(label)
    axes[1].set_xticks([g + width * (len(ROUTERS) - 1) / 2 for g in range(len(groups))], groups, fontsize=8)
    axes[0].legend(ncol=len(ROUTERS), fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.suptitle("Online path selection: flows arrive, each router picks one path")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args()
    path = RESULTS / "paths_online.csv"
    done = {(r["topology"], float(r["period"])) for r in read_rows(path)}
    for label, instance, repeats in topologies():
        for period in PERIODS:
            if (label, period) not in done:
                measure(label, instance, repeats, period, path)
    report(path)


if __name__ == "__main__":
    main()
