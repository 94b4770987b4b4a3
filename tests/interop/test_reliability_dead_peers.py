"""Dead peers (frozen processes) detected by heartbeats and TTLs; libzmq's
heartbeats answered by an idle socket; silent clients expire at
handshake_ivl."""
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import edgezmq as zmq
import pytest
from reliability_kit import PULL_PEER, fd_count, kill, recv_event, spawn, wait_for
from support import free_port

pytest.importorskip("zmq")


# -- dead peers: a frozen process, detected by heartbeats ------------------------------
@pytest.mark.parametrize("io_threads", [1, 0], ids=["thread", "coop"])
@pytest.mark.timeout(60)
def test_frozen_peer_detected_by_heartbeat(io_threads):
    port = free_port()
    p = spawn(PULL_PEER, port, 10)
    ctx = zmq.Context(io_threads=io_threads)
    ivl, hb_timeout = 200, 1000
    try:
        push = ctx.socket(zmq.PUSH)
        push.heartbeat_ivl = ivl
        push.heartbeat_timeout = hb_timeout
        push.sndhwm = 0
        push.linger = 0
        push.reconnect_ivl = -1  # keep the accounting to one connection
        mon = push.get_monitor_socket()
        push.connect("tcp://127.0.0.1:%d" % port)
        push.send(b"hello")
        while True:
            ev = recv_event(mon, 5000)
            assert ev is not None, "no handshake"
            if ev[0] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                break
        os.kill(p.pid, signal.SIGSTOP)
        frozen = time.monotonic()
        # more than the kernel buffers can hold: some must stay queued in edgezmq
        big = b"x" * 65536
        n = 400
        for _ in range(n):
            push.send(big)
        detected = None
        while detected is None:
            ev = recv_event(mon, ivl + hb_timeout + 3000)
            assert ev is not None, "the frozen peer was never detected"
            if ev[0] == zmq.EVENT_DISCONNECTED:
                detected = time.monotonic() - frozen
        st = push.get_stats()
        print("\nSIGSTOP detected after %.0f ms; stats %s" % (detected * 1000, st))
        assert detected * 1000 < ivl + hb_timeout + 2000
        assert st["heartbeat_timeouts"] == 1
        assert st["disconnects"] == 1
        assert st["sent"] == n + 1
        # what was never written to the kernel is counted; the rest was in flight
        assert 0 < st["dropped_disconnect"] <= n
        mon.close()
    finally:
        kill(p)
        ctx.destroy(linger=0)


TTL_PUB = """
import sys, time, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.PUB)
s.heartbeat_ivl = 100
s.heartbeat_ttl = 1000  # tells its peers: drop me after 1 s of silence
port = s.bind_to_random_port("tcp://127.0.0.1")
print(port, flush=True)
print("ready", flush=True)
while True:
    s.send(b"tick")
    time.sleep(0.01)
"""


@pytest.mark.timeout(30)
def test_frozen_publisher_detected_by_its_heartbeat_ttl():
    """The edgezmq SUB sets no heartbeat of its own: the frozen libzmq PUB's
    HEARTBEAT_TTL (sent in its PINGs) is enough to drop it."""
    proc = subprocess.Popen([sys.executable, "-u", "-c", textwrap.dedent(TTL_PUB)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline())
    assert proc.stdout.readline().strip() == "ready"
    ctx = zmq.Context()
    try:
        sub = ctx.socket(zmq.SUB)
        sub.subscribe(b"")
        sub.reconnect_ivl = -1
        mon = sub.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        sub.connect("tcp://127.0.0.1:%d" % port)
        sub.rcvtimeo = 5000
        assert sub.recv() == b"tick"
        time.sleep(0.3)  # a PING or two with the TTL
        os.kill(proc.pid, signal.SIGSTOP)
        frozen = time.monotonic()
        ev = recv_event(mon, 5000)
        assert ev is not None and ev[0] == zmq.EVENT_DISCONNECTED
        took = time.monotonic() - frozen
        print("\nTTL 1000 ms: frozen publisher dropped after %.0f ms" % (took * 1000))
        assert took < 1000 + 2000
        mon.close()
    finally:
        kill(proc)
        ctx.destroy(linger=0)


HB_DEALER = """
import sys, time, zmq, zmq.utils.monitor
ctx = zmq.Context()
d = ctx.socket(zmq.DEALER)
d.heartbeat_ivl = 100
d.heartbeat_timeout = 300
mon = d.get_monitor_socket(zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED)
d.connect(sys.argv[1])
print("ready", flush=True)
ups = downs = 0
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    if mon.poll(50):
        ev = zmq.utils.monitor.recv_monitor_message(mon)["event"]
        ups += ev == zmq.EVENT_HANDSHAKE_SUCCEEDED
        downs += ev == zmq.EVENT_DISCONNECTED
d.send(b"still-here")
print("events", ups, downs, flush=True)
time.sleep(0.5)
"""


@pytest.mark.timeout(30)
def test_idle_socket_answers_libzmq_heartbeats():
    """With the I/O thread, an application that sleeps still answers PINGs:
    a libzmq peer with a 300 ms heartbeat timeout never drops us."""
    ctx = zmq.Context(io_threads=1)
    try:
        router = ctx.socket(zmq.ROUTER)
        port = router.bind_to_random_port("tcp://127.0.0.1")
        p = spawn(HB_DEALER, "tcp://127.0.0.1:%d" % port, 1.2)  # four heartbeat timeouts
        out, err = p.communicate(timeout=10)  # meanwhile the application does nothing at all
        assert out.split() == ["events", "1", "0"], (out, err)
        assert router.poll(5000)
        assert router.recv_multipart()[1] == b"still-here"
        st = router.get_stats()
        assert st["connects"] == 1 and st["heartbeat_timeouts"] == 0
    finally:
        ctx.destroy(linger=0)


@pytest.mark.timeout(30)
def test_silent_clients_expire_at_handshake_ivl():
    """Raw clients that connect and never greet are closed at HANDSHAKE_IVL
    and counted; their descriptors are released."""
    ctx = zmq.Context()
    try:
        router = ctx.socket(zmq.ROUTER)
        router.handshake_ivl = 300
        port = router.bind_to_random_port("tcp://127.0.0.1")
        time.sleep(0.1)
        fds0 = fd_count()
        raws = [socket.create_connection(("127.0.0.1", port)) for _ in range(50)]
        assert wait_for(lambda: router.get_stats()["handshake_failures"] == 50, 10), router.get_stats()
        assert wait_for(lambda: not router.engines, 5)
        for r in raws:
            assert r.recv(100) is not None  # edgezmq's greeting, then EOF
            r.close()
        assert fd_count() <= fds0
    finally:
        ctx.destroy(linger=0)
