"""Peers that restart: subscribers resubscribe to a restarted publisher, a
publisher keeps serving restarted subscribers, REQ recovers by Lazy Pirate."""
import os
import threading
import time

import edgezmq as zmq
import pytest
from reliability_kit import fd_count, kill, recv_event, spawn, wait_for
from support import free_port

pytest.importorskip("zmq")

RESTARTS = int(os.environ.get("EDGEZMQ_RESTARTS", "10"))


# pyzmq peers -------------------------------------------------------------------
PUB_PEER = """
import sys, time, zmq
port, inc = int(sys.argv[1]), int(sys.argv[2])
ctx = zmq.Context()
s = ctx.socket(zmq.PUB)
s.bind("tcp://127.0.0.1:%d" % port)
print("ready", flush=True)
seq = 0
while True:
    s.send_multipart([b"%d" % inc, b"%d" % seq])
    seq += 1
    time.sleep(0.001)
"""

REP_PEER = """
import os, sys, zmq
port = int(sys.argv[1])
ctx = zmq.Context()
s = ctx.socket(zmq.REP)
s.bind("tcp://127.0.0.1:%d" % port)
print("ready", flush=True)
while True:
    m = s.recv()
    if m.startswith(b"die"):
        os._exit(0)
    s.send(b"re:" + m)
"""


# -- peer restarts -----------------------------------------------------------------
def _restart_stream(n_restarts, per_life=20, io_threads=1):
    """A libzmq PUB killed and restarted n times: the edgezmq SUB reconnects,
    resubscribes, and each incarnation's messages arrive once and in order."""
    port = free_port()
    ctx = zmq.Context(io_threads=io_threads)
    sub = ctx.socket(zmq.SUB)
    sub.reconnect_ivl = 20
    sub.reconnect_ivl_max = 200
    sub.rcvtimeo = 10000
    sub.subscribe(b"")
    mon = sub.get_monitor_socket(zmq.EVENT_CONNECT_RETRIED)
    sub.connect("tcp://127.0.0.1:%d" % port)
    seen = {}
    delays = []
    fds = []
    try:
        for inc in range(n_restarts + 1):
            p = spawn(PUB_PEER, port, inc)
            try:
                got = 0
                while got < per_life:
                    i, seq = sub.recv_multipart()
                    i, seq = int(i), int(seq)
                    assert i <= inc
                    if i < inc:
                        continue  # late data from the previous incarnation's socket
                    seen.setdefault(i, []).append(seq)
                    got += 1
            finally:
                kill(p)
            fds.append(fd_count())
            if inc % 3 == 2:
                # a longer outage: the redial interval backs off. Waiting inside
                # poll lets a cooperative context redial too.
                end = time.monotonic() + 0.5
                while time.monotonic() < end:
                    if sub.poll(max(1, int((end - time.monotonic()) * 1000))):
                        sub.recv_multipart()  # the dead publisher's tail
            while True:
                ev = recv_event(mon, 0)
                if ev is None:
                    break
                delays.append(ev[1])
        st = sub.get_stats()
        mon.close()
    finally:
        ctx.destroy(linger=0)
    for inc, seqs in seen.items():
        # once and in order; no gap while connected (the publisher is slower than us)
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), (inc, seqs[:50])
    assert len(seen) == n_restarts + 1
    assert st["connects"] >= n_restarts + 1
    assert st["disconnects"] >= n_restarts
    # redials back off from RECONNECT_IVL up to RECONNECT_IVL_MAX
    assert delays and min(delays) == 20 and max(delays) <= 200
    assert max(delays) > 20, delays
    # no descriptor piles up over the restarts (one dial may be in progress)
    assert max(fds[1:]) - min(fds[1:]) <= 2, fds
    return st


@pytest.mark.timeout(120)
@pytest.mark.parametrize("io_threads", [1, 0], ids=["thread", "coop"])
def test_sub_survives_publisher_restarts(io_threads):
    _restart_stream(RESTARTS, io_threads=io_threads)


@pytest.mark.soak
@pytest.mark.timeout(900)
def test_sub_survives_100_publisher_restarts():
    st = _restart_stream(100)
    print("\n100 restarts:", st)


SUB_PEER = """
import sys, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.SUB)
s.subscribe(b"")
s.connect(sys.argv[1])
print("ready", flush=True)
last = None
for _ in range(50):
    seq = int(s.recv())
    assert last is None or seq == last + 1, (last, seq)
    last = seq
print("got", flush=True)
s.recv()  # then wait to be killed
"""


@pytest.mark.timeout(120)
def test_pub_survives_subscriber_restarts():
    """libzmq subscribers killed and restarted against an edgezmq PUB: each
    gets a gap-free stream, the PUB forgets the dead ones, no fd piles up."""
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    stop = threading.Event()

    def publish():
        seq = 0
        while not stop.is_set():
            pub.send(b"%d" % seq)
            seq += 1
            time.sleep(0.0005)

    t = threading.Thread(target=publish, daemon=True)
    t.start()
    fds = []
    try:
        for _ in range(RESTARTS):
            p = spawn(SUB_PEER, "tcp://127.0.0.1:%d" % port)
            try:
                assert p.stdout.readline().strip() == "got", p.stderr.read()
            finally:
                kill(p)
            assert wait_for(lambda: not pub.engines, 10)
            fds.append(fd_count())
        st = pub.get_stats()
        with ctx.lock:
            pipes_left = len(pub.pattern.pipes)
    finally:
        stop.set()
        t.join(5)
        ctx.destroy(linger=0)
    assert st["connects"] == RESTARTS and st["disconnects"] == RESTARTS, st
    assert max(fds) == min(fds), fds
    assert pipes_left == 0


def _lazy_pirate(ctx, port, request, timeout_ms=700, retries=10, on_timeout=None):
    """The lazy-pirate client: send, poll, and on timeout close, reopen, resend."""
    for attempt in range(retries):
        req = ctx.socket(zmq.REQ)
        req.linger = 0
        req.sndtimeo = 2000
        req.connect("tcp://127.0.0.1:%d" % port)
        try:
            try:
                req.send(request)
            except zmq.Again:
                if on_timeout:
                    on_timeout(attempt)
                continue
            if req.poll(timeout_ms, zmq.POLLIN):
                return req.recv(), attempt
            if on_timeout:
                on_timeout(attempt)
        finally:
            req.close()
        request = request.replace(b"die", b"ok")
    raise AssertionError("no reply after %d attempts" % retries)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("io_threads", [1, 0], ids=["thread", "coop"])
def test_req_recovers_by_lazy_pirate(io_threads):
    port = free_port()
    ctx = zmq.Context(io_threads=io_threads)
    procs = [spawn(REP_PEER, port)]

    def restart(_attempt):
        if procs[-1].poll() is None:
            return  # still serving: the reply was only late (a busy machine)
        kill(procs[-1])
        procs.append(spawn(REP_PEER, port))

    n = min(RESTARTS, 4)  # each restart is the same recovery: a few prove it repeats
    try:
        for i in range(n):
            # the server dies on this request without replying: a short
            # timeout (a retry that came too early only retries again)
            reply, attempts = _lazy_pirate(ctx, port, b"die-%d" % i, timeout_ms=300, on_timeout=restart)
            assert reply == b"re:ok-%d" % i
            assert attempts >= 1
            reply, attempts = _lazy_pirate(ctx, port, b"ok-x%d" % i)
            assert (reply, attempts) == (b"re:ok-x%d" % i, 0)
    finally:
        for p in procs:
            kill(p)
        ctx.destroy(linger=0)
    assert len(procs) == n + 1
