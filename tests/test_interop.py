"""Interop against real libzmq: pyzmq runs in a separate process
(tests/peers/pyzmq_peer.py) and talks to edgezmq over real tcp and ipc sockets."""
import os
import signal
import time

import edgezmq as ez
import pytest
from peers.remote import Peer, RemoteSock, micropython_peer
from support import wait_connected

pytest.importorskip("zmq")


class LocalSock:
    """An edgezmq socket behind the same interface."""

    def __init__(self, ctx, stype, **opts):
        self.s = ctx.socket(getattr(ez, stype))
        self.s.linger = 0
        for k, v in opts.items():
            self.s.setsockopt(getattr(ez, k.upper()), v)

    def bind(self, ep):
        self.s.bind(ep)
        return self.s.last_endpoint.decode()

    def connect(self, ep):
        self.s.connect(ep)

    def send(self, parts):
        self.s.send_multipart(parts)

    def recv(self, timeout=3000):
        if not self.s.poll(timeout):
            return None
        return self.s.recv_multipart()

    def wait_attached(self, timeout=3.0):
        """Drive the reactor until the handshake attached the peer."""
        end = time.monotonic() + timeout
        while not [p for p in self.s.pattern.pipes if p.connected] and time.monotonic() < end:
            self.s.poll(10)
        assert [p for p in self.s.pattern.pipes if p.connected], "no peer attached"

    def pump(self):
        self.s.poll(0)

    def close(self):
        self.s.close(0)


@pytest.fixture(scope="module")
def peer():
    p = Peer()
    yield p
    p.close()


@pytest.fixture(params=["thread", "cooperative"])
def ctx(request):
    c = ez.Context(io_threads=1 if request.param == "thread" else 0)
    yield c
    c.destroy(linger=0)


def endpoint(transport, tmp_path):
    if transport == "tcp":
        return "tcp://127.0.0.1:*"
    return "ipc://%s/ez.ipc" % tmp_path


BIG = os.urandom(1 << 20)
MSG = [b"", bytes(range(256))[:255], bytes(range(256)), BIG]
REPLY = [b"reply", b"", b"\xff" * 256]

# (A, B, identities needed): A sends first; B is the other end
PAIRINGS = [
    ("PAIR", "PAIR"),
    ("PUB", "SUB"),
    ("PUB", "XSUB"),
    ("XPUB", "SUB"),
    ("XPUB", "XSUB"),
    ("REQ", "REP"),
    ("REQ", "ROUTER"),
    ("DEALER", "REP"),
    ("DEALER", "ROUTER"),
    ("DEALER", "DEALER"),
    ("ROUTER", "ROUTER"),
    ("PUSH", "PULL"),
]


def _make(kind, ctx, peer, stype, ident):
    opts = {}
    if ident:
        opts["routing_id"] = ident
    if stype == "SUB":
        opts["subscribe"] = b""
    if stype == "ROUTER":
        opts["router_mandatory"] = 1
    if kind == "edge":
        return LocalSock(ctx, stype, **opts)
    return peer.socket(stype, **opts)


def _recv_skipping(sock, skip, timeout=3000):
    deadline = time.monotonic() + timeout / 1000
    while time.monotonic() < deadline:
        m = sock.recv(200)
        if m is not None and m != skip:
            return m
    return None


def exchange(a_type, b_type, a, b, msg=MSG, reply=REPLY):
    """Run one pairing's conversation; a sends first. Asserts byte-exact delivery."""
    if b_type == "XSUB":
        b.send([b"\x01"])
    if a_type == "XPUB":
        # libzmq attaches (and subscribes) a pipe only when its thread enters
        # the socket: poll the subscriber while waiting for the subscription
        for _ in range(100):
            got = a.recv(20)
            if got is not None:
                break
            assert b.recv(10) is None
        assert got == [b"\x01"]
    if a_type in ("PUB", "XPUB"):
        probe = [b"probe"]
        for _ in range(100):
            a.send(probe)
            if b.recv(50) is not None:
                break
        else:
            pytest.fail("subscriber never joined")
        a.send(msg)
        assert _recv_skipping(b, probe) == msg
        return
    if a_type == "ROUTER":  # ROUTER-ROUTER: ids b"A" (a) and b"B" (b); retry until routable
        for _ in range(200):
            try:
                a.send([b"B"] + msg)
                break
            except ez.ZMQError as e:
                assert e.errno == ez.EHOSTUNREACH
                time.sleep(0.01)
        else:
            pytest.fail("peer never became routable")
        assert b.recv() == [b"A"] + msg
        b.send([b"A"] + reply)
        assert a.recv() == [b"B"] + reply
        return
    if a_type == "DEALER" and b_type == "REP":
        a.send([b""] + msg)
    else:
        a.send(msg)
    got = b.recv()
    if b_type == "ROUTER":
        assert got is not None and len(got) >= 2
        ident = got[0]
        if a_type == "REQ":
            assert got[1:] == [b""] + msg
            b.send([ident, b""] + reply)
        else:
            assert got[1:] == msg
            b.send([ident] + reply)
    else:
        assert got == msg
        if b_type == "PULL":
            return
        b.send(reply)
    got = a.recv()
    if a_type == "DEALER" and b_type == "REP":
        assert got == [b""] + reply
    else:
        assert got == reply


# the device's messages: a MicroPython unix port at 256K holds no 1 MiB frame
MP_MSG = [b"", bytes(range(256))[:255], bytes(range(256)), os.urandom(3000)]


@pytest.mark.parametrize("mode", ["thread", "cooperative", "micropython"])
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("binder", ["a", "b"])
@pytest.mark.parametrize("edge", ["a", "b"])
@pytest.mark.parametrize("pairing", PAIRINGS, ids=lambda p: "%s-%s" % p)
def test_pairing_matrix(pairing, edge, binder, transport, mode, peer, tmp_path, request):
    """Every pairing, edgezmq on either side and either binding, tcp and ipc,
    edgezmq running on CPython (I/O thread or cooperative) or in the
    MicroPython unix port (a device process driven like the pyzmq peer)."""
    a_type, b_type = pairing
    rr = a_type == "ROUTER"
    msg = MSG
    if mode == "micropython":
        device = micropython_peer(request.getfixturevalue("mp_bundle"))
        request.addfinalizer(device.close)
        c = None
        msg = MP_MSG
    else:
        c = ez.Context(io_threads=1 if mode == "thread" else 0)
        request.addfinalizer(lambda: c.destroy(linger=0))
        device = None

    def side(which, stype, ident):
        if device is not None:  # the device's socket, driven like the pyzmq peer's
            return _make("peer", None, device if edge == which else peer, stype, ident)
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
        exchange(a_type, b_type, a, b, msg)
    finally:
        peer.pump = None
        a.close()
        b.close()


@pytest.mark.parametrize("pairing", PAIRINGS, ids=lambda p: "%s-%s" % p)
def test_micropython_inproc_matrix(pairing, request):
    """inproc on the device: both ends in one MicroPython context, the same
    conversations as the wire matrix."""
    a_type, b_type = pairing
    rr = a_type == "ROUTER"
    device = micropython_peer(request.getfixturevalue("mp_bundle"))
    request.addfinalizer(device.close)
    a = _make("peer", None, device, a_type, b"A" if rr else None)
    b = _make("peer", None, device, b_type, b"B" if rr else None)
    ep = a.bind("inproc://matrix")
    assert ep == "inproc://matrix"
    b.connect(ep)
    exchange(a_type, b_type, a, b, MP_MSG)
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
    ep = r.bind("tcp://127.0.0.1:*").last_endpoint.decode()
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
