"""Real cities: the OSRM pipeline on a small shared extract, city files, sampled asymmetric instances."""

import hashlib
import json
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

import nco
from nco.data import InstanceError, OsrmError, build_city, bundled_cities, evaluate, install_osrm, load_city
from nco.data import osrm
from nco.data.roadgraph import cross_check


@pytest.fixture(scope="module")
def krems_pbf(shared):
    return shared / "osm" / "krems.osm.pbf"


@pytest.fixture(scope="module")
def krems(krems_pbf, tmp_path_factory):
    install_osrm()  # a no-op once the binaries are there (CI fetches the pinned wheel here)
    out = tmp_path_factory.mktemp("city") / "krems.npz"
    city = build_city(krems_pbf, "krems", 200, out, progress=False)
    return city, out


def test_built_city_holds_full_finite_asymmetric_matrices(krems, krems_pbf):
    city, out = krems
    loaded = load_city(out)
    assert loaded.size == 200 and loaded.coords.shape == (200, 2)
    for matrix in (loaded.distance, loaded.duration):
        assert matrix.shape == (200, 200) and matrix.dtype == np.float32
        assert np.all(np.isfinite(matrix)) and np.all(np.diag(matrix) == 0)
        off = ~np.eye(200, dtype=bool)
        assert np.all(matrix[off] > 0)  # distinct road points
    assert np.abs(loaded.distance - loaded.distance.T).max() > 100  # one-way streets: asymmetric
    # Krems lies at about 15.6 E, 48.4 N.
    assert np.all(np.abs(loaded.coords - [15.6, 48.4]) < 0.2)
    meta = loaded.metadata
    assert meta["source_sha256"] == hashlib.sha256(krems_pbf.read_bytes()).hexdigest()
    assert meta["osrm"].endswith(osrm.OSRM_VERSION) and meta["profile"] == "car"
    assert "OpenStreetMap contributors" in meta["attribution"]


def test_matrix_entries_match_direct_route_queries(krems, krems_pbf):
    city, _ = krems
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as work:
        base = osrm.prepare(krems_pbf, "car", Path(work))
        with osrm.OsrmServer(base) as server:
            # Random pairs, and the shortest entries (points on one road segment, where /table goes wrong).
            off = city.distance + np.diag(np.full(city.size, np.inf))
            shortest = np.argsort(off, axis=None)[:8]
            pairs = [tuple(rng.choice(city.size, 2, replace=False)) for _ in range(12)]
            for i, j in pairs + [np.unravel_index(k, off.shape) for k in shortest]:
                distance, duration = server.route(city.coords[i], city.coords[j])
                assert city.distance[i, j] == pytest.approx(distance, rel=1e-3, abs=1.0)
                assert city.duration[i, j] == pytest.approx(duration, rel=1e-3, abs=0.5)
            process = server.process
        assert process.poll() is not None  # the server stops with the block


def test_sampled_instances_are_asymmetric_and_solvable(krems):
    city, _ = krems
    tsp = city.sample(30, "tsp", "duration", seed=3)
    assert tsp.num_nodes == 30 and not tsp.symmetric
    again = city.sample(30, "tsp", "duration", seed=3)
    assert np.array_equal(tsp.distance, again.distance)
    batch = city.sample(40, "cvrp", batch=3, seed=1)
    assert len(batch) == 3 and all(b.num_nodes == 41 for b in batch)
    for instance in (tsp, batch[0]):
        solution = nco.solve(instance, "ga", time_limit=1.0)
        assert solution.cost == pytest.approx(evaluate(instance, solution.routes))
    with pytest.raises(InstanceError, match="num_nodes"):
        city.sample(200, "cvrp")
    with pytest.raises(InstanceError, match="objective"):
        city.sample(10, objective="time")


def test_bad_city_files_get_clear_errors(tmp_path, krems):
    with pytest.raises(InstanceError, match="no such city"):
        load_city("atlantis")
    _, good = krems
    with np.load(good) as data:
        arrays = dict(data)
    broken = tmp_path / "broken.npz"
    np.savez(broken, **{k: v for k, v in arrays.items() if k != "duration"})
    with pytest.raises(InstanceError, match="duration"):
        load_city(broken)
    arrays["distance"] = arrays["distance"][:, :10]
    np.savez(broken, **arrays)
    with pytest.raises(InstanceError, match="'distance'.*shape"):
        load_city(broken)
    (tmp_path / "text.npz").write_text("not a city")
    with pytest.raises(InstanceError, match="not a city file"):
        load_city(tmp_path / "text.npz")


def test_bad_input_never_leaves_output_or_server(tmp_path, krems, krems_pbf):
    out = tmp_path / "city.npz"
    out.write_bytes(b"what the user had")
    corrupt = tmp_path / "corrupt.osm.pbf"
    corrupt.write_bytes(np.random.default_rng(0).bytes(2000))
    empty = tmp_path / "empty.osm.pbf"
    empty.write_bytes(b"")
    for pbf, message in ((corrupt, "osrm-extract failed"), (empty, "empty"), (tmp_path / "none.pbf", "no such")):
        with pytest.raises(OsrmError, match=message):
            build_city(pbf, "x", 20, out, progress=False)
    with pytest.raises(OsrmError, match="unknown OSRM profile"):
        build_city(krems_pbf, "x", 20, out, profile="truck", progress=False)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(OsrmError, match="in use"):
            build_city(krems_pbf, "x", 20, out, port=busy.getsockname()[1], progress=False)
    assert out.read_bytes() == b"what the user had"
    assert list(tmp_path.glob(".nco-*")) == []  # no temporary file left behind
    running = subprocess.run(["pgrep", "-f", "osrm-routed"], capture_output=True, text=True).stdout.split()
    assert running == []


def test_cli_solves_a_city_instance_and_writes_a_checked_solution(tmp_path, krems):
    _, city_file = krems
    out = tmp_path / "city.sol"
    picture = tmp_path / "routes.png"
    done = subprocess.run([sys.executable, "-m", "nco.cli", "solve", "--city", str(city_file), "--problem", "cvrp",
                           "--num-nodes", "30", "--solver", "ga", "--time-limit", "1", "--out", str(out),
                           "--plot", str(picture)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    instance = load_city(city_file).sample(30, "cvrp")
    routes, _ = nco.data.read_solution(out)
    assert sorted(c for r in routes for c in r) == list(range(1, 31))
    assert evaluate(instance, routes) > 0  # the checker raises on a missed customer or an overloaded route


def test_osmnx_travel_times_agree_with_osrm(krems, krems_pbf):
    city, _ = krems
    assert city.roads is not None and city.roads.shape[1] == 4 and len(city.roads) > 1000
    check = cross_check(city, krems_pbf, pairs=40)
    assert check["pairs"] >= 30  # osmnx routes nearly every pair OSRM routed
    # Independent estimates of the same trips: strongly correlated; OSRM slower (turn and signal costs).
    assert check["correlation"] > 0.5 and 1.0 <= check["median_ratio"] <= 2.5


def test_sparsely_tagged_road_classes_drive_at_osrm_class_speeds():
    import networkx as nx
    import osmnx as ox

    from nco.data.roadgraph import _sparse_class_speeds

    graph = nx.MultiDiGraph(crs="epsg:4326")
    graph.add_edge(1, 2, highway="service", maxspeed="10", length=100.0)
    graph.add_edge(2, 3, highway="service", maxspeed="10", length=100.0)
    graph.add_edge(3, 4, highway="residential", length=100.0)
    graph.add_edge(4, 5, highway="service", length=100.0)
    speeds = ox.routing.add_edge_speeds(graph, hwy_speeds=_sparse_class_speeds(graph))
    got = {(u, v): d["speed_kph"] for u, v, d in speeds.edges(data=True)}
    # osmnx alone would give the residential street the 10 km/h of two tagged service roads.
    assert got == {(1, 2): 10.0, (2, 3): 10.0, (3, 4): 25.0, (4, 5): 15.0}


@pytest.mark.parametrize("name", ["monaco", "helsinki"])
def test_bundled_cities_load_without_osrm(name):
    assert name in bundled_cities()
    city = load_city(name)
    assert city.size >= 900 and city.distance.dtype == np.float32
    assert "OpenStreetMap contributors" in city.metadata["attribution"]
    assert json.dumps(city.metadata)
    assert city.roads is not None and len(city.roads) > 1000  # the street map for --plot


def test_rrnco_city_files_load_in_our_units(tmp_path, krems):
    city, _ = krems
    # The layout of RRNCO's per-city files: points as (lat, lon), distance in km, duration in minutes.
    rrnco = tmp_path / "Krems_data.npz"
    np.savez_compressed(rrnco, points=city.coords[:, ::-1], distance=city.distance / 1000.0,
                        duration=city.duration / 60.0)
    loaded = load_city(rrnco)
    assert loaded.name == "Krems" and np.allclose(loaded.coords, city.coords)
    assert np.allclose(loaded.distance, city.distance, rtol=1e-5, atol=1e-2)
    assert np.allclose(loaded.duration, city.duration, rtol=1e-5, atol=1e-2)


@pytest.mark.parametrize("port", [0, 70000, -5])
def test_a_port_that_is_no_tcp_port_is_refused_before_building(tmp_path, port):
    pbf = tmp_path / "x.osm.pbf"
    pbf.write_bytes(b"not used")
    with pytest.raises(OsrmError, match="--port: expected a TCP port"):
        build_city(pbf, "x", 10, tmp_path / "x.npz", port=port)


@pytest.mark.parametrize("out, message", [("{tmp}/missing/x.npz", "no such folder"), ("{tmp}", "a folder")])
def test_a_bad_out_is_refused_before_building(tmp_path, out, message):
    pbf = tmp_path / "x.osm.pbf"
    pbf.write_bytes(b"not used")  # OSRM would fail on it: the destination must be refused first
    with pytest.raises(nco.data.NcoError, match=message):
        build_city(pbf, "x", 10, out.format(tmp=tmp_path))


@pytest.mark.parametrize("metadata", ["not json", "[1, 2]", "3"])
def test_city_files_with_bad_metadata_are_named(tmp_path, metadata):
    good = load_city("monaco")
    path = tmp_path / "bad.npz"
    np.savez(path, coords=good.coords[:3], distance=good.distance[:3, :3], duration=good.duration[:3, :3],
             metadata=np.array(metadata))
    with pytest.raises(InstanceError, match="field 'metadata': expected a JSON object"):
        load_city(path)


def test_a_broken_city_archive_is_named(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes((Path(nco.data.cities.BUNDLED_DIR) / "monaco.npz").read_bytes()[:5000])
    with pytest.raises(InstanceError, match="broken.npz"):
        load_city(path)


def test_a_failing_osrm_step_is_one_line_naming_its_log(tmp_path):
    pbf = tmp_path / "garbage.osm.pbf"
    pbf.write_bytes(b"\x00" * 1000)
    try:
        install_osrm()
    except OsrmError as exc:
        pytest.skip(f"OSRM's binaries are not available here: {exc}")
    with pytest.raises(OsrmError) as info:
        build_city(pbf, "g", 10, tmp_path / "g.npz")
    message = str(info.value)
    assert "\n" not in message and "osrm-extract failed" in message and "whole log:" in message
    assert Path(message.rsplit("whole log: ", 1)[1].rstrip(")")).is_file()


def test_sigterm_stops_the_server_and_removes_the_work_folder(krems_pbf, tmp_path):
    import signal
    import time

    install_osrm()
    run = subprocess.Popen([sys.executable, "-m", "nco.cli", "data", "build-city", str(krems_pbf), "--name", "k",
                            "--points", "200", "--out", str(tmp_path / "k.npz")], stderr=subprocess.PIPE, text=True)
    work = Path(tempfile.gettempdir()).glob(f"nco-osrm-{run.pid}-*")
    started = time.time()
    while not _routed_children(run.pid) and time.time() - started < 120 and run.poll() is None:
        time.sleep(0.05)
    servers = [int(line.split()[0]) for line in _routed_children(run.pid)]
    assert servers, "osrm-routed never started"
    run.send_signal(signal.SIGTERM)
    run.wait(60)
    time.sleep(0.5)
    alive = [p for p in servers if Path(f"/proc/{p}").exists() and "Z" not in Path(f"/proc/{p}/stat").read_text()]
    assert run.returncode == 130 and not alive and not list(work)
    assert not (tmp_path / "k.npz").exists()


def _routed_children(pid: int) -> list[str]:
    """The osrm-routed processes whose parent is ``pid``."""
    found = subprocess.run(["ps", "-eo", "pid,ppid,comm"], capture_output=True, text=True).stdout.splitlines()
    return [line for line in found if line.split()[1:2] == [str(pid)] and "osrm-routed" in line]
