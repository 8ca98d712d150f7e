"""A real OSRM (Open Source Routing Machine): installing its binaries, preparing an extract, serving queries.

The binaries come from one pinned wheel, ``osrm-bindings`` 26.10.0 on PyPI,
whose ``osrm/bin`` holds statically linked ``osrm-extract``,
``osrm-partition``, ``osrm-customize`` and ``osrm-routed`` (they run under any
Python) and whose ``osrm/share/profiles`` holds the Lua profiles. On Python
>= 3.12 the wheel installs as a dependency (extra ``osrm``) and is used in
place; elsewhere :func:`install_osrm` (``nco data install-osrm``) fetches that
one file with pip, checks its sha256 and unpacks it into the cache folder.
Nothing is downloaded at any other time.

:class:`OsrmServer` runs ``osrm-routed`` on 127.0.0.1 for the length of a
``with`` block and always stops it, on errors and Ctrl-C too.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import IO

import numpy as np

from .errors import NcoError

OSRM_VERSION = "26.10.0"
WHEEL = f"osrm_bindings-{OSRM_VERSION}-cp312-abi3-manylinux_2_28_x86_64.whl"
WHEEL_SHA256 = "840d6f82812eb9f9e17c71eb9083dfa15f3be2bfec4965c32aefa48b00d3a951"
PROFILES = ("car", "bicycle", "foot")
STEPS = ("osrm-extract", "osrm-partition", "osrm-customize")


class OsrmError(NcoError, RuntimeError):
    """OSRM is missing, or one of its steps failed (the message carries its last output lines)."""


def cache_dir() -> Path:
    """Where nco keeps downloaded tools: ``$NCO_CACHE``, else ``$XDG_CACHE_HOME/nco``, else ``~/.cache/nco``."""
    if os.environ.get("NCO_CACHE"):
        return Path(os.environ["NCO_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "nco"


def _cached_home() -> Path:
    return cache_dir() / f"osrm-{OSRM_VERSION}"


def osrm_home() -> Path | None:
    """The folder holding ``bin/`` and ``share/profiles/``: the installed package, else the cache; None if neither."""
    try:
        import osrm  # the osrm-bindings wheel, a dependency on Python >= 3.12

        home = Path(osrm.__file__).parent
        if (home / "bin" / "osrm-extract").exists():
            return home
    except ImportError:
        pass
    home = _cached_home()
    return home if (home / "bin" / "osrm-routed").exists() else None


def install_osrm(force: bool = False) -> Path:
    """Fetch the pinned ``osrm-bindings`` wheel with pip, verify it and unpack its binaries; return the folder.

    Does nothing when OSRM is already there (unless ``force``). The unpacked
    folder appears in one rename, so an interrupted install leaves nothing half done.
    """
    home = osrm_home()
    if home is not None and not force:
        return home
    if sys.platform != "linux" or platform.machine() != "x86_64":
        raise OsrmError(f"OSRM's binaries are built for Linux x86_64, not {sys.platform} {platform.machine()}")
    target = _cached_home()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".osrm-") as tmp:
        tmp_path = Path(tmp)
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--python-version", "3.12", "--implementation", "cp", "--platform", "manylinux_2_28_x86_64",
                   "--dest", str(tmp_path), f"osrm-bindings=={OSRM_VERSION}"]
        done = subprocess.run(command, capture_output=True, text=True)
        wheel = tmp_path / WHEEL
        if done.returncode != 0 or not wheel.exists():
            raise OsrmError(f"pip could not fetch {WHEEL}:\n{_tail(done.stderr or done.stdout)}")
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if digest != WHEEL_SHA256:
            raise OsrmError(f"{WHEEL}: sha256 {digest}, expected {WHEEL_SHA256}; not installed")
        unpacked = tmp_path / "home"
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                if member.startswith(("osrm/bin/", "osrm/share/")) and not member.endswith("/"):
                    out = unpacked / member.removeprefix("osrm/")
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_bytes(archive.read(member))
        for exe in (unpacked / "bin").iterdir():
            exe.chmod(0o755)
        if force and target.exists():
            shutil.rmtree(target)
        os.replace(unpacked, target)
    return target


def _home() -> Path:
    home = osrm_home()
    if home is None:
        raise OsrmError("OSRM is not installed: run `nco data install-osrm` (fetches the pinned osrm-bindings "
                        f"{OSRM_VERSION} wheel once), or `pip install osrm-bindings=={OSRM_VERSION}` on Python >= 3.12")
    return home


def binary(name: str) -> Path:
    """The path of an OSRM program (``osrm-extract``, ``osrm-routed``, ...)."""
    return _home() / "bin" / name


def profile_path(profile: str) -> Path:
    """A bundled profile by name (car, bicycle, foot) or a path to a ``.lua`` file."""
    if profile in PROFILES:
        return _home() / "share" / "profiles" / f"{profile}.lua"
    path = Path(profile)
    if path.suffix == ".lua" and path.is_file():
        return path
    raise OsrmError(f"unknown OSRM profile {profile!r}: expected one of {', '.join(PROFILES)} or a .lua file")


def version() -> str:
    """The version ``osrm-routed`` reports."""
    done = subprocess.run([str(binary("osrm-routed")), "--version"], capture_output=True, text=True)
    return (done.stdout or done.stderr).strip()


def _tail(text: str, lines: int = 8) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def prepare(pbf: Path, profile: str, workdir: Path) -> Path:
    """Run extract, partition and customize (the MLD pipeline) on ``pbf`` inside ``workdir``; return the
    ``.osrm`` base."""
    pbf = Path(pbf)
    if not pbf.is_file():
        raise OsrmError(f"{pbf}: no such file")
    if pbf.stat().st_size == 0:
        raise OsrmError(f"{pbf}: the file is empty, expected an OpenStreetMap extract (.osm.pbf)")
    lua = profile_path(profile)
    local = workdir / "city.osm.pbf"
    shutil.copyfile(pbf, local)
    base = workdir / "city.osrm"
    for step in STEPS:
        args = [str(binary(step))]
        args += ["-p", str(lua), str(local)] if step == "osrm-extract" else [str(base)]
        done = subprocess.run(args, capture_output=True, text=True, cwd=workdir, preexec_fn=_die_with_parent)
        if done.returncode != 0:
            log = _log_file(step, done.stdout + done.stderr)
            last = (done.stdout + done.stderr).strip().splitlines()[-1:] or [""]
            raise OsrmError(f"{pbf}: {step} failed (exit {done.returncode}): {last[0][:200]} (whole log: {log})")
    return base


def _log_file(step: str, text: str) -> Path:
    """Keep a failed step's whole output in a file that outlives the build's temporary folder."""
    fd, name = tempfile.mkstemp(prefix=f"nco-{step}-", suffix=".log")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    return Path(name)


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to kill it when the process that started it dies, even by
    SIGKILL (the server runs in its own session, so no terminal signal reaches it otherwise)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the server stops with the build's own clean-up only


def check_port(port: int) -> int:
    """``port`` when it is a TCP port number (1-65535), else an :class:`OsrmError` naming ``--port``."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise OsrmError(f"--port: expected a TCP port from 1 to 65535, got {port!r}")
    return port


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


class OsrmServer:
    """``osrm-routed`` on 127.0.0.1 for a prepared ``.osrm`` base; use it as a context manager."""

    def __init__(self, base: Path, port: int | None = None, profile: str = "car", max_table: int = 10_000):
        self.base = Path(base)
        self.port = free_port() if port is None else check_port(port)
        self.profile = profile if profile in PROFILES else "driving"
        self.max_table = max_table
        self.process: subprocess.Popen | None = None
        self._log: IO[str] | None = None

    def __enter__(self) -> "OsrmServer":
        if _port_taken(self.port):
            raise OsrmError(f"port {self.port} on 127.0.0.1 is in use: pass another --port (or none)")
        self._log = tempfile.TemporaryFile(mode="w+")
        args = [str(binary("osrm-routed")), "--algorithm", "mld", "--ip", "127.0.0.1", "--port", str(self.port),
                "--max-table-size", str(self.max_table), str(self.base)]
        self.process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
                                        preexec_fn=_die_with_parent)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        assert self.process is not None  # started by __enter__
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise OsrmError(f"osrm-routed exited (code {self.process.returncode}):\n{self._output()}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/nearest/v1/{self.profile}/0,0", timeout=2)
                return
            except urllib.error.HTTPError:
                return  # it answers (a 400 for a point off the map is an answer)
            except OSError:
                time.sleep(0.05)
        raise OsrmError(f"osrm-routed did not answer on port {self.port} within {timeout:.0f} s:\n{self._output()}")

    def _output(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return _tail(self._log.read())

    def stop(self) -> None:
        """Stop the server (terminate, then kill after 5 s); safe to call twice."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    # -- queries -------------------------------------------------------------------------------------
    def _get(self, service: str, coords: np.ndarray, query: str = "") -> dict:
        where = ";".join(f"{lon:.6f},{lat:.6f}" for lon, lat in coords)
        url = f"http://127.0.0.1:{self.port}/{service}/v1/{self.profile}/{where}{query}"
        try:
            with urllib.request.urlopen(url, timeout=120) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            body = exc.read().decode(errors="replace")
            raise OsrmError(f"OSRM {service} query failed ({exc.code}): {body[:300]}") from None

    def snap(self, coords: np.ndarray) -> np.ndarray:
        """Where routing starts from each point (lon, lat), 100 points per query.

        That is the waypoint of ``/table`` and ``/route``, not ``/nearest``'s
        answer: routing skips road pieces cut off from the network (and ways
        that cannot start a route) and may snap a point kilometres away.
        """
        out = np.empty((len(coords), 2))
        for start in range(0, len(coords), 100):
            chunk = coords[start:start + 100]
            reply = self._get("table", chunk, "?destinations=0&annotations=distance")
            out[start:start + len(chunk)] = [w["location"] for w in reply["sources"]]
        return out

    def route(self, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
        """Distance (m) and duration (s) of the fastest route from ``a`` to ``b`` (lon, lat)."""
        reply = self._get("route", np.array([a, b]), "?overview=false")
        return float(reply["routes"][0]["distance"]), float(reply["routes"][0]["duration"])

    def table(self, coords: np.ndarray, sources: np.ndarray, destinations: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
        """Distance (m) and duration (s) from ``coords[sources]`` to ``coords[destinations]``; NaN where unreachable.

        Only the points involved travel in the query, so its size stays small.
        """
        points, inverse = np.unique(np.concatenate([sources, destinations]), return_inverse=True)
        src = ";".join(map(str, inverse[:len(sources)]))
        dst = ";".join(map(str, inverse[len(sources):]))
        reply = self._get("table", coords[points],
                          f"?sources={src}&destinations={dst}&annotations=distance,duration")
        distance = np.array(reply["distances"], dtype=float)  # null (unreachable) becomes NaN
        duration = np.array(reply["durations"], dtype=float)
        return distance, duration
