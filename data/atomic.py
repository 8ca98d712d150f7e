"""Atomic file writes: write beside the target, then rename, so a crash never leaves half a file.

The destination is checked before any work that leads to it (:func:`check_destination`), so that a
solve or a city build is not lost to a folder that does not exist or a path that is not a file.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import NcoError


def check_destination(path: str | os.PathLike, label: str = "output") -> Path:
    """The file that writing ``path`` replaces (a symlink's target), after checking that it can be written:
    it is a regular file or absent, and a file can be created in its folder. Else an :class:`NcoError`
    naming ``label`` (a flag, a field) and the path."""
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_file():
        kind = "a folder" if target.is_dir() else "not a regular file (a device, a socket, ...)"
        raise NcoError(f"{label} {path}: {kind}; expected the path of a file to write")
    folder = target.parent
    if not folder.is_dir():
        raise NcoError(f"{label} {path}: no such folder {folder}")
    try:  # a real probe: permissions, read-only mounts and pseudo file systems (/proc, /sys) all show here
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".nco-", suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise NcoError(f"{label} {path}: cannot write in {folder} ({exc.strerror or exc})") from None
    return target


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, label: str = "output") -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it onto ``path``.

    On any error the temporary file is removed and ``path`` keeps whatever it
    held before. A symlink is written through (the link stays, its target gets
    the new content); an existing file keeps its permissions, a new one gets the
    usual ones (0666 less the umask). Devices and folders are refused.
    """
    target = check_destination(path, label)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".nco-", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        if target.exists():
            mode = stat.S_IMODE(target.stat().st_mode)
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
