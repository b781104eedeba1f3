"""Which lease owners are dead workers of this host (their leases can go at once)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from monitor.storage.leases import dead_owner


def test_only_an_exited_process_of_this_host_is_dead() -> None:
    host = socket.gethostname()[:40]
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()

    assert dead_owner(f"{host}:{child.pid}:abcd1234", host)
    assert not dead_owner(f"{host}:{os.getppid()}:abcd1234", host)  # alive
    assert not dead_owner(f"{host}:{os.getpid()}:abcd1234", host)  # ourselves
    assert not dead_owner(f"other-host:{child.pid}:abcd1234", host)  # can't tell: expire
    assert not dead_owner("someone", host)
    assert not dead_owner(f"{host}:notapid:x", host)
