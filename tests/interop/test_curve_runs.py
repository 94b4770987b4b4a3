"""CURVE traffic opened a run at a time (core/runs.py connection_on_box_run,
CPython's scanner): what libzmq sends arrives whole and in order, boxed
commands among the data (heartbeat PINGs) are answered in their place, and
a pure-Python process gets the same messages."""
import os
import subprocess
import sys
import time

import edgezmq as zmq
import pytest
from support import ROOT

pz = pytest.importorskip("zmq")

N = 3000


def _messages():
    """Single and two-part messages of 0 B to 1.5 KiB, each naming its number."""
    for i in range(N):
        body = b"%06d" % i + bytes((i * 7 + k) & 0xFF for k in range(i % 1500))
        yield [body] if i % 3 else [b"head-%d" % i, body]


def test_curve_messages_and_pings_from_libzmq_arrive_in_order():
    spub, ssec = pz.curve_keypair()
    cpub, csec = pz.curve_keypair()
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.curve_server = True
    router.curve_secretkey = ssec
    router.curve_publickey = spub
    router.rcvtimeo = 10000
    port = router.bind_to_random_port("tcp://127.0.0.1")
    pc = pz.Context()
    dealer = pc.socket(pz.DEALER)
    dealer.curve_serverkey, dealer.curve_publickey, dealer.curve_secretkey = spub, cpub, csec
    dealer.heartbeat_ivl = 1  # a PING every millisecond, boxed among the MESSAGEs
    dealer.heartbeat_timeout = 3000  # and dropped if edgezmq does not answer them
    dealer.sndhwm = 0
    dealer.connect("tcp://127.0.0.1:%d" % port)
    try:
        sent = list(_messages())
        for i, m in enumerate(sent):
            dealer.send_multipart(m)
            if i % 500 == 0:
                time.sleep(0.01)  # PINGs fall between the bursts
        for i, m in enumerate(sent):
            got = router.recv_multipart()
            assert got[1:] == m, "message %d" % i
        router.send_multipart([got[0], b"done"])  # the connection is still up both ways
        dealer.rcvtimeo = 5000
        assert dealer.recv() == b"done"
    finally:
        dealer.close(0)
        pc.term()
        router.close(0)
        ctx.term()


def test_the_pure_path_gets_the_same_messages():
    """The same exchange with EDGEZMQ_PURE=1 (frame by frame): a fault only one path has shows here."""
    env = dict(os.environ, EDGEZMQ_PURE="1")
    here = os.path.dirname(os.path.abspath(__file__))
    code = ("import sys; sys.path[:0] = [%r, %r]; import test_curve_runs as t; "
            "t.test_curve_messages_and_pings_from_libzmq_arrive_in_order(); print('ok')" % (here, os.path.dirname(here)))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.stdout.strip().endswith("ok"), r.stdout + r.stderr
