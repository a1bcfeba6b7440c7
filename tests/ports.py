"""Loopback ports for servers the tests start (a preferred range first, as agreed for this machine; else any free one).

Probing a port and a server binding it later leave a gap in which another
process may take the same port: the suite runs in parallel (pytest-xdist
workers, the SQLite and PostgreSQL runs, other checkouts on the machine). So a
port handed out is also claimed, with an advisory lock on a file named for it,
for the rest of this process; a port another process has claimed is never
handed out, whether or not its server is listening yet.
"""

import fcntl
import socket
import tempfile
from pathlib import Path
from typing import IO

PREFERRED = range(5150, 5160)
CLAIMS = Path(tempfile.gettempdir()) / "zz-test-ports"
_held: dict[int, IO] = {}


def _claim(port: int) -> bool:
    CLAIMS.mkdir(exist_ok=True)
    handle = open(CLAIMS / f"{port}.lock", "a")  # noqa: SIM115 - held open: the lock lasts as long as the file
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return False
    _held[port] = handle
    return True


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def release(port: int) -> None:
    """Give a claimed port back (optional: claims end with the process)."""
    handle = _held.pop(port, None)
    if handle is not None:
        handle.close()


def free_port(taken: set[int] | None = None, preferred: range = PREFERRED) -> int:
    """A loopback port nobody listens on or has claimed: the first of ``preferred``, else one the kernel picks."""
    for port in preferred:
        if (taken and port in taken) or port in _held or not _claim(port):
            continue
        if _bindable(port):
            return port
        release(port)
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if (not taken or port not in taken) and port not in _held and _claim(port):
            return port
