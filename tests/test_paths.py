"""Networks: the readers on the shared real topologies, the LP optimum against REPETITA's design value, the
baselines against the LP, and bad input refused with the file and field named."""

import glob

import numpy as np
import pytest

from conftest import SHARED
from nco.data import InstanceError, SolverError
from nco.data.paths import Network, PathsInstance, gravity, read_graphml, read_network, read_repetita, read_sndlib
from nco.solvers import paths as P

NETS = SHARED / "networks"
REPETITA = NETS / "repetita" / "topologyzoo_inverseCapacity_graphs"
DEMANDS = NETS / "repetita" / "topologyzoo_inverseCapacity_demands0000.tar.gz"
pytestmark = pytest.mark.skipif(not NETS.exists(), reason="needs ../shared/data/networks")


def _repetita(name):
    return read_repetita(REPETITA / f"{name}.graph", DEMANDS)


@pytest.mark.parametrize("name", ["Abilene", "Geant2012", "Aarnet", "Janetbackbone"])
def test_the_lp_reproduces_repetitas_optimum_and_bounds_every_other_routing(name):
    """REPETITA scales each demand set so that the optimal MLU is 0.900; the all-paths LP is a lower bound on
    the candidate-path LP, which bounds the baselines over the same paths."""
    instance = _repetita(name)
    best = P.optimal_mlu(instance)
    assert best.mlu == pytest.approx(0.9, abs=1e-3)
    paths = P.candidate_paths(instance, 4, "weight")
    restricted = P.optimal_mlu(instance, paths)
    assert best.mlu <= restricted.mlu + 1e-6
    for other in (P.uniform_split(instance, paths), P.least_loaded(instance, paths), P.ecmp(instance),
                  P.shortest_path(instance)):
        assert restricted.mlu <= other.mlu + 1e-6 or other.solver in ("ecmp", "shortest")
        assert best.mlu <= other.mlu + 1e-6, other.solver


@pytest.mark.parametrize("backend", ["glop", "pdlp"])
def test_ortools_lps_agree_with_highs_on_both_lps(backend):
    """GLOP (simplex) to HiGHS's optimum; PDLP (first-order) to its tolerance; both reproduce REPETITA's
    0.900 and give loads whose MLU is the optimum they report."""
    instance = _repetita("Aarnet")
    paths = P.candidate_paths(instance, 4, "weight")
    tolerance = 1e-6 if backend == "glop" else 1e-3
    for given in (None, paths):
        highs, other = P.optimal_mlu(instance, given), P.optimal_mlu(instance, given, backend=backend)
        assert other.mlu == pytest.approx(highs.mlu, abs=tolerance)
    assert P.optimal_mlu(instance, backend=backend).mlu == pytest.approx(0.9, abs=1e-3)
    with pytest.raises(SolverError, match="unknown LP backend 'cplex'"):
        P.optimal_mlu(instance, backend="cplex")


@pytest.mark.parametrize("scale", [1.0, 2.5])
def test_max_satisfied_flow_fits_the_capacities_and_carries_what_the_mlu_optimum_allows(scale):
    """REPETITA's matrices route at MLU 0.900, so all of one fits (scale 1); at 2.5x at least 1 / (2.5 x 0.9)
    of it fits (the optimum scaled down), at most all of it; the candidate paths carry no more than all
    paths, and each routing's loads stay within the capacities and within each demand's volume."""
    base = _repetita("Janetbackbone")
    instance = PathsInstance(base.network, base.traffic * scale)
    paths = P.candidate_paths(instance, 4, "weight")
    every, some = P.max_satisfied_flow(instance), P.max_satisfied_flow(instance, paths)
    for r in (every, some):
        assert r.mlu <= 1 + 1e-6 and r.satisfied <= 1 + 1e-9
    assert every.satisfied == pytest.approx(1.0) if scale == 1.0 else 1 / (scale * 0.9) - 1e-6 <= every.satisfied < 1
    assert some.satisfied <= every.satisfied + 1e-6
    assert all(0 <= share.sum() <= 1 + 1e-6 for share in some.ratios)
    carried = sum(v * share.sum() for v, share in zip(instance.demands()[2], some.ratios))
    assert carried == pytest.approx(some.satisfied * instance.demands()[2].sum())
    glop = P.max_satisfied_flow(instance, paths, backend="glop")
    assert glop.satisfied == pytest.approx(some.satisfied, abs=1e-6)


def test_every_path_routing_reports_a_carried_share_no_route_beats_the_max_flow_lp():
    """At 2.5x Janetbackbone's matrix every routing is over capacity: each path routing's carried share (flows
    cut at their most loaded link) is below 1 and below the path max-flow LP's, the uniform split's equals
    what the env rewards with objective "satisfied", and ECMP (no paths to cut) says it does not know; the
    all-paths LP within capacity carries everything."""
    import torch

    from nco.envs.paths import PathSplitEnv, batch_of

    base = _repetita("Janetbackbone")
    instance = PathsInstance(base.network, base.traffic * 2.5)
    paths = P.candidate_paths(instance, 4, "weight")
    best = P.max_satisfied_flow(instance, paths).satisfied
    for method in ("shortest", "uniform", "least-loaded", "path-lp"):
        r = P.solve_network(instance, method)
        assert r.mlu > 1 and 0 < r.satisfied < 1 and (r.satisfied <= best + 1e-6 or method == "shortest")
    env, batch = PathSplitEnv(objective="satisfied"), batch_of(instance, 4, "weight")
    with torch.no_grad():
        state = env.step(env.reset(batch), env.start_actions(env.reset(batch)))
    assert float(state.reward[0, 0]) == pytest.approx(P.uniform_split(instance, paths).satisfied, rel=1e-5)
    assert np.isnan(P.ecmp(instance).satisfied) and P.optimal_mlu(base).satisfied == 1.0  # 0.900: all fits


@pytest.mark.parametrize("backend", P.LP_BACKENDS)
def test_an_lp_that_is_not_optimal_is_an_error_naming_its_status(backend):
    import scipy.sparse as sp

    # x >= 0 and x = -1: infeasible
    with pytest.raises(SolverError, match="not optimal"):
        P._solve(np.ones(1), sp.csr_matrix((0, 1)), np.zeros(0), sp.csr_matrix([[1.0]]), np.array([-1.0]), "test",
                 backend)


def test_routings_carry_every_demand_and_split_ratios_sum_to_one():
    instance = _repetita("Abilene")
    paths = P.candidate_paths(instance, 3, "hop")
    assert all(1 <= len(own) <= 3 for own in paths)
    routing = P.optimal_mlu(instance, paths)
    assert all(abs(r.sum() - 1) < 1e-6 for r in routing.ratios)
    # what leaves the sources: each demand's volume on the first edge of its paths
    volume = instance.demands()[2]
    out = sum(v * r.sum() for v, r in zip(volume, routing.ratios))
    assert out == pytest.approx(volume.sum())
    ecmp = P.ecmp(instance)
    net = instance.network
    sent = np.bincount(net.src, ecmp.load, net.num_nodes) - np.bincount(net.dst, ecmp.load, net.num_nodes)
    expected = instance.traffic[0].sum(1) - instance.traffic[0].sum(0)
    assert np.allclose(sent, expected, rtol=1e-9, atol=1e-6 * volume.sum())  # flow conservation at every node


def test_sndlib_abilene_with_its_real_traffic_matrices():
    matrices = sorted(glob.glob(str(NETS / "sndlib/demand_samples/directed-abilene*/*.xml")))
    instance = read_sndlib(NETS / "sndlib/networks/abilene.xml", matrices)
    assert instance.num_matrices == 12 and instance.network.num_edges == 30  # 15 links, both ways
    assert (instance.traffic.sum((1, 2)) > 0).all() and (instance.network.delay > 0).all()
    mlus = [P.optimal_mlu(instance, t=t).mlu for t in range(3)]
    assert all(0 < m < 1 for m in mlus)


def test_sndlib_geant_has_no_installed_capacities_unless_told_which():
    with pytest.raises(InstanceError, match="no pre-installed capacity.*largest-module"):
        read_sndlib(NETS / "sndlib/networks/geant.xml")
    instance = read_sndlib(NETS / "sndlib/networks/geant.xml", capacity="largest-module")
    assert instance.network.num_edges == 72 and (instance.network.capacity > 0).all()


def test_topology_zoo_graphml_and_a_gravity_matrix():
    with pytest.raises(InstanceError, match="LinkSpeedRaw"):
        read_graphml(NETS / "topology_zoo/Abilene.graphml")
    plain = read_network(NETS / "topology_zoo/Abilene.graphml", default_capacity=1e10)
    assert plain.network.num_edges == 28 and plain.network.delay.max() > 0.001  # coast to coast: milliseconds
    traffic = gravity(plain.network, total=1e10)
    instance = PathsInstance(plain.network, traffic)
    assert traffic.sum() == pytest.approx(1e10) and P.optimal_mlu(instance).mlu > 0


def test_every_repetita_graph_reads():
    for graph in sorted(REPETITA.glob("*.graph"))[:40]:
        assert read_repetita(graph).network.num_edges > 0


def _line(capacity=(1.0, 1.0)):
    return Network(("a", "b", "c"), np.array([0, 1]), np.array([1, 2]), np.array(capacity), np.ones(2), np.zeros(2),
                   name="line")


def test_bad_networks_and_traffic_are_refused_by_name(tmp_path):
    with pytest.raises(InstanceError, match=r"edge 1 \(b -> c\) has capacity 0.0"):
        _line((1.0, 0.0))
    with pytest.raises(InstanceError, match="a demand from c to a, which no path joins"):
        PathsInstance(_line(), np.array([[0, 0, 0], [0, 0, 0], [1.0, 0, 0]]))
    with pytest.raises(InstanceError, match=r"shape \[T, 3, 3\]"):
        PathsInstance(_line(), np.zeros((2, 2)))
    broken = tmp_path / "broken.graph"
    broken.write_text("NODES 2\nlabel x y\na 0 0\nb 1 1\n\nEDGES 1\nlabel src dest weight bw delay\ne 0 1 x 5 1\n")
    with pytest.raises(InstanceError, match="broken.graph.*EDGES"):
        read_repetita(broken)
    demands = tmp_path / "d.demands"
    demands.write_text("DEMANDS 1\nlabel src dest bw\nd 0 7 10\n")
    good = tmp_path / "good.graph"
    good.write_text("NODES 2\nlabel x y\na 0 0\nb 1 1\n\nEDGES 1\nlabel src dest weight bw delay\ne 0 1 1 5 1\n")
    with pytest.raises(InstanceError, match="names node 7"):
        read_repetita(good, demands)
    with pytest.raises(InstanceError, match="unknown network file type"):
        read_network(tmp_path / "x.json")


def test_nco_solve_network_prints_each_methods_ratio_to_the_lp_and_draws_it(tmp_path, capsys):
    from nco.cli import main

    picture = tmp_path / "abilene.png"
    assert main(["solve-network", str(REPETITA / "Abilene.graph"), "--traffic", str(DEMANDS), "--methods",
                 "lp,ecmp,least-loaded", "--plot", str(picture)]) == 0
    out = capsys.readouterr().out
    assert "0.9000" in out and "ecmp" in out and picture.stat().st_size > 0
    assert main(["solve-network", str(REPETITA / "Abilene.graph"), "--methods", "lp,magic"]) == 2
    assert "unknown magic" in capsys.readouterr().err
    # no traffic given and none in the file: a gravity matrix scaled to ECMP's MLU of --load
    assert main(["solve-network", str(NETS / "topology_zoo/Abilene.graphml"), "--default-capacity", "1e10",
                 "--methods", "ecmp", "--load", "0.5"]) == 0
    assert "0.5000" in capsys.readouterr().out
