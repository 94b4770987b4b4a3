"""libzmq's security test cases replayed against edgezmq servers over raw TCP:
hostile greetings, CURVE handshake attacks, replays, bad INITIATE metadata,
plaintext after READY, and fuzzing from a recorded CURVE session."""
import socket
import time

import edgezmq as ez
import pytest
from edgezmq.ports.cpython.crypto import PyNaclCrypto
from edgezmq.security import create
from edgezmq.security import zap as ez_zap
from edgezmq.security.mechanism import MechanismConfig
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from security_kit import (  # noqa: F401 (fixtures: certs, ctx, peer)
    CLIENT,
    NACL,
    SERVER,
    Local,
    Remote,
    certs_fixture,
    ctx_fixture,
    peer_fixture,
    sec_opts,
)

pytest.importorskip("zmq")


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


# --- socket-level fuzzing from a recorded CURVE session -----------------------------------


def _recorded_curve_stream():
    """greeting + HELLO + INITIATE frames of a real session against an edgezmq server,
    with a deterministic client: the HELLO replays against any server with SERVER's key."""
    import random

    from edgezmq.ports.cpython.crypto import PyNaclCrypto as Nacl

    r = random.Random(7)
    c = ez.Context(io_threads=1)
    c.log = lambda *a: None
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
    ctx.log = lambda level, msg, *args: logs.append(msg % args)
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
