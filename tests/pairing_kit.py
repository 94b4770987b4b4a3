"""The socket pairings of the interop matrix and the conversation each holds,
with edgezmq and libzmq (tests/peers/pyzmq_peer.py) sockets behind one
interface; shared by interop/test_interop.py and
micropython/test_interop_micropython.py."""
import os
import time

import edgezmq as ez
import pytest
from peers.remote import Peer


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


@pytest.fixture(scope="module", name="peer")
def peer_fixture():
    p = Peer()
    yield p
    p.close()


@pytest.fixture(params=["thread", "cooperative"], name="ctx")
def ctx_fixture(request):
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
