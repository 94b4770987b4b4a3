"""Interop against real libzmq: pyzmq runs in a separate process
(tests/peers/pyzmq_peer.py) and talks to edgezmq over real tcp and ipc
sockets: every socket pairing, heartbeats both ways, peer restarts."""
import logging
import os
import signal
import time

import edgezmq as ez
import pytest
from pairing_kit import MSG, PAIRINGS, _make, ctx_fixture, endpoint, exchange, peer_fixture  # noqa: F401 (fixtures: ctx, peer)
from peers.remote import Peer, RemoteSock
from support import wait_connected

pytest.importorskip("zmq")


@pytest.mark.parametrize("mode", ["thread", "cooperative"])
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("binder", ["a", "b"])
@pytest.mark.parametrize("edge", ["a", "b"])
@pytest.mark.parametrize("pairing", PAIRINGS, ids=lambda p: "%s-%s" % p)
def test_pairing_matrix(pairing, edge, binder, transport, mode, peer, tmp_path, request):
    """Every pairing, edgezmq on either side and either binding, tcp and ipc,
    edgezmq running on CPython (I/O thread or cooperative); the MicroPython
    unix port runs the same matrix in micropython/test_interop_micropython.py."""
    a_type, b_type = pairing
    rr = a_type == "ROUTER"
    c = ez.Context(io_threads=1 if mode == "thread" else 0)
    request.addfinalizer(lambda: c.destroy(linger=0))

    def side(which, stype, ident):
        return _make("edge" if edge == which else "peer", c, peer, stype, ident)

    a = side("a", a_type, b"A" if rr else None)
    b = side("b", b_type, b"B" if rr else None)
    try:
        first, second = (a, b) if binder == "a" else (b, a)
        ep = first.bind(endpoint(transport, tmp_path))
        second.connect(ep)
        if mode == "cooperative":
            # libzmq may block in send until the connection exists, and a
            # cooperative edgezmq only handshakes inside its own calls
            edge_sock = a if edge == "a" else b
            edge_sock.wait_attached()
            peer.pump = edge_sock.pump
        exchange(a_type, b_type, a, b, MSG)
    finally:
        peer.pump = None
        a.close()
        b.close()


# -- heartbeats ---------------------------------------------------------------
def _pump(sock, seconds):
    """Keep edgezmq's reactor running (cooperative mode needs a blocking call)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sock.poll(50)


def test_libzmq_heartbeats_are_answered(ctx, peer):
    r = peer.socket("ROUTER", heartbeat_ivl=50, heartbeat_timeout=300, heartbeat_ttl=500)
    ep = r.bind("tcp://127.0.0.1:*")
    d = ctx.socket(ez.DEALER)
    d.linger = 0
    mon = d.get_monitor_socket()
    try:
        d.connect(ep)
        wait_connected(d)
        d.send(b"hi")
        got = r.recv()
        assert got[1:] == [b"hi"]
        # 4 heartbeat timeouts: the connection must survive; with an I/O thread
        # the application may simply sleep, a cooperative one must call in
        if ctx.io_thread is not None:
            time.sleep(1.2)
        else:
            _pump(d, 1.2)
        r.send([got[0], b"still here"])
        assert d.poll(3000) and d.recv() == b"still here"
        events = []
        while mon.poll(0):
            events.append(_parse_monitor(mon.recv_multipart())["event"])
        assert ez.EVENT_DISCONNECTED not in events
        assert events.count(ez.EVENT_HANDSHAKE_SUCCEEDED) == 1
    finally:
        mon.close(0)
        d.close(0)
        r.close()


def test_edgezmq_heartbeats_keep_a_libzmq_peer(ctx, peer):
    r = ctx.socket(ez.ROUTER)
    r.linger = 0
    r.heartbeat_ivl = 50
    r.heartbeat_timeout = 300
    r.bind("tcp://127.0.0.1:*")
    ep = r.last_endpoint.decode()
    d = peer.socket("DEALER")
    d.connect(ep)
    d.monitor()
    try:
        d.send([b"one"])
        assert r.poll(3000)
        ident, body = r.recv_multipart()
        assert body == b"one"
        if ctx.io_thread is not None:
            time.sleep(1.0)
        else:
            _pump(r, 1.0)
        d.send([b"two"])
        assert r.poll(3000)
        assert r.recv_multipart() == [ident, b"two"]  # same connection, same routing id
        evs = [e for e, _ in d.events(0)]
        assert 512 not in evs  # no disconnect seen by libzmq
    finally:
        d.close()
        r.close(0)


def test_silent_peer_dropped_by_heartbeat(ctx, caplog):
    caplog.set_level(logging.DEBUG, "edgezmq")  # connection events are DEBUG lines
    p = Peer()
    try:
        rep = p.socket("ROUTER")
        ep = rep.bind("tcp://127.0.0.1:*")
        d = ctx.socket(ez.DEALER)
        d.linger = 0
        d.heartbeat_ivl = 50
        d.heartbeat_timeout = 200
        d.reconnect_ivl = -1
        mon = d.get_monitor_socket()
        d.connect(ep)
        wait_connected(d)
        d.send(b"x")
        assert rep.recv() is not None
        os.kill(p.p.pid, signal.SIGSTOP)
        try:
            evs = []
            end = time.monotonic() + 3
            while time.monotonic() < end and ez.EVENT_DISCONNECTED not in evs:
                if mon.poll(100):
                    evs.append(_parse_monitor(mon.recv_multipart())["event"])
        finally:
            os.kill(p.p.pid, signal.SIGCONT)
        assert ez.EVENT_DISCONNECTED in evs
        assert any("heartbeat" in r.getMessage() for r in caplog.records if r.name == "edgezmq")
        mon.close(0)
        d.close(0)
    finally:
        p.close()


# -- restart -------------------------------------------------------------------
def test_libzmq_peer_restart_sub_resubscribes(ctx, tmp_path):
    ep = "ipc://%s/restart.ipc" % tmp_path
    p = Peer("--socket", "PUB", "--bind", ep)
    sub = ctx.socket(ez.SUB)
    sub.linger = 0
    sub.reconnect_ivl = 20
    sub.subscribe(b"t")
    sub.connect(ep)
    try:
        for round_ in range(2):
            pub = RemoteSock(p, "s")
            got = None
            for _ in range(100):
                pub.send([b"nope"])
                pub.send([b"t", b"%d" % round_])
                if sub.poll(50):
                    got = sub.recv_multipart()
                    break
            assert got == [b"t", b"%d" % round_]
            if round_ == 0:
                p.kill()
                p = Peer("--socket", "PUB", "--bind", ep)
    finally:
        sub.close(0)
        p.close()


def test_libzmq_peer_restart_push_reconnects(ctx):
    p = Peer("--socket", "PULL", "--bind", "tcp://127.0.0.1:0")
    ep = p.startup[0]["ep"]
    push = ctx.socket(ez.PUSH)
    push.linger = 0
    push.reconnect_ivl = 20
    push.connect(ep)
    try:
        wait_connected(push)
        push.send(b"before")
        assert RemoteSock(p, "s").recv() == [b"before"]
        p.kill()
        p = Peer("--socket", "PULL", "--bind", ep)
        _pump(push, 0.1)
        wait_connected(push)
        push.send(b"after")
        got = RemoteSock(p, "s").recv()
        assert got == [b"after"]
    finally:
        push.close(0)
        p.close()


def _parse_monitor(msg):
    import struct

    event, value = struct.unpack("=hi", msg[0][:6])
    return {"event": event, "value": value, "endpoint": msg[1]}
