"""Free TCP ports for a launch: gloo's MASTER_PORT, a sweep's benchmark server."""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free now (racy by nature; good enough for gloo rendezvous and
    a server started right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


__all__ = ["free_port"]
