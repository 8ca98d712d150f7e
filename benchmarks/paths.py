"""Network path selection: every method's MLU against the LP optimum on real topologies and traffic.

Topologies: SNDlib Abilene with its real 5-minute traffic matrices, and
REPETITA graphs (TopologyZoo, inverse-capacity weights, one demand set each,
scaled by REPETITA so that the optimal MLU is 0.900) held out from the
shipped policy's training, up to Cogentco (197 nodes) with ``--large``.
Methods: the all-paths LP (``lp``), the LP over the 4 shortest paths by
IGP weight (``path-lp``, the reference of the ratios), ECMP, shortest path,
an even split, least-loaded, and the shipped GNN policy (greedy). Per
method: MLU / path-LP mean, p50 and p98, and seconds per matrix.

    python benchmarks/paths.py            # Abilene and REPETITA graphs up to Tinet (53 nodes)
    python benchmarks/paths.py --large    # also Uninett2010, Deltacom and Cogentco (minutes each)

Writes ``results/paths.csv`` (one row per topology, matrix and method), ``results/paths.md`` and
``results/paths.png``.
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, SHARED, append_row, bar_chart, machine, markdown_table, read_rows  # noqa: E402

from nco.data.paths import PathsInstance, candidate_paths, read_repetita, read_sndlib  # noqa: E402
from nco.paths import route_learned  # noqa: E402
from nco.solvers import paths as P  # noqa: E402

NETS = SHARED / "networks"
REPETITA = NETS / "repetita" / "topologyzoo_inverseCapacity_graphs"
DEMANDS = NETS / "repetita" / "topologyzoo_inverseCapacity_demands0000.tar.gz"
HELD_OUT = ("Abilene", "Aarnet", "Janetbackbone", "Geant2012", "Tinet")  # not in the shipped policy's training
LARGE = ("Uninett2010", "Deltacom", "Cogentco")
METHODS = ("lp", "path-lp", "ecmp", "shortest", "uniform", "least-loaded", "gnn")


def topologies(large: bool) -> list[tuple[str, PathsInstance]]:
    """(label, instance) of every benchmarked topology."""
    sndlib = NETS / "sndlib"
    matrices = sorted(glob.glob(str(sndlib / "demand_samples/directed-abilene*/*.xml")))
    out = [("SNDlib Abilene (real TMs)", read_sndlib(sndlib / "networks/abilene.xml", matrices))]
    for name in HELD_OUT + (LARGE if large else ()):
        out.append((f"REPETITA {name}", read_repetita(REPETITA / f"{name}.graph", DEMANDS)))
    return out


def measure(label: str, instance: PathsInstance, path: Path) -> None:
    """Every method on every matrix of ``instance``, one CSV row each."""
    learned = route_learned(instance)
    for t in range(instance.num_matrices):
        one = PathsInstance(instance.network, instance.traffic[t])
        paths = candidate_paths(one, 4, "weight")
        reference = P.optimal_mlu(one, paths)
        routings = {"path-lp": reference, "lp": P.optimal_mlu(one), "ecmp": P.ecmp(one),
                    "shortest": P.shortest_path(one), "uniform": P.uniform_split(one, paths),
                    "least-loaded": P.least_loaded(one, paths), "gnn": learned[t]}
        for method in METHODS:
            r = routings[method]
            append_row(path, {"topology": label, "nodes": instance.network.num_nodes, "matrix": t, "method": method,
                              "mlu": round(r.mlu, 6), "ratio": round(r.mlu / reference.mlu, 6),
                              "seconds": round(r.seconds, 4), "machine": machine()})
        print(f"{label} matrix {t}: gnn {learned[t].mlu / reference.mlu:.4f}, ecmp "
              f"{routings['ecmp'].mlu / reference.mlu:.4f}", flush=True)


def report(path: Path) -> None:
    """The markdown table and the bar chart of the rows in ``path``."""
    rows = read_rows(path)
    labels = list(dict.fromkeys(r["topology"] for r in rows))
    body, bars = [], {m: [] for m in METHODS if m != "path-lp"}
    for label in labels:
        mine = [r for r in rows if r["topology"] == label]
        cells = []
        for method in METHODS:
            ratio = np.array([float(r["ratio"]) for r in mine if r["method"] == method])
            secs = np.mean([float(r["seconds"]) for r in mine if r["method"] == method])
            cells.append(f"{ratio.mean():.3f} / {np.percentile(ratio, 98):.3f} ({secs:.3g} s)")
            if method in bars:
                bars[method].append(float(ratio.mean()))
        body.append([label, mine[0]["nodes"], len(mine) // len(METHODS), *cells])
    text = markdown_table(["topology", "nodes", "TMs", *(f"{m} mean / p98" for m in METHODS)], body)
    (path.with_suffix(".md")).write_text(f"MLU over the 4-path LP's (mean / p98 over the matrices), seconds per "
                                         f"matrix; {rows[0]['machine']}\n\n{text}\n")
    bar_chart(path.with_suffix(".png"), [lb.replace("REPETITA ", "") for lb in labels], bars,
              "MLU / path LP (mean)", "Path selection: ratio to the 4-path LP")
    print(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--large", action="store_true", help="also Uninett2010, Deltacom and Cogentco")
    args = parser.parse_args()
    path = RESULTS / ("paths_large.csv" if args.large else "paths.csv")
    done = {r["topology"] for r in read_rows(path)}
    for label, instance in topologies(args.large):
        if label not in done:  # resumable: a topology's rows are written as it is measured
            measure(label, instance, path)
    report(path)


if __name__ == "__main__":
    main()
