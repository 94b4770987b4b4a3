"""Quiet by default, as pyzmq: a program that talks to a peer which then
closes, and dials a host that does not resolve, prints nothing unless it
configures logging; with logging.basicConfig(level=DEBUG) each event is one
line from the `edgezmq` logger, without a doubled "edgezmq:" prefix."""
import os
import subprocess
import sys

import pytest

pytest.importorskip("zmq")

PROGRAM = r"""
import logging, sys, time
lib = __import__(sys.argv[1])
if sys.argv[2] == "debug":
    logging.basicConfig(level=logging.DEBUG, format="%(levelname)s:%(name)s:%(message)s")
import zmq  # the peer is always real libzmq

pctx = zmq.Context()
peer = pctx.socket(zmq.ROUTER)
port = peer.bind_to_random_port("tcp://127.0.0.1")
ctx = lib.Context()
d = ctx.socket(lib.DEALER)
d.linger = 0
d.rcvtimeo = 5000
d.connect("tcp://127.0.0.1:%d" % port)
d.send(b"hi")
ident, msg = peer.recv_multipart()
peer.send_multipart([ident, b"bye"])
assert d.recv() == b"bye"
peer.close(linger=0)  # the peer goes away; the dealer redials a closed port
time.sleep(0.5)
d.connect("tcp://no-such-host.invalid:5555")  # resolves never: retried every 100 ms
time.sleep(1.0)
d.close()
ctx.term()
pctx.term()
print("done")
"""


def run(lib, mode):
    r = subprocess.run(
        [sys.executable, "-c", PROGRAM, lib, mode],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PYTHONWARNINGS="ignore::ResourceWarning"),
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == "done\n"
    return r.stderr


def test_silent_without_logging_configured_as_pyzmq():
    assert run("zmq", "quiet") == ""
    assert run("edgezmq", "quiet") == ""


def test_debug_lines_once_each_without_doubled_prefix():
    assert run("zmq", "debug") == ""  # libzmq logs nothing: its events are monitor events
    lines = [ln for ln in run("edgezmq", "debug").splitlines() if ":edgezmq" in ln]
    closed = [ln for ln in lines if "closing connection: peer closed" in ln]
    unresolved = [ln for ln in lines if "connect to tcp://no-such-host.invalid:5555 failed" in ln]
    assert len(closed) == 1, lines
    assert len(unresolved) == 1, lines  # not one every RECONNECT_IVL
    for ln in closed + unresolved:
        assert ln.startswith("DEBUG:edgezmq:"), ln
    assert not any("edgezmq: " in ln or "edgezmq:edgezmq" in ln for ln in lines), lines
