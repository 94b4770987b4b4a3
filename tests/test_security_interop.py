"""PLAIN, CURVE and ZAP at socket level against real libzmq, and libzmq's
security test cases replayed against edgezmq servers over raw TCP.

libzmq runs in a separate process (tests/peers/pyzmq_auth_peer.py: the JSON
peer of tests/peers/pyzmq_peer.py plus zmq.auth.ThreadAuthenticator); the
edgezmq side authenticates with edgezmq.auth. Everything listens on 127.0.0.1
and every wait is bounded.
"""
import os
import socket
import subprocess
import sys
import time

import edgezmq as ez
import pytest
from edgezmq import z85
from edgezmq.auth import ThreadAuthenticator, create_certificates
from edgezmq.ports.cpython.crypto import PyNaclCrypto
from edgezmq.security import create
from edgezmq.security import zap as ez_zap
from edgezmq.security.mechanism import MechanismConfig
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from peers import remote

pytest.importorskip("zmq")

AUTH_PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers", "pyzmq_auth_peer.py")
NACL = PyNaclCrypto()


def _pair():
    pk, sk = NACL.keypair()
    return pk, sk


SERVER = _pair()
CLIENT = _pair()
STRANGER = _pair()  # a client key no certificate vouches for


class AuthPeer(remote.Peer):
    """remote.Peer running the peer script with the ZAP command."""

    def __init__(self):
        self.pump = None
        self.p = subprocess.Popen([sys.executable, AUTH_PEER], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, bufsize=1)
        while not self._read().get("ready"):
            pass
        self.n = 0

    def auth(self, **kw):
        r = self.call("auth", **kw)
        assert r.get("ok"), r


@pytest.fixture
def peer():
    p = AuthPeer()
    yield p
    p.close()


@pytest.fixture
def ctx():
    c = ez.Context(io_threads=1)
    c.log = lambda msg: None  # refused handshakes are expected here
    yield c
    c.destroy(linger=0)


@pytest.fixture
def certs(tmp_path):
    """A directory holding the good client's public certificate only."""
    d = tmp_path / "certs"
    d.mkdir()
    create_certificates(str(d), "client", keypair=(z85.encode(CLIENT[0]), z85.encode(CLIENT[1])))
    os.remove(str(d / "client.key_secret"))  # the server side holds public keys only
    return str(d)


# --- both ends behind one interface -------------------------------------------


def sec_opts(mech, role, good=True):
    """Socket options for a server, a good client, or a bad one."""
    if mech == "PLAIN":
        if role == "server":
            return {"plain_server": 1}
        return {"plain_username": b"admin", "plain_password": b"secret" if good else b"wrong"}
    if role == "server":
        return {"curve_server": 1, "curve_secretkey": SERVER[1], "curve_publickey": SERVER[0]}
    pk, sk = CLIENT if good else STRANGER
    return {"curve_serverkey": SERVER[0], "curve_publickey": pk, "curve_secretkey": sk}


class Local:
    def __init__(self, ctx, stype, opts):
        self.s = ctx.socket(getattr(ez, stype))
        self.s.linger = 0
        self.s.sndtimeo = 3000
        for k, v in opts.items():
            self.s.setsockopt(getattr(ez, k.upper()), v)

    def bind(self):
        self.s.bind("tcp://127.0.0.1:*")
        return self.s.last_endpoint.decode()

    def connect(self, ep):
        self.s.connect(ep)

    def subscribe(self, topic):
        self.s.subscribe(topic)

    def send(self, parts):
        self.s.send_multipart(parts)

    def recv(self, timeout=3000):
        if not self.s.poll(timeout):
            return None
        return self.s.recv_multipart()

    def close(self):
        self.s.close(0)


class Remote:
    def __init__(self, peer, stype, opts):
        self.r = peer.socket(stype, **opts)

    def bind(self):
        return self.r.bind("tcp://127.0.0.1:*")

    def connect(self, ep):
        self.r.connect(ep)

    def subscribe(self, topic):
        self.r.setopt("SUBSCRIBE", topic)

    def send(self, parts):
        self.r.send(parts)

    def recv(self, timeout=3000):
        return self.r.recv(timeout)

    def close(self):
        self.r.close()


def make(side, ctx, peer, stype, opts):
    return Local(ctx, stype, opts) if side == "edgezmq" else Remote(peer, stype, opts)


def start_auth(side, ctx, peer, mech, certs):
    """ZAP on the server's side: edgezmq.auth or zmq.auth, same policy."""
    if side == "edgezmq":
        a = ThreadAuthenticator(ctx)
        a.start()
        a.configure_plain(domain="*", passwords={"admin": "secret"})
        a.configure_curve(domain="*", location=certs)
        return a
    peer.auth(passwords={"admin": "secret"}, curve=certs)
    return None


def exchange(server, client, pattern, tag, timeout=3000):
    """One message through the pattern; -> True if it arrived intact."""
    if pattern == "REQ-REP":
        client.send([b"req", tag])
        got = server.recv(timeout)
        if got != [b"req", tag]:
            return False
        server.send([b"rep", tag])
        return client.recv(timeout) == [b"rep", tag]
    if pattern == "PUSH-PULL":
        client.send([b"push", tag])
        return server.recv(timeout) == [b"push", tag]
    # PUB-SUB: the client subscribes (inside MESSAGE under CURVE); the server
    # publishes until the subscription has arrived (slow joiner)
    end = time.monotonic() + timeout / 1000.0
    while time.monotonic() < end:
        server.send([b"other", tag])  # filtered out by the subscription
        server.send([b"t", tag])
        got = client.recv(100)
        if got is not None:
            return got == [b"t", tag]
    return False


def try_bad(server, client, pattern):
    """A refused client: nothing may reach the server (or the subscriber)."""
    if pattern == "PUB-SUB":
        return exchange(server, client, pattern, b"bad", timeout=800)
    try:
        client.send([b"bad", b"bad"])
    except ez.Again:
        return False  # the client never got a peer: nothing queued anywhere
    except ez.ZMQError:
        return False
    return server.recv(800) is not None


PATTERNS = {"REQ-REP": ("REQ", "REP"), "PUSH-PULL": ("PUSH", "PULL"), "PUB-SUB": ("SUB", "PUB")}


@pytest.mark.parametrize("mech,zap", [("PLAIN", True), ("PLAIN", False), ("CURVE", True),
                                      ("CURVE", False)],
                         ids=["plain-zap", "plain-nozap", "curve-zap", "curve-nozap"])
@pytest.mark.parametrize("pattern", sorted(PATTERNS))
@pytest.mark.parametrize("server_side", ["edgezmq", "libzmq"])
def test_security_matrix(ctx, peer, certs, server_side, pattern, mech, zap):
    client_side = "libzmq" if server_side == "edgezmq" else "edgezmq"
    ctype, stype = PATTERNS[pattern]
    auth = start_auth(server_side, ctx, peer, mech, certs) if zap else None
    try:
        server = make(server_side, ctx, peer, stype, sec_opts(mech, "server"))
        ep = server.bind()
        if mech == "PLAIN" and not zap:
            # libzmq 4.3 and edgezmq refuse every PLAIN client without a ZAP handler
            good = make(client_side, ctx, peer, ctype, sec_opts(mech, "client"))
            if ctype == "SUB":
                good.subscribe(b"t")
            good.connect(ep)
            assert not try_bad(server, good, pattern)
            _assert_refused(server_side, server, good)
            return
        if zap:
            bad = make(client_side, ctx, peer, ctype, sec_opts(mech, "client", good=False))
            if ctype == "SUB":
                bad.subscribe(b"t")
            bad.connect(ep)
            assert not try_bad(server, bad, pattern), "a refused client's message was delivered"
            _assert_refused(server_side, server, bad)
        good = make(client_side, ctx, peer, ctype, sec_opts(mech, "client"))
        if ctype == "SUB":
            good.subscribe(b"t")
        good.connect(ep)
        for i in range(3):
            assert exchange(server, good, pattern, b"%d" % i), "good client not served"
        if server_side == "edgezmq" and zap:
            users = {p.user_id for p in server.s.pattern.pipes if p.active}
            assert users == {b"admin" if mech == "PLAIN" else z85.encode(CLIENT[0])}
    finally:
        if auth is not None:
            auth.stop()


def _assert_refused(server_side, server, client):
    """The refused connection was closed, and never reached the socket's routing."""
    if server_side == "edgezmq":
        s = server.s
        end = time.monotonic() + 3
        while s.stats["handshake_failures"] < 1 and time.monotonic() < end:
            time.sleep(0.02)
        assert s.stats["handshake_failures"] >= 1
        assert not [p for p in s.pattern.pipes if p.active]
        assert s.stats["connects"] == 0
    else:
        # libzmq closes (quietly, or after ERROR): our client never attached it
        s = client.s
        assert s.stats["connects"] == 0
        assert not [p for p in s.pattern.pipes if p.connected]


def test_cooperative_context_curve_zap_edgezmq_server(peer, certs):
    """The same ZAP path when no I/O thread exists (MicroPython's model)."""
    c = ez.Context(io_threads=0)
    c.log = lambda msg: None
    auth = ThreadAuthenticator(c)
    auth.start()
    auth.configure_curve(domain="*", location=certs)
    try:
        pull = Local(c, "PULL", sec_opts("CURVE", "server"))
        ep = pull.bind()
        peer.pump = lambda: pull.s.poll(0)
        bad = Remote(peer, "PUSH", sec_opts("CURVE", "client", good=False))
        bad.connect(ep)
        bad.send([b"bad"])
        good = Remote(peer, "PUSH", sec_opts("CURVE", "client"))
        good.connect(ep)
        good.send([b"good"])
        assert pull.recv(3000) == [b"good"]
        assert pull.recv(300) is None
        assert pull.s.stats["handshake_failures"] >= 1
    finally:
        peer.pump = None
        auth.stop()
        c.destroy(linger=0)


# --- edgezmq.security.zap.serve: status codes ---------------------------------------------


@pytest.mark.parametrize("status", [200, 300, 400, 500, "raise"])
def test_zap_serve_status_codes_against_libzmq_client(ctx, peer, status):
    """200 lets the client in; 300 closes quietly; 400/500 send ERROR; a
    handler that raises answers 500. libzmq's client sees each."""
    seen = []

    def handler(domain, address, mechanism, credentials):
        seen.append((domain, address, mechanism, credentials))
        if status == "raise":
            raise RuntimeError("policy store unavailable")
        return status, b"user-" + credentials[0][:2]

    zap = ez_zap.serve(ctx, handler)
    try:
        pull = Local(ctx, "PULL", dict(sec_opts("CURVE", "server"), zap_domain=b"dom"))
        ep = pull.bind()
        push = Remote(peer, "PUSH", sec_opts("CURVE", "client"))
        push.r.monitor()
        push.connect(ep)
        push.send([b"x"])
        got = pull.recv(1500 if status == 200 else 800)
        if status == 200:
            assert got == [b"x"]
            assert pull.s.pattern.pipes[0].user_id == b"user-" + CLIENT[0][:2]
        else:
            assert got is None
            assert pull.s.stats["handshake_failures"] >= 1
        assert seen and seen[0][0] == "dom" and seen[0][1] == "127.0.0.1" and seen[0][2] == "CURVE"
        assert seen[0][3] == [CLIENT[0]]
        time.sleep(0.3)
        events = [e for e, _ in push.r.events(timeout=0)]  # 300: libzmq keeps reconnecting
        import zmq

        if status in (400, 500, "raise"):
            assert zmq.EVENT_HANDSHAKE_FAILED_AUTH in events, events
        elif status == 300:
            assert zmq.EVENT_HANDSHAKE_FAILED_AUTH not in events, events
            assert zmq.EVENT_DISCONNECTED in events, events
    finally:
        zap.close()


# --- libzmq's security tests replayed over raw TCP ---------------------------------


def _greeting(mech=b"CURVE", major=3, minor=0, as_server=0):
    return (b"\xff" + bytes(8) + b"\x7f" + bytes((major, minor)) + mech.ljust(20, b"\0")
            + bytes((as_server,)) + bytes(31))


class Raw:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)

    def recvn(self, n):
        b = b""
        while len(b) < n:
            c = self.sock.recv(n - len(b))
            if not c:
                raise EOFError("closed after %d of %d bytes" % (len(b), n))
            b += c
        return b

    def frame(self, body, flags=0):
        if len(body) > 255:
            self.sock.sendall(bytes((flags | 2,)) + len(body).to_bytes(8, "big") + body)
        else:
            self.sock.sendall(bytes((flags, len(body))) + body)

    def recv_frame(self):
        f = self.recvn(1)[0]
        n = int.from_bytes(self.recvn(8), "big") if f & 2 else self.recvn(1)[0]
        return f, self.recvn(n)

    def closed_by_peer(self, timeout=3.0):
        """True when the server closes the connection within timeout."""
        self.sock.settimeout(timeout)
        end = time.monotonic() + timeout
        try:
            while time.monotonic() < end:
                if not self.sock.recv(4096):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        return False

    def close(self):
        self.sock.close()


def _client_mech(public=None, secret=None, server_key=None):
    cc = MechanismConfig()
    cc.curve_serverkey = server_key or SERVER[0]
    cc.curve_publickey = public or CLIENT[0]
    cc.curve_secretkey = secret or CLIENT[1]
    cc.crypto = NACL
    return create(b"CURVE", cc, False, [(b"Socket-Type", b"PUSH")])


@pytest.fixture
def curve_pull(ctx):
    """An edgezmq CURVE PULL server with no ZAP handler (any client key)."""
    s = Local(ctx, "PULL", sec_opts("CURVE", "server"))
    ep = s.bind()
    yield s, int(ep.rsplit(":", 1)[1])


def _handshake(raw, mech, mutate=None):
    """Drive mech over raw; mutate(name, body) -> body may corrupt what we send."""
    raw.sock.sendall(_greeting())
    peer = raw.recvn(64)
    assert peer[12:17] == b"CURVE"
    mech.start()
    while True:
        while mech.out:
            body = mech.out.pop(0)
            if mutate is not None:
                body = mutate(body[1 : 1 + body[0]], body)
            raw.frame(body, 4)
        if mech.ready:
            return
        _, body = raw.recv_frame()
        mech.on_command(body)


CLOSED = (EOFError, OSError)  # the server closed on us (EOF, reset, broken pipe)


def _flip(body, i):
    b = bytearray(body)
    b[i] ^= 0x01
    return bytes(b)


def _good_client_still_served(ctx, pull, port):
    mech = _client_mech()
    raw = Raw(port)
    _handshake(raw, mech)
    raw.frame(mech.encode(0, b"good"))
    assert pull.recv(3000) == [b"good"]
    raw.close()


HOSTILE = {
    # ZMTP 1.0: a short greeting (length 1, flags 0, empty identity), then a message
    "zmtp10-greeting-then-message": lambda: b"\x01\x00" + b"\x06\x00hello",
    "null-client": lambda: _greeting(b"NULL") + b"\x04\x19\x05READY\x0bSocket-Type\x00\x00\x00\x04PUSH",
    "plain-client": lambda: _greeting(b"PLAIN") + b"\x04\x0d\x05HELLO\x03abc\x03def",
    "zmtp2-greeting": lambda: b"\xff" + bytes(8) + b"\x7f\x01\x05" + b"\x00" * 20,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_greetings_closed(ctx, curve_pull, name):
    pull, port = curve_pull
    raw = Raw(port)
    raw.sock.sendall(HOSTILE[name]())
    assert raw.closed_by_peer()
    assert pull.recv(200) is None
    _good_client_still_served(ctx, pull, port)


def _mutate_hello(fn):
    return lambda name, body: fn(body) if name == b"HELLO" else body


def _mutate_initiate(fn):
    return lambda name, body: fn(body) if name == b"INITIATE" else body


HANDSHAKE_ATTACKS = {
    "hello-short": _mutate_hello(lambda b: b[:-1]),
    "hello-long": _mutate_hello(lambda b: b + b"\0"),
    "hello-wrong-name": _mutate_hello(lambda b: b"\x05HELLP" + b[6:]),
    "hello-wrong-version": _mutate_hello(lambda b: b[:6] + b"\x02\x00" + b[8:]),
    "hello-zero-client-key": _mutate_hello(lambda b: b[:80] + bytes(32) + b[112:]),
    "hello-flipped-box": _mutate_hello(lambda b: _flip(b, 150)),
    "initiate-short": _mutate_initiate(lambda b: b[:256]),
    "initiate-wrong-name": _mutate_initiate(lambda b: b"\x08INITIATF" + b[9:]),
    "initiate-flipped-cookie": _mutate_initiate(lambda b: _flip(b, 40)),
    "initiate-flipped-box": _mutate_initiate(lambda b: _flip(b, 200)),
}


@pytest.mark.parametrize("name", sorted(HANDSHAKE_ATTACKS))
def test_curve_handshake_attacks_closed(ctx, curve_pull, name):
    pull, port = curve_pull
    raw = Raw(port)
    with pytest.raises(CLOSED):
        _handshake(raw, _client_mech(), HANDSHAKE_ATTACKS[name])
        raw.frame(b"\x07MESSAGE" + bytes(40))
        raw.recv_frame()
    assert raw.closed_by_peer()
    assert pull.recv(200) is None
    assert pull.s.stats["connects"] == 0
    _good_client_still_served(ctx, pull, port)


def test_curve_all_zero_client_long_term_key_closed(ctx, curve_pull):
    """A vouch under an all-zero long-term key cannot be opened (low-order point)."""
    pull, port = curve_pull
    mech = _client_mech()
    orig = mech._on_welcome

    def welcome(body):  # INITIATE names an all-zero long-term key
        mech._public = bytes(32)
        orig(body)

    mech._on_welcome = welcome
    raw = Raw(port)
    with pytest.raises(CLOSED):
        _handshake(raw, mech)
        raw.frame(mech.encode(0, b"zero"))
        raw.recv_frame()
    assert raw.closed_by_peer()
    assert pull.recv(200) is None
    _good_client_still_served(ctx, pull, port)


def test_curve_replayed_message_closed(ctx, curve_pull):
    pull, port = curve_pull
    mech = _client_mech()
    raw = Raw(port)
    _handshake(raw, mech)
    m = mech.encode(0, b"once")
    raw.frame(m)
    assert pull.recv(3000) == [b"once"]
    raw.frame(m)  # the same nonce again
    assert raw.closed_by_peer()
    assert pull.recv(300) is None
    _good_client_still_served(ctx, pull, port)


@pytest.mark.parametrize("meta", [
    b"\x0bSocket-Type\x00\x00\x00\x04PUSH\x05Extra\x00\x01\x00\x00" + b"x" * 100,  # overruns
    b"\x0bSocket-Type\x00\x00\x00\x04PUSH" + b"\x01X\x00\x00\x00\x00" * 70,  # too many
    b"\x0bSocket-Type\xff\xff\xff\xffPUSH",  # value length far past the box
])
def test_curve_bad_initiate_metadata_closed(ctx, curve_pull, meta):
    pull, port = curve_pull
    mech = _client_mech()
    mech.local_meta = []
    orig = NACL.box_afternm

    class Crypto(PyNaclCrypto):
        def box_afternm(self, msg, nonce, k):
            if nonce.startswith(b"CurveZMQINITIATE"):
                msg = bytes(msg) + meta
            return orig(msg, nonce, k)

    mech._crypto = Crypto()
    raw = Raw(port)
    with pytest.raises(CLOSED):
        _handshake(raw, mech)
        raw.frame(mech.encode(0, b"meta"))
        raw.recv_frame()
    assert raw.closed_by_peer()
    assert pull.recv(200) is None
    _good_client_still_served(ctx, pull, port)


def test_curve_large_valid_initiate_metadata_accepted(ctx, curve_pull):
    """A big but well-formed INITIATE (60 KiB property) is sized from the command."""
    pull, port = curve_pull
    mech = _client_mech()
    mech.local_meta = [(b"Socket-Type", b"PUSH"), (b"X-Big", b"b" * 60000)]
    raw = Raw(port)
    _handshake(raw, mech)
    raw.frame(mech.encode(0, b"big-meta"))
    assert pull.recv(3000) == [b"big-meta"]
    raw.close()


def test_curve_255_byte_routing_id_accepted(ctx, peer):
    """A libzmq DEALER with a 255-byte routing id and valid credentials."""
    router = Local(ctx, "ROUTER", sec_opts("CURVE", "server"))
    ep = router.bind()
    rid = b"R" * 255
    d = Remote(peer, "DEALER", dict(sec_opts("CURVE", "client"), routing_id=rid))
    d.connect(ep)
    d.send([b"hello"])
    assert router.recv(3000) == [rid, b"hello"]
    router.send([rid, b"back"])
    assert d.recv(3000) == [b"back"]


def test_unauthenticated_never_routable(ctx, peer, certs):
    """A ROUTER with ZAP: the refused client is never a routing destination."""
    decided = []

    def handler(domain, address, mechanism, credentials):
        ok = credentials[0] == CLIENT[0]
        decided.append(ok)
        return (200, b"ok") if ok else (400, b"")

    zap = ez_zap.serve(ctx, handler)
    try:
        router = Local(ctx, "ROUTER", dict(sec_opts("CURVE", "server"), router_mandatory=1))
        ep = router.bind()
        bad = Remote(peer, "DEALER", dict(sec_opts("CURVE", "client", good=False), routing_id=b"bad"))
        bad.connect(ep)
        bad.send([b"sneak"])
        end = time.monotonic() + 3
        while False not in decided and time.monotonic() < end:
            time.sleep(0.02)
        assert False in decided
        assert router.recv(300) is None
        with pytest.raises(ez.ZMQError) as e:
            router.send([b"bad", b"to the refused peer"])
        assert e.value.errno == ez.EHOSTUNREACH
        good = Remote(peer, "DEALER", dict(sec_opts("CURVE", "client"), routing_id=b"good"))
        good.connect(ep)
        good.send([b"hi"])
        assert router.recv(3000) == [b"good", b"hi"]
        assert [p.peer_identity for p in router.s.pattern.pipes if p.active] == [b"good"]
    finally:
        zap.close()


def test_idle_pre_handshake_connections_do_not_block_curve(ctx, peer, curve_pull):
    """200 connections that never finish a greeting; a good client is served."""
    pull, port = curve_pull
    idle = []
    try:
        for i in range(200):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            if i % 2:
                s.sendall(_greeting()[:20])  # half a greeting, then silence
            idle.append(s)
        end = time.monotonic() + 5
        while len(pull.s.engines) < 200 and time.monotonic() < end:
            time.sleep(0.02)
        assert len(pull.s.engines) >= 200  # all accepted, all held mid-greeting
        t = time.monotonic()
        push = Remote(peer, "PUSH", sec_opts("CURVE", "client"))
        push.connect("tcp://127.0.0.1:%d" % port)
        push.send([b"through"])
        assert pull.recv(5000) == [b"through"]
        assert time.monotonic() - t < 5
        assert len(pull.s.engines) >= 201 and pull.s.stats["handshake_failures"] == 0
    finally:
        for s in idle:
            s.close()


# --- edgezmq.auth policy, certificates and key tools ---------------------------------


def test_auth_allow_and_deny_addresses(ctx, peer):
    """allow() admits listed IPs only; deny() refuses listed IPs; PLAIN must
    still authenticate (the password is right in every case here)."""
    for policy, delivered in (("allow-other", False), ("allow-local", True), ("deny-local", False)):
        auth = ThreadAuthenticator(ctx)
        auth.start()
        if policy == "allow-other":
            auth.allow("10.9.9.9")
        elif policy == "allow-local":
            auth.allow("127.0.0.1")
        else:
            auth.deny("127.0.0.1")
        auth.configure_plain(domain="*", passwords={"admin": "secret"})
        try:
            pull = Local(ctx, "PULL", sec_opts("PLAIN", "server"))
            ep = pull.bind()
            push = Remote(peer, "PUSH", sec_opts("PLAIN", "client"))
            push.connect(ep)
            push.send([policy.encode()])
            got = pull.recv(1500 if delivered else 600)
            assert (got == [policy.encode()]) if delivered else got is None, policy
            assert auth.requests >= 1
            push.close()
            pull.close()
        finally:
            auth.stop()


def test_keygen_cli_certificates_load_in_pyzmq(tmp_path):
    import stat

    import zmq.auth

    r = subprocess.run([sys.executable, "-m", "edgezmq", "keygen", "dev1", "--dir", str(tmp_path / "k"),
                        "--meta", "name=dev1"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    pub, sec = tmp_path / "k" / "dev1.key", tmp_path / "k" / "dev1.key_secret"
    assert stat.S_IMODE(os.stat(str(sec)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(pub)).st_mode) == 0o644
    assert stat.S_IMODE(os.stat(str(tmp_path / "k")).st_mode) == 0o700  # made by keygen
    pk, sk = zmq.auth.load_certificate(str(sec))
    assert zmq.auth.load_certificate(str(pub)) == (pk, None)
    assert zmq.curve_public(sk) == pk
    assert pk.decode() in r.stdout
    assert zmq.auth.load_certificates(str(tmp_path / "k")) == {pk: True}
    # refuses to overwrite without --force
    r = subprocess.run([sys.executable, "-m", "edgezmq", "keygen", "dev1", "--dir", str(tmp_path / "k")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    # --force over a secret file someone made readable: rewritten, and 0600 again
    os.chmod(str(sec), 0o644)
    r = subprocess.run([sys.executable, "-m", "edgezmq", "keygen", "dev1", "--dir", str(tmp_path / "k"), "--force"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(str(sec)).st_mode) == 0o600
    pk, sk = zmq.auth.load_certificate(str(sec))  # the new pair
    # and pyzmq's certificates load here
    from edgezmq.auth import load_certificate, load_certificates

    p2, s2 = zmq.auth.create_certificates(str(tmp_path / "k"), "pz")
    assert load_certificate(s2) == zmq.auth.load_certificate(s2)
    assert set(load_certificates(str(tmp_path / "k"))) == {pk, zmq.auth.load_certificate(p2)[0]}


def test_load_certificate_rejects_bad_keys(tmp_path):
    from edgezmq.auth import load_certificate

    f = tmp_path / "bad.key"
    f.write_text('curve\n    public-key = "not-a-z85-key-of-40-characters-at-all!!"\n')
    with pytest.raises(ValueError):
        load_certificate(str(f))
    f.write_text("metadata\ncurve\n")
    with pytest.raises(ValueError):
        load_certificate(str(f))


def test_curve_keygen_module_matches_pyzmq_format():
    import zmq

    r = subprocess.run([sys.executable, "-m", "edgezmq.curve_keygen"], capture_output=True, text=True, timeout=30)
    lines = r.stdout.splitlines()
    assert r.returncode == 0 and lines[0] == "== CURVE PUBLIC KEY ==" and lines[3] == "== CURVE SECRET KEY =="
    assert zmq.curve_public(lines[4].encode()) == lines[1].encode()
    r = subprocess.run([sys.executable, "-m", "edgezmq.curve_keygen", "--json", "--secret", lines[4]],
                       capture_output=True, text=True, timeout=30)
    import json

    assert json.loads(r.stdout) == {"public": lines[1], "secret": lines[4]}


# --- CURVE on the MicroPython unix port against libzmq --------------------------------

MP_CURVE = r"""
import sys, time, gc, micropython
import edgezmq as zmq
role, ep, key = sys.argv[1], sys.argv[2], sys.argv[3]
ctx = zmq.Context()
gc.collect()
base = gc.mem_alloc()
if role == "server":
    s = ctx.socket(zmq.PULL)
    s.curve_server = True
    s.curve_secretkey = key.encode()
    if len(sys.argv) > 4:  # only this client key may connect (ZAP, no thread)
        from edgezmq import z85
        from edgezmq.security import zap
        allowed = z85.decode(sys.argv[4])
        zap.serve(ctx, lambda d, a, m, c: (200, b"dev") if m == "CURVE" and c[0] == allowed else (400, b""))
    s.bind(ep)
    print("EP", s.last_endpoint.decode())
else:
    s = ctx.socket(zmq.PUSH)
    s.curve_serverkey = key.encode()
    s.curve_publickey, s.curve_secretkey = zmq.curve_keypair()
    s.connect(ep)
s.linger = 5000
t = None
for _ in range(6000):
    if s.engines and t is None:
        t = time.ticks_ms()  # the TCP connection is up: the greeting starts
    if [p for p in s.pattern.pipes if p.connected]:
        break
    ctx.reactor.run_once(10)
else:
    raise OSError("no CURVE handshake")
print("HANDSHAKE_MS", time.ticks_diff(time.ticks_ms(), t))
gc.collect()
print("HEAP live=%d over_idle=%d" % (gc.mem_alloc(), gc.mem_alloc() - base))
if role == "server":
    s.rcvtimeo = 30000
    for _ in range(3):
        print("GOT", repr(s.recv_multipart()))
else:
    s.sndtimeo = 30000
    for i in range(3):
        s.send_multipart([b"dev-%d" % i, b"y" * 200])
s.close()
ctx.term()
print("DONE")
"""


@pytest.fixture(scope="module")
def mp_bundle(tmp_path_factory):
    from support import micropython_binary

    if micropython_binary() is None:
        pytest.skip("MicroPython unix port not installed")
    from edgezmq.ports.cpython import cmd_bundle

    out = str(tmp_path_factory.mktemp("mpsec"))
    cmd_bundle.build(out, mpy=cmd_bundle.find_mpy_cross() is not None)
    with open(os.path.join(out, "mp_curve.py"), "w") as f:
        f.write(MP_CURVE)
    return out


MP_HEAP = os.environ.get("EDGEZMQ_MP_HEAP", "256K")  # as tests/test_micropython.py


def _mp(bundle, *args):
    from support import micropython_binary

    env = dict(os.environ, MICROPYPATH=bundle)
    return subprocess.Popen([micropython_binary(), "-X", "heapsize=" + MP_HEAP, os.path.join(bundle, "mp_curve.py"),
                             *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def _mp_report(out):
    for line in out.splitlines():
        if line.startswith(("HANDSHAKE_MS", "HEAP")):
            print("[micropython heap=%s CURVE] %s" % (MP_HEAP, line))


@pytest.mark.micropython
def test_micropython_curve_server_with_libzmq_client(mp_bundle, pz):
    import zmq

    spk, ssk = zmq.curve_keypair()
    proc = _mp(mp_bundle, "server", "tcp://127.0.0.1:*", ssk.decode())
    try:
        line = proc.stdout.readline()
        assert line.startswith("EP "), line
        push = pz.socket(zmq.PUSH)
        push.linger = 0
        push.sndtimeo = 60000
        push.curve_serverkey = spk
        push.curve_publickey, push.curve_secretkey = zmq.curve_keypair()
        push.connect(line.split()[1])
        for i in range(3):
            push.send_multipart([b"lib-%d" % i, b"z" * 200])
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out
    assert out.count("GOT [b'lib-") == 3 and "DONE" in out, out
    _mp_report(out)


@pytest.mark.micropython
def test_micropython_curve_client_with_libzmq_server_and_zap(mp_bundle, pz, tmp_path):
    import zmq
    from zmq.auth.thread import ThreadAuthenticator as PzAuth

    auth = PzAuth(pz)
    auth.start()
    auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
    try:
        spk, ssk = zmq.curve_keypair()
        pull = pz.socket(zmq.PULL)
        pull.linger = 0
        pull.rcvtimeo = 60000
        pull.curve_server = True
        pull.curve_secretkey = ssk
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        proc = _mp(mp_bundle, "client", "tcp://127.0.0.1:%d" % port, spk.decode())
        try:
            got = [pull.recv_multipart() for _ in range(3)]
            out, _ = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert got == [[b"dev-%d" % i, b"y" * 200] for i in range(3)]
        assert proc.returncode == 0, out
        _mp_report(out)
    finally:
        auth.stop()


@pytest.mark.parametrize("server_side", ["edgezmq", "libzmq"])
def test_null_with_zap_domain_asks_zap(ctx, peer, server_side):
    """As libzmq: a NULL socket with ZAP_DOMAIN asks the handler, so deny() applies;
    without ZAP_DOMAIN the handler is not asked."""
    client_side = "libzmq" if server_side == "edgezmq" else "edgezmq"
    auth = None
    if server_side == "edgezmq":
        auth = ThreadAuthenticator(ctx)
        auth.start()
        auth.deny("127.0.0.1")
    else:
        peer.auth(allow=["10.9.9.9"])  # zmq.auth: 127.0.0.1 is not on the list
    try:
        refused = make(server_side, ctx, peer, "PULL", {"zap_domain": b"global"})
        ep = refused.bind()
        c1 = make(client_side, ctx, peer, "PUSH", {})
        c1.connect(ep)
        assert not try_bad(refused, c1, "PUSH-PULL")
        open_ = make(server_side, ctx, peer, "PULL", {})
        ep2 = open_.bind()
        c2 = make(client_side, ctx, peer, "PUSH", {})
        c2.connect(ep2)
        assert exchange(open_, c2, "PUSH-PULL", b"null")
        if auth is not None:
            n = auth.requests
            assert n >= 1
            assert exchange(open_, c2, "PUSH-PULL", b"again") and auth.requests == n
            assert refused.s.stats["connects"] == 0
    finally:
        if auth is not None:
            auth.stop()


@pytest.mark.micropython
def test_micropython_curve_server_zap_serve_refuses_unknown_key(mp_bundle, pz):
    """edgezmq.security.zap.serve on the device: an unknown libzmq client is refused, the known one served."""
    import zmq

    spk, ssk = zmq.curve_keypair()
    good_pk, good_sk = zmq.curve_keypair()
    proc = _mp(mp_bundle, "server", "tcp://127.0.0.1:*", ssk.decode(), good_pk.decode())
    socks = []
    try:
        line = proc.stdout.readline()
        assert line.startswith("EP "), line
        for pk, sk, tag in ((None, None, b"bad"), (good_pk, good_sk, b"lib")):
            push = pz.socket(zmq.PUSH)
            push.linger = 0
            push.sndtimeo = 60000
            push.curve_serverkey = spk
            if pk is None:
                pk, sk = zmq.curve_keypair()
            push.curve_publickey, push.curve_secretkey = pk, sk
            push.connect(line.split()[1])
            socks.append(push)
            if tag == b"bad":
                mon = push.get_monitor_socket()
                socks.append(mon)
                from zmq.utils.monitor import recv_monitor_message

                end = time.monotonic() + 60
                events = []
                while zmq.EVENT_HANDSHAKE_FAILED_AUTH not in events and time.monotonic() < end:
                    if mon.poll(500):
                        events.append(recv_monitor_message(mon)["event"])
                assert zmq.EVENT_HANDSHAKE_FAILED_AUTH in events, events
                push.close(0)
                continue
            for i in range(3):
                push.send_multipart([b"lib-%d" % i, b"z" * 200])
        out, _ = proc.communicate(timeout=120)
    finally:
        for x in socks:
            x.close(0)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out
    assert out.count("GOT ") == 3 and out.count("GOT [b'lib-") == 3 and "DONE" in out, out


@pytest.mark.parametrize("mech", ["PLAIN", "CURVE"])
def test_zap_handler_on_the_client_side_is_not_asked(ctx, peer, certs, mech):
    """ZAP judges the server's peers only: a handler in the client's context
    that would deny everything does not stop an edgezmq client."""
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.deny("127.0.0.1")
    try:
        peer.auth(passwords={"admin": "secret"}, curve=certs)
        server = Remote(peer, "PULL", sec_opts(mech, "server"))
        ep = server.bind()
        client = Local(ctx, "PUSH", sec_opts(mech, "client"))
        client.connect(ep)
        assert exchange(server, client, "PUSH-PULL", b"client-side")
        assert auth.requests == 0
    finally:
        auth.stop()


def test_zap_answer_edge_cases():
    """edgezmq.security.zap.answer: malformed requests, handler results, metadata."""
    req = [b"1.0", b"7", b"dom", b"1.2.3.4", b"id", b"PLAIN", b"u", b"p"]
    assert ez_zap.answer(lambda *a: (200, "bob"), req) == [b"1.0", b"7", b"200", b"OK", b"bob", b""]
    assert ez_zap.answer(lambda *a: 200, req)[2:5] == [b"200", b"OK", b""]
    assert ez_zap.answer(lambda *a: (400, b"", "nope"), req)[2:4] == [b"400", b"nope"]
    meta = ez_zap.answer(lambda *a: (200, b"u", None, {"Role": "admin"}), req)[5]
    assert meta == b"\x04Role\x00\x00\x00\x05admin"
    logged = []
    assert ez_zap.answer(lambda *a: (201, b""), req, logged.append)[2] == b"500"
    assert ez_zap.answer(lambda *a: 1 / 0, req, logged.append)[2:4] == [b"500", b"Internal error"]
    assert len(logged) == 2
    assert ez_zap.answer(lambda *a: 200, [b"2.0"] + req[1:])[2:4] == [b"400", b"Invalid version"]
    assert ez_zap.answer(lambda *a: 200, req[:4])[2:4] == [b"400", b"Not enough frames"]
    assert ez_zap.answer(lambda *a: 200, req[:1]) is None
    seen = []
    ez_zap.answer(lambda *a: seen.append(a) or 200, req)
    assert seen == [("dom", "1.2.3.4", "PLAIN", [b"u", b"p"])]


# --- after READY: everything inside MESSAGE, commands (flag 0x02) included -------------


@pytest.fixture
def curve_pub(ctx):
    """An edgezmq CURVE PUB server, no ZAP."""
    s = Local(ctx, "PUB", sec_opts("CURVE", "server"))
    ep = s.bind()
    yield s, int(ep.rsplit(":", 1)[1])


def _sub_mech():
    mech = _client_mech()
    mech.local_meta = [(b"Socket-Type", b"SUB")]
    return mech


def _boxes_until(raw, mech, want, timeout=3.0):
    """Read MESSAGE boxes until want(flags, data) holds -> the boxes read (flags, data, nonce)."""
    got = []
    raw.sock.settimeout(timeout)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        f, body = raw.recv_frame()
        assert body[:8] == b"\x07MESSAGE", body[:8]  # nothing travels outside a box
        flags, data = mech.decode(body)
        got.append((flags, bytes(data), int.from_bytes(body[8:16], "big")))
        if want(flags, data):
            return got
    raise AssertionError("not seen in %.1f s: %r" % (timeout, got))


def test_curve_commands_inside_message_accepted(curve_pub):
    """SUBSCRIBE and PING inside MESSAGE (flag 0x02, as libzmq 4.3 sends them) are
    acted on; the PUB answers PONG inside MESSAGE and publishes in boxes whose
    nonces strictly increase."""
    pub, port = curve_pub
    mech = _sub_mech()
    raw = Raw(port)
    _handshake(raw, mech)
    raw.frame(mech.encode(2, b"\x09SUBSCRIBEt"))
    raw.frame(mech.encode(2, b"\x04PING\x00\x0aLOL"))
    got = _boxes_until(raw, mech, lambda f, d: f & 2 and d[:5] == b"\x04PONG")
    assert got[-1][:2] == (2, b"\x04PONGLOL")
    end = time.monotonic() + 3
    while not any(p.subs and p.subs.match(b"t1") for p in pub.s.pattern.pipes) and time.monotonic() < end:
        time.sleep(0.02)
    for i in range(3):
        pub.send([b"other", b"%d" % i])  # filtered out: only "t" was subscribed
        pub.send([b"t%d" % i, b"x"])
    got += _boxes_until(raw, mech, lambda f, d: d == b"t2")
    data = [(f, d) for f, d, _ in got if not f & 2]
    assert data == [(1, b"t0"), (0, b"x"), (1, b"t1"), (0, b"x"), (1, b"t2")]
    nonces = [n for _, _, n in got]
    assert nonces == sorted(set(nonces)) and nonces[0] > 1  # READY used 1
    raw.close()


@pytest.mark.parametrize("frame", [
    (4, b"\x09SUBSCRIBEt"),  # a plaintext SUBSCRIBE command frame
    (4, b"\x06CANCELt"),
    (4, b"\x04PING\x00\x0aLOL"),
    (4, b"\x05ERROR\x03bye"),
    (0, b"\x01t"),  # a plaintext ZMTP 3.0 subscription (data frame)
], ids=["subscribe", "cancel", "ping", "error", "data-subscription"])
def test_curve_plaintext_frame_after_ready_closed(curve_pub, frame):
    """After READY a CURVE connection takes MESSAGE boxes only (libzmq decodes every
    frame through the mechanism): an injected plaintext command closes it, unanswered."""
    pub, port = curve_pub
    mech = _sub_mech()
    raw = Raw(port)
    _handshake(raw, mech)
    raw.frame(mech.encode(2, b"\x09SUBSCRIBEt"))
    end = time.monotonic() + 3
    while not any(p.subs and p.subs.match(b"t") for p in pub.s.pattern.pipes) and time.monotonic() < end:
        time.sleep(0.02)
    assert [p for p in pub.s.pattern.pipes if p.active]
    flags, body = frame
    raw.frame(body, flags)
    seen = b""  # no PONG, nothing at all: the connection just closes
    raw.sock.settimeout(3)
    try:
        while True:
            c = raw.sock.recv(4096)
            if not c:
                break
            seen += c
    except socket.timeout:
        raise AssertionError("the connection stayed open after a plaintext %r" % body) from None
    except (ConnectionResetError, BrokenPipeError):
        pass
    assert seen == b"", seen
    end = time.monotonic() + 3
    while [p for p in pub.s.pattern.pipes if p.active] and time.monotonic() < end:
        time.sleep(0.02)
    assert not [p for p in pub.s.pattern.pipes if p.active]


# --- the MicroPython unix port against libzmq: PLAIN and CURVE, three patterns -----------

MP_SEC = r"""
import sys, time
import edgezmq as zmq
from edgezmq import z85
role, pattern, mech, ep, zap_mode = sys.argv[1:6]
cred = sys.argv[6:]
ctx = zmq.Context()
SERVER = {"REQ-REP": zmq.REP, "PUSH-PULL": zmq.PULL, "PUB-SUB": zmq.PUB}
CLIENT = {"REQ-REP": zmq.REQ, "PUSH-PULL": zmq.PUSH, "PUB-SUB": zmq.SUB}

def pump(ms):
    end = time.ticks_add(time.ticks_ms(), ms)
    while time.ticks_diff(end, time.ticks_ms()) > 0:
        ctx.reactor.run_once(10)

def client(c):
    s = ctx.socket(CLIENT[pattern])
    s.linger = 0
    if mech == "PLAIN":
        s.plain_username, s.plain_password = c[0].encode(), c[1].encode()
    else:
        s.curve_serverkey = c[0].encode()
        s.curve_publickey, s.curve_secretkey = c[1].encode(), c[2].encode()
    if pattern == "PUB-SUB":
        s.subscribe(b"t")
    s.connect(ep)
    return s

def wait_pipe(s, ms):
    end = time.ticks_add(time.ticks_ms(), ms)
    while not [p for p in s.pattern.pipes if p.connected] and time.ticks_diff(end, time.ticks_ms()) > 0:
        ctx.reactor.run_once(10)
    return len([p for p in s.pattern.pipes if p.connected])

if role == "server":
    s = ctx.socket(SERVER[pattern])
    if mech == "PLAIN":
        s.plain_server = True
    else:
        s.curve_server = True
        s.curve_secretkey = cred[0].encode()
    if zap_mode == "zap":
        from edgezmq.security import zap
        allowed = z85.decode(cred[1]) if mech == "CURVE" else None
        def handler(domain, address, m, c):
            if m == "PLAIN" and c == [b"admin", b"secret"]:
                return 200, b"admin"
            if m == "CURVE" and c[0] == allowed:
                return 200, b"dev"
            return 400, b""
        zap.serve(ctx, handler)
    s.bind(ep)
    print("EP", s.last_endpoint.decode())
    s.linger = 5000
    if zap_mode == "refuse-all":  # PLAIN without a handler: every client is refused
        end = time.ticks_add(time.ticks_ms(), 20000)
        while s.stats["handshake_failures"] < 2 and time.ticks_diff(end, time.ticks_ms()) > 0:
            ctx.reactor.run_once(10)
        print("PIPES", len(s.pattern.pipes), "FAILURES", s.stats["handshake_failures"])
    elif pattern == "PUB-SUB":
        end = time.ticks_add(time.ticks_ms(), 30000)
        while not [p for p in s.pattern.pipes if p.subs and p.subs.match(b"t")]:
            ctx.reactor.run_once(10)
            if time.ticks_diff(end, time.ticks_ms()) < 0:
                raise OSError("no subscription")
        print("SUBSCRIBED", [sorted(p.subs.counts) for p in s.pattern.pipes])
        for i in range(3):
            s.send_multipart([b"other", b"%d" % i])
            s.send_multipart([b"t%d" % i, b"y" * 200])
    else:
        s.rcvtimeo = 30000
        for i in range(3):
            print("GOT", repr(s.recv_multipart()))
            if pattern == "REQ-REP":
                s.send_multipart([b"rep-%d" % i, b"y" * 200])
    print("USER", [p.user_id for p in s.pattern.pipes], "FAILURES", s.stats["handshake_failures"])
else:
    if cred[-1] == "bad":  # a refused client first: it never gets a pipe
        cred = cred[:-1]
        bad = client(cred[len(cred) // 2:])
        print("BAD_PIPES", wait_pipe(bad, 1500))
        bad.close()
        cred = cred[: len(cred) // 2]
    s = client(cred)
    s.linger = 5000
    if zap_mode == "refuse-all":
        print("PIPES", wait_pipe(s, 1500))
    else:
        s.rcvtimeo = s.sndtimeo = 30000
        for i in range(3):
            if pattern == "PUB-SUB":
                print("GOT", repr(s.recv_multipart()))
                continue
            s.send_multipart([b"dev-%d" % i, b"y" * 200])
            if pattern == "REQ-REP":
                print("GOT", repr(s.recv_multipart()))
    s.close()
ctx.term()
print("DONE")
"""

# (mechanism, ZAP on the server's side): PLAIN without ZAP refuses everyone
MP_CASES = [("CURVE", "zap"), ("CURVE", "nozap"), ("PLAIN", "zap"), ("PLAIN", "refuse-all")]
# the refusal happens before any pattern runs: PUSH/PULL is enough for it
MP_MATRIX = [(p, m, z) for p in sorted(PATTERNS) for m, z in MP_CASES if z != "refuse-all" or p == "PUSH-PULL"]


def _mp_sec(bundle, *args):
    from support import micropython_binary

    path = os.path.join(bundle, "mp_sec.py")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(MP_SEC)
    env = dict(os.environ, MICROPYPATH=bundle)
    return subprocess.Popen([micropython_binary(), "-X", "heapsize=" + MP_HEAP, path, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def _pz_sock(pz, stype, mech, role, good=True):
    import zmq

    s = pz.socket(getattr(zmq, stype))
    s.linger = 0
    s.rcvtimeo = s.sndtimeo = 30000
    for k, v in sec_opts(mech, role, good).items():
        setattr(s, k, v)
    return s


def _finish(proc, timeout=60):
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out
    assert "DONE" in out, out
    return out


def _wait_refused(sock, mech, timeout=30):
    """The libzmq client saw its handshake refused after ZAP said 400.

    CURVE: libzmq reads our ERROR "400" and reports HANDSHAKE_FAILED_AUTH.
    PLAIN: libzmq 4.3's PLAIN client only recognises its own misspelt ERROR
    ("^RROR", plain_common.hpp); edgezmq sends the RFC 24 command, which
    libzmq reports as HANDSHAKE_FAILED_PROTOCOL. Refused either way."""
    import zmq
    from zmq.utils.monitor import recv_monitor_message

    want = zmq.EVENT_HANDSHAKE_FAILED_AUTH if mech == "CURVE" else zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    mon = sock.get_monitor_socket()
    try:
        end = time.monotonic() + timeout
        events = []
        while want not in events and time.monotonic() < end:
            if mon.poll(200):
                events.append(recv_monitor_message(mon)["event"])
        assert want in events, events
        assert zmq.EVENT_HANDSHAKE_SUCCEEDED not in events, events
    finally:
        sock.disable_monitor()
        mon.close(0)


@pytest.mark.micropython
@pytest.mark.parametrize("pattern,mech,zap", MP_MATRIX, ids=["-".join(c) for c in MP_MATRIX])
def test_micropython_server_with_libzmq_clients(mp_bundle, pz, pattern, mech, zap):
    """MicroPython binds (REP, PULL, PUB); libzmq connects: a refused client
    first (wrong password, unknown key) when a handler is bound, then the good one."""
    ctype, stype = PATTERNS[pattern]
    creds = [z85.encode(SERVER[1]).decode(), z85.encode(CLIENT[0]).decode()] if mech == "CURVE" else []
    proc = _mp_sec(mp_bundle, "server", pattern, mech, "tcp://127.0.0.1:*", zap, *creds)
    socks = []
    try:
        line = proc.stdout.readline()
        assert line.startswith("EP "), line + proc.stdout.read()
        ep = line.split()[1]
        if zap == "zap":
            bad = _pz_sock(pz, ctype, mech, "client", good=False)
            socks.append(bad)
            bad.connect(ep)
            _wait_refused(bad, mech)
            bad.close(0)
        c = _pz_sock(pz, ctype, mech, "client")
        socks.append(c)
        if ctype == "SUB":
            c.subscribe(b"t")
        c.connect(ep)
        if zap == "refuse-all":
            c.send_multipart([b"never"])  # queued in libzmq: no handshake ever completes
            out = _finish(proc)
            assert "PIPES 0 FAILURES" in out, out
            return
        for i in range(3):
            if ctype == "SUB":
                assert c.recv_multipart() == [b"t%d" % i, b"y" * 200]
                continue
            c.send_multipart([b"lib-%d" % i, b"z" * 200])
            if ctype == "REQ":
                assert c.recv_multipart() == [b"rep-%d" % i, b"y" * 200]
        out = _finish(proc)
    finally:
        for s in socks:
            s.close(0)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    if ctype != "SUB":
        assert [ln for ln in out.splitlines() if ln.startswith("GOT")] == [
            "GOT [b'lib-%d', b'%s']" % (i, "z" * 200) for i in range(3)], out
    else:
        assert "SUBSCRIBED [[b't']]" in out, out  # the SUBSCRIBE arrived inside MESSAGE
    user = {"zap": "b'admin'" if mech == "PLAIN" else "b'dev'", "nozap": "b''"}[zap]
    assert "USER [%s]" % user in out, out
    if zap == "zap":
        assert "FAILURES 0" not in out, out  # the refused client was counted


@pytest.mark.micropython
@pytest.mark.parametrize("pattern,mech,zap", MP_MATRIX, ids=["-".join(c) for c in MP_MATRIX])
def test_micropython_client_with_libzmq_server(mp_bundle, pz, pattern, mech, zap):
    """libzmq binds (REP, PULL, PUB) with zmq.auth or without; MicroPython connects:
    with a handler, a refused client first (never attached, nothing delivered)."""
    import zmq
    from zmq.auth.thread import ThreadAuthenticator as PzAuth

    ctype, stype = PATTERNS[pattern]
    auth = None
    if zap == "zap":
        auth = PzAuth(pz)
        auth.start()
        auth.configure_plain(domain="*", passwords={"admin": "secret"})
        auth.curve_user_id = lambda key: b"dev"
        auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
        allowed = z85.encode(CLIENT[0])
        auth.configure_curve_callback("*", type("P", (), {"callback": lambda self, d, k: k == allowed})())
    srv = _pz_sock(pz, stype, mech, "server")
    srv.rcvtimeo = 1500
    stop = []
    try:
        port = srv.bind_to_random_port("tcp://127.0.0.1")
        ep = "tcp://127.0.0.1:%d" % port
        if mech == "PLAIN":
            creds = ["admin", "secret"] + (["admin", "wrong", "bad"] if zap == "zap" else [])
        else:
            creds = [z85.encode(SERVER[0]).decode(), z85.encode(CLIENT[0]).decode(), z85.encode(CLIENT[1]).decode()]
            if zap == "zap":
                creds += [creds[0], z85.encode(STRANGER[0]).decode(), z85.encode(STRANGER[1]).decode(), "bad"]
        proc = _mp_sec(mp_bundle, "client", pattern, mech, ep, zap, *creds)
        try:
            if ctype == "SUB":
                import threading

                def publish():
                    while not stop:
                        srv.send_multipart([b"other", b"x"])
                        for i in range(3):
                            srv.send_multipart([b"t%d" % i, b"y" * 200])
                        time.sleep(0.05)

                th = threading.Thread(target=publish, daemon=True)
                th.start()
                out = _finish(proc)
                stop.append(1)
                th.join(5)
            else:
                got = []
                end = time.monotonic() + 60
                while len(got) < 3 and time.monotonic() < end:
                    try:
                        got.append(srv.recv_multipart())
                    except zmq.Again:
                        if proc.poll() is not None:
                            break  # the device is done and nothing more came
                        continue
                    if stype == "REP":
                        srv.send_multipart([b"rep-%d" % (len(got) - 1), b"y" * 200])
                out = _finish(proc)
                want = [] if zap == "refuse-all" else [[b"dev-%d" % i, b"y" * 200] for i in range(3)]
                assert got == want, (got, out)  # the refused client delivered nothing
        finally:
            stop.append(1)
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    finally:
        srv.close(0)
        if auth is not None:
            auth.stop()
    if zap == "refuse-all":
        assert "PIPES 0" in out, out
        return
    if zap == "zap":
        assert "BAD_PIPES 0" in out, out
    gots = [ln for ln in out.splitlines() if ln.startswith("GOT")]
    if ctype == "SUB":
        assert gots[:3] == ["GOT [b't%d', b'%s']" % (i, "y" * 200) for i in range(3)], out
    elif ctype == "REQ":
        assert gots == ["GOT [b'rep-%d', b'%s']" % (i, "y" * 200) for i in range(3)], out


def test_pending_zap_verdict_is_not_routable(ctx, peer):
    """CVE-2020-15166: while the ZAP handler has not answered, the peer is not
    attached (no delivery, ROUTER cannot address it); a 200 then attaches it and
    its queued message arrives. The handler is a plain ROUTER socket served here."""
    handler = ctx.socket(ez.ROUTER)
    handler.linger = 0
    handler.bind("inproc://zeromq.zap.01")
    try:
        router = Local(ctx, "ROUTER", dict(sec_opts("CURVE", "server"), router_mandatory=1,
                                           zap_domain=b"edge"))
        ep = router.bind()
        d = Remote(peer, "DEALER", dict(sec_opts("CURVE", "client"), routing_id=b"pending"))
        d.connect(ep)
        d.send([b"early"])
        assert handler.poll(3000)
        req = handler.recv_multipart()  # [handler's id for us, b"", version, id, domain, ...]
        assert req[1:3] == [b"", b"1.0"] and req[4:6] == [b"edge", b"127.0.0.1"]
        assert req[7:] == [b"CURVE", CLIENT[0]]
        time.sleep(0.3)  # the handshake is complete but for the verdict
        assert router.recv(300) is None
        with pytest.raises(ez.ZMQError) as e:
            router.send([b"pending", b"too early"])
        assert e.value.errno == ez.EHOSTUNREACH
        assert not [p for p in router.s.pattern.pipes if p.active]
        handler.send_multipart([req[0], b"", b"1.0", req[3], b"200", b"OK", b"dev-9", b""])
        assert router.recv(3000) == [b"pending", b"early"]
        router.send([b"pending", b"back"])
        assert d.recv(3000) == [b"back"]
        assert [p.user_id for p in router.s.pattern.pipes if p.active] == [b"dev-9"]
    finally:
        handler.close(0)


def test_curve_key_option_forms(ctx, peer):
    """CURVE keys as 32 raw bytes, 40 Z85 characters, or 41 with libzmq's trailing
    NUL; getsockopt returns Z85; anything else is EINVAL. An edgezmq client keyed in
    Z85 talks to libzmq; curve_keypair()/curve_public() agree with pyzmq's."""
    import zmq

    s = ctx.socket(ez.PUSH)
    try:
        for form in (SERVER[1], z85.encode(SERVER[1]), z85.encode(SERVER[1]) + b"\0"):
            s.curve_secretkey = form
            assert s.curve_secretkey == z85.encode(SERVER[1])
            assert s.getsockopt(ez.CURVE_SECRETKEY) == z85.encode(SERVER[1])
        for bad in (SERVER[1][:31], z85.encode(SERVER[1])[:39], b"\"" * 40, b"%%%%%" * 8, b""):
            with pytest.raises(ez.ZMQError) as e:
                s.curve_serverkey = bad
            assert e.value.errno == ez.EINVAL, bad
    finally:
        s.close(0)
    pk, sk = ez.curve_keypair()
    assert len(pk) == len(sk) == 40 and zmq.curve_public(sk) == pk
    ppk, psk = zmq.curve_keypair()
    assert ez.curve_public(psk) == ppk and ez.curve_public(psk.decode()) == ppk
    assert ez.has("curve") and ez.has("plain")
    server = Remote(peer, "PULL", sec_opts("CURVE", "server"))
    ep = server.bind()
    client = Local(ctx, "PUSH", {"curve_serverkey": z85.encode(SERVER[0]) + b"\0",
                                 "curve_publickey": z85.encode(CLIENT[0]),
                                 "curve_secretkey": z85.encode(CLIENT[1])})
    client.connect(ep)
    assert exchange(server, client, "PUSH-PULL", b"z85-keys")


# --- socket-level fuzzing from a recorded CURVE session -----------------------------------


def _recorded_curve_stream():
    """greeting + HELLO + INITIATE frames of a real session against an edgezmq server,
    with a deterministic client: the HELLO replays against any server with SERVER's key."""
    import random

    from edgezmq.ports.cpython.crypto import PyNaclCrypto as Nacl

    r = random.Random(7)
    c = ez.Context(io_threads=1)
    c.log = lambda msg: None
    try:
        pull = Local(c, "PULL", sec_opts("CURVE", "server"))
        port = int(pull.bind().rsplit(":", 1)[1])
        mech = _client_mech()
        mech._crypto = Nacl(lambda n: bytes(r.getrandbits(8) for _ in range(n)))
        sent = []

        def keep(name, body):
            sent.append(body)
            return body

        raw = Raw(port)
        _handshake(raw, mech, keep)
        raw.close()
    finally:
        c.destroy(linger=0)
    frames = b"".join(bytes((4, len(b))) + b if len(b) < 256 else b"\x06" + len(b).to_bytes(8, "big") + b
                      for b in sent)
    return _greeting() + frames


_RECORDED = []


def _recorded():
    if not _RECORDED:
        _RECORDED.append(_recorded_curve_stream())
    return _RECORDED[0]


# a mutation: (kind, position, bit or length, bytes), applied to the recording
_MUTATION = st.tuples(st.sampled_from(["flip", "truncate", "splice", "extend"]),
                      st.integers(0, 1 << 16), st.integers(0, 64), st.binary(max_size=64))


def _mutate(stream, mutations):
    b = bytearray(stream)
    for kind, pos, k, data in mutations:
        i = pos % (len(b) or 1)
        if kind == "flip" and b:
            b[i] ^= 1 << (k % 8)
        elif kind == "truncate":
            b = b[:i]
        elif kind == "splice":
            b[i : i + k] = data
        else:
            b += data or b"\0"
    return bytes(b)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutations=st.lists(_MUTATION, min_size=1, max_size=4))
def test_fuzz_curve_server_from_recorded_session(ctx, curve_pull, mutations):
    """Mutations of a recorded session's bytes (greeting, HELLO, INITIATE) never
    deliver a message, never break the server, and never cost it a good client;
    every connection it closes is closed with a logged reason."""
    stream = _mutate(_recorded(), mutations)
    pull, port = curve_pull
    logs = []
    ctx.log = logs.append
    raw = Raw(port)
    try:
        raw.sock.sendall(stream)
        end = time.monotonic() + 0.05
        while time.monotonic() < end:
            try:
                raw.sock.settimeout(0.02)
                if not raw.sock.recv(4096):
                    break
            except socket.timeout:
                pass
            except OSError:
                break
    finally:
        raw.close()
    assert pull.recv(0) is None
    _good_client_still_served(ctx, pull, port)
    assert all("closing connection: " in m for m in logs), logs


@pytest.mark.parametrize("status", [400, 500])
def test_zap_refusal_status_reaches_libzmq_client(ctx, pz, status):
    """The ERROR an edgezmq CURVE server sends carries the ZAP status code, which
    libzmq's client reports as the value of EVENT_HANDSHAKE_FAILED_AUTH."""
    import zmq
    from zmq.utils.monitor import recv_monitor_message

    zap = ez_zap.serve(ctx, lambda *a: (status, b""))
    try:
        pull = Local(ctx, "PULL", sec_opts("CURVE", "server"))
        ep = pull.bind()
        push = _pz_sock(pz, "PUSH", "CURVE", "client")
        mon = push.get_monitor_socket()
        push.connect(ep)
        end = time.monotonic() + 5
        seen = []
        while time.monotonic() < end:
            if mon.poll(200):
                m = recv_monitor_message(mon)
                seen.append((m["event"], m["value"]))
                if m["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                    break
        assert (zmq.EVENT_HANDSHAKE_FAILED_AUTH, status) in seen, seen
        push.disable_monitor()
        mon.close(0)
        push.close(0)
    finally:
        zap.close()


@pytest.mark.parametrize("server_side", ["edgezmq", "libzmq"])
def test_curve_heartbeats_with_libzmq_travel_inside_message(ctx, peer, server_side):
    """PING/PONG both ways under CURVE (libzmq boxes them with flag 0x02; so do
    we): the connection outlives many heartbeat intervals and keeps its pipe."""
    hb = {"heartbeat_ivl": 100, "heartbeat_timeout": 1000}
    client_side = "libzmq" if server_side == "edgezmq" else "edgezmq"
    server = make(server_side, ctx, peer, "PULL", dict(sec_opts("CURVE", "server"), **hb))
    ep = server.bind()
    client = make(client_side, ctx, peer, "PUSH", dict(sec_opts("CURVE", "client"), **hb))
    client.connect(ep)
    assert exchange(server, client, "PUSH-PULL", b"before")
    time.sleep(1.5)  # ~15 PINGs each way
    assert exchange(server, client, "PUSH-PULL", b"after")
    local = server if server_side == "edgezmq" else client
    st = local.s.stats
    assert st["disconnects"] == 0 and st["heartbeat_timeouts"] == 0 and st["protocol_errors"] == 0, st


# --- the serial gateway relays CURVE end to end, holding no keys ---------------------------


@pytest.mark.parametrize("mech", ["CURVE", "NULL"])
def test_gateway_relays_curve_end_to_end_without_keys(ctx, pz, mech):
    """An edgezmq device REP bound on a serial line, `edgezmq gateway` (started with
    no key of any kind) listening on TCP, a libzmq REQ client: under CURVE the request
    and reply cross the serial line only as ciphertext; NULL shows the capture sees
    plaintext when there is any."""
    pytest.importorskip("serial")
    import zmq
    from ptyrelay import PtyCable

    cable = PtyCable(seed=3).start()
    cable.capture = bytearray()
    gw = None
    try:
        rep = ctx.socket(ez.REP)
        rep.linger = 0
        rep.rcvtimeo = rep.sndtimeo = 20000
        if mech == "CURVE":
            rep.curve_server = True
            rep.curve_secretkey = SERVER[1]
        rep.bind("serial://%s" % cable.a_path)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        gw = subprocess.Popen([sys.executable, "-m", "edgezmq", "gateway", "serial://%s?baud=115200" % cable.b_path,
                               "tcp://127.0.0.1:%d" % port], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        req = pz.socket(zmq.REQ)
        req.linger = 0
        req.rcvtimeo = req.sndtimeo = 20000
        if mech == "CURVE":
            req.curve_serverkey = SERVER[0]
            req.curve_publickey, req.curve_secretkey = CLIENT
        req.connect("tcp://127.0.0.1:%d" % port)
        secret_q, secret_a = b"QUESTION-the-gateway-must-not-see", b"ANSWER-the-gateway-must-not-see"
        req.send(secret_q)
        assert rep.recv() == secret_q
        rep.send(secret_a)
        assert req.recv() == secret_a
        req.close(0)
        wire = bytes(cable.capture)
        assert len(wire) > 200  # greetings and handshake crossed the line
        if mech == "CURVE":
            assert secret_q not in wire and secret_a not in wire
            assert b"MESSAGE" in wire and b"HELLO" in wire  # ZMTP itself ran over the line
        else:
            assert secret_q in wire and secret_a in wire
    finally:
        if gw is not None:
            gw.terminate()
            try:
                gw.wait(10)
            except subprocess.TimeoutExpired:
                gw.kill()
                gw.wait()
        cable.stop()


@pytest.mark.parametrize("reply", [
    lambda r: [r[0], b"", b"2.0", r[3], b"200", b"OK", b"u", b""],  # wrong version
    lambda r: [r[0], b"", b"1.0", b"not-" + r[3], b"200", b"OK", b"u", b""],  # wrong request id
    lambda r: [r[0], b"", b"1.0", r[3], b"201", b"OK", b"u", b""],  # invalid status
    lambda r: [r[0], b"", b"1.0", r[3], b"200", b"OK", b"u", b"", b"extra"],  # too many frames
    lambda r: [r[0], b"", b"1.0", r[3], b"200"],  # too few frames
    lambda r: [r[0], b"", b"1.0", r[3], b"200", b"OK", b"u", b"\x05bogus"],  # bad metadata
    None,  # the handler never answers
], ids=["version", "request-id", "status-201", "too-many", "too-few", "metadata", "silent"])
def test_malformed_zap_replies_fail_closed(ctx, peer, reply):
    """libzmq's test_security_zap cases against an edgezmq CURVE server: a ZAP reply
    that is not a well-formed answer to this request never lets the client in; the
    connection is closed (at the latest by HANDSHAKE_IVL) and nothing is delivered."""
    handler = ctx.socket(ez.ROUTER)
    handler.linger = 0
    handler.bind("inproc://zeromq.zap.01")
    try:
        pull = Local(ctx, "PULL", dict(sec_opts("CURVE", "server"), handshake_ivl=1000))
        ep = pull.bind()
        push = Remote(peer, "PUSH", sec_opts("CURVE", "client"))
        push.connect(ep)
        push.send([b"must not arrive"])
        assert handler.poll(3000)
        req = handler.recv_multipart()
        if reply is not None:
            handler.send_multipart(reply(req))
        end = time.monotonic() + 3
        while pull.s.stats["handshake_failures"] < 1 and time.monotonic() < end:
            time.sleep(0.02)
        assert pull.s.stats["handshake_failures"] >= 1
        assert pull.recv(200) is None
        assert pull.s.stats["connects"] == 0
        push.close()
    finally:
        handler.close(0)


# --- Frame metadata: recv(copy=False) -------------------------------------------


@pytest.mark.parametrize("mech", ["PLAIN", "CURVE"])
def test_frame_metadata_user_id_from_zap(ctx, peer, mech):
    """pyzmq's frame.get("User-Id"): the user id the ZAP handler returned,
    plus Peer-Address and the peer's READY properties, on each frame of a
    message received with copy=False from a libzmq client."""
    zap = ez_zap.serve(ctx, lambda domain, address, mechanism, credentials: (200, b"admin"))
    try:
        pull = Local(ctx, "PULL", dict(sec_opts(mech, "server"), zap_domain=b"dom"))
        ep = pull.bind()
        push = Remote(peer, "PUSH", sec_opts(mech, "client"))
        push.connect(ep)
        push.send([b"head", b"body"])
        assert pull.s.poll(3000)
        frames = pull.s.recv_multipart(copy=False)
        assert [bytes(f) for f in frames] == [b"head", b"body"]
        assert [f.more for f in frames] == [True, False]
        assert frames[0].get(ez.MORE) == 1 and frames[1].get(ez.MORE) == 0
        for f in frames:
            assert f.get("User-Id") == "admin"
            assert f.get("Peer-Address") == "127.0.0.1"
            assert f.get("Socket-Type") == "PUSH"
        with pytest.raises(ez.ZMQError) as e:
            frames[0].get("No-Such-Property")
        assert e.value.errno == ez.EINVAL
        assert frames[1].bytes == b"body" and bytes(frames[1].buffer) == b"body"
    finally:
        zap.close()


def test_frame_without_zap_has_no_user_id(ctx, peer):
    """As libzmq: no ZAP handler, no User-Id (EINVAL); a Frame can be sent back."""
    rep = Local(ctx, "REP", {})
    ep = rep.bind()
    req = Remote(peer, "REQ", {})
    req.connect(ep)
    req.send([b"ping"])
    assert rep.s.poll(3000)
    f = rep.s.recv(copy=False)
    assert f == b"ping" and isinstance(f, ez.Frame)
    with pytest.raises(ez.ZMQError) as e:
        f.get("User-Id")
    assert e.value.errno == ez.EINVAL
    assert f.get("Socket-Type") == "REQ"
    rep.s.send(ez.Frame(b"pong"))
    assert req.recv() == [b"pong"]
