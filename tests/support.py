"""Paths and runtime lookups shared by the tests (a plain module, so its name
never collides with hw-tests' conftest)."""
import os
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")


def micropython_binary():
    """Path of the MicroPython unix port, or None."""
    p = os.path.join(VENV_BIN, "micropython")
    if os.path.exists(p):
        return p
    return shutil.which("micropython")


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
