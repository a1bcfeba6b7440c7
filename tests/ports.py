"""Loopback ports for servers the tests start (5150-5159 first, as agreed for this machine; else any free one)."""

import socket

PREFERRED = range(5150, 5160)


def free_port(taken: set[int] | None = None) -> int:
    """A loopback port nobody listens on: the first free of ``PREFERRED``, else one the kernel picks."""
    for port in PREFERRED:
        if taken and port in taken:
            continue
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
