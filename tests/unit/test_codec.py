"""Sans-IO codec tests: greeting, frames, commands, metadata, heartbeats and
subscriptions, driven from byte vectors through core.connection.Connection."""
import pytest
from edgezmq import constants as C
from edgezmq import patterns
from edgezmq.errors import ProtocolError
from edgezmq.zmtp import greeting, metadata
from edgezmq.zmtp.connection import (
    EV_ERROR,
    EV_READY,
    EV_SUBSCRIPTION,
    HANDSHAKE,
    READY,
    Connection,
    ConnectionConfig,
)
from edgezmq.zmtp.frames import FrameDecoder, header
from hypothesis import given, settings
from hypothesis import strategies as st
from support import frame

pytestmark = pytest.mark.fastpath  # frame scanning (core/zmtp/frames.py) through the connection: also run with EDGEZMQ_PURE=1

# A libzmq 4.3.5 greeting (NULL, not server), as it sends it in stages.
LIBZMQ_GREETING = (
    b"\xff" + b"\x00" * 7 + b"\x01" + b"\x7f"  # signature, libzmq writes 1 in the padding
    + b"\x03\x01" + b"NULL" + b"\x00" * 16 + b"\x00" + b"\x00" * 31
)
LIBZMQ_GREETING_30 = LIBZMQ_GREETING[:11] + b"\x00" + LIBZMQ_GREETING[12:]


class Owner:
    """The smallest owner a Connection needs: its data sink, and a record of
    the control events it was given."""

    def __init__(self):
        self.ready = 0
        self.frames = []
        self.subs = []
        self.cur = []

    def on_data(self, buf, n, more):
        self.cur.append(bytes(buf[:n]))
        if not more:
            self.frames.append(self.cur)
            self.cur = []


class CountingPool:
    """A pool with no free slots that records every body buffer asked for."""

    nfree = 0
    size = 0

    def __init__(self):
        self.allocs = []

    def take(self, n):
        self.allocs.append(n)
        return bytearray(n)


def config(socket_type=C.DEALER, **kw):
    o = ConnectionConfig()
    o.type_name = patterns.name(socket_type)
    o.peers = patterns.peer_names(socket_type)
    o.send_identity = socket_type in (C.REQ, C.DEALER, C.ROUTER)
    for k, v in kw.items():
        setattr(o, k, v)
    return o


def events(conn, owner):
    """Take the connection's control events; an EV_ERROR raises ProtocolError."""
    while True:
        ev = conn.next_event()
        if ev is None:
            return
        kind, v = ev
        if kind == EV_READY:
            owner.ready += 1
        elif kind == EV_SUBSCRIPTION:
            owner.subs.append(v)
        elif kind == EV_ERROR:
            raise ProtocolError(v[1])


def ready_cmd(socket_type, **extra):
    props = [(b"Socket-Type", socket_type)] + [(k.encode(), v) for k, v in extra.items()]
    body = b"\x05READY" + metadata.encode(props)
    return header(4, len(body)) + body


def make(socket_type=C.DEALER, maxmsgsize=-1, hb_ivl=0, now=0, pool=None):
    o = config(socket_type, maxmsgsize=maxmsgsize, heartbeat_ivl=hb_ivl, pool=pool)
    owner = Owner()
    conn = Connection(o, now, owner)
    conn.owner = owner
    return conn, owner


def drain(conn):
    out = bytes(conn.pending_output())
    conn.output_sent(len(out), 0)
    return out


def feed(conn, data, now=0):
    conn.receive_data(data, len(data), now)
    events(conn, conn.owner)


def tick(conn, now):
    conn.tick(now)
    events(conn, conn.owner)


def handshake(socket_type=C.DEALER, peer=b"DEALER", peer_greeting=LIBZMQ_GREETING, **kw):
    conn, owner = make(socket_type, **kw)
    drain(conn)
    feed(conn, peer_greeting + ready_cmd(peer))
    assert conn.state == READY and owner.ready == 1
    drain(conn)
    return conn, owner


def parse_frames(data):
    """Decode a byte stream into [(flags, body)] with an independent decoder."""
    out = []
    pos = 0
    while pos < len(data):
        flags = data[pos]
        if flags & 2:
            size = int.from_bytes(data[pos + 1 : pos + 9], "big")
            pos += 9
        else:
            size = data[pos + 1]
            pos += 2
        out.append((flags, data[pos : pos + size]))
        pos += size
    return out


# -- greeting ---------------------------------------------------------------
def test_our_greeting_is_sent_whole_before_reading_anything():
    conn, _ = make()
    g = bytes(conn.pending_output())
    assert len(g) == 64
    assert g[0] == 0xFF and g[9] == 0x7F and g[10:12] == b"\x03\x01"
    assert g[12:32] == b"NULL" + b"\x00" * 16
    assert g[32] == 0 and g[33:] == b"\x00" * 31


def test_greeting_build_byte_exact():
    g = greeting.build(b"CURVE", True)
    assert g == b"\xff" + b"\x00" * 8 + b"\x7f\x03\x01CURVE" + b"\x00" * 15 + b"\x01" + b"\x00" * 31


@pytest.mark.parametrize("stages", [(10, 1, 53), (10, 2, 52), (1,) * 64, (64,), (11, 53)])
def test_libzmq_staged_greeting(stages):
    conn, owner = make(C.DEALER)
    drain(conn)
    pos = 0
    for s in stages:
        feed(conn, LIBZMQ_GREETING[pos : pos + s])
        pos += s
        if pos < 64:
            assert conn.state == 0
            assert conn.tx == b""  # nothing more to send until the greeting is complete
    assert conn.state == HANDSHAKE
    assert conn.peer_minor == 1
    out = drain(conn)
    assert parse_frames(out) == [(4, b"\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER")]
    feed(conn, ready_cmd(b"ROUTER"))
    assert conn.state == READY and owner.ready == 1


def test_zmtp30_peer_minor_recorded():
    conn, _ = handshake(peer_greeting=LIBZMQ_GREETING_30)
    assert conn.peer_minor == 0


@pytest.mark.parametrize(
    "data, word",
    [
        (b"\x01\x00", "1.0"),  # ZMTP 1.0: a length byte, not 0xFF
        (b"\xff" + b"\x00" * 8 + b"\x00", "1.0"),  # bit 0 of byte 9 clear
        (b"\xff" + b"\x00" * 8 + b"\x7f\x01", "2.0"),  # ZMTP 2.0 major = 1
        (b"\xff" + b"\x00" * 8 + b"\x7f\x02", "refused"),
    ],
)
def test_old_greetings_refused_as_soon_as_they_tell(data, word):
    conn, _ = make()
    with pytest.raises(ProtocolError, match=word):
        feed(conn, data)


def test_mechanism_mismatch_refused():
    conn, _ = make()
    g = LIBZMQ_GREETING[:12] + b"PLAIN" + b"\x00" * 15 + LIBZMQ_GREETING[32:]
    with pytest.raises(ProtocolError, match="mechanism"):
        feed(conn, g)


def test_socket_type_mismatch_sends_error_and_raises():
    conn, owner = make(C.PUSH)
    drain(conn)
    with pytest.raises(ProtocolError, match="socket type"):
        feed(conn, LIBZMQ_GREETING + ready_cmd(b"PUB"))
    assert owner.ready == 0
    out = drain(conn)
    assert (4, b"\x05ERROR\x13Invalid socket type") in parse_frames(out)


def test_data_frame_before_handshake_refused():
    conn, _ = make()
    with pytest.raises(ProtocolError, match="before the handshake"):
        feed(conn, LIBZMQ_GREETING + b"\x00\x03abc")


# -- frames -----------------------------------------------------------------
def test_header_forms():
    assert header(0, 0) == b"\x00\x00"
    assert header(1, 255) == b"\x01\xff"
    assert header(0, 256) == b"\x02" + (256).to_bytes(8, "big")
    assert header(1, 1 << 20) == b"\x03" + (1 << 20).to_bytes(8, "big")


@pytest.mark.parametrize("size", [0, 1, 255, 256, 70000])
def test_send_frame_sizes_byte_exact(size):
    conn, _ = handshake()
    body = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    conn.send_frame(body, 1)
    out = drain(conn)
    if size < 256:
        assert out == bytes((1, size)) + body
    else:
        assert out == b"\x03" + size.to_bytes(8, "big") + body


def test_receive_short_long_and_multipart():
    conn, owner = handshake()
    msg = [b"", b"x" * 255, b"y" * 256, b"z" * (1 << 20)]
    data = b"".join(frame(1 if i < 3 else 0, p) for i, p in enumerate(msg))
    feed(conn, data)
    assert owner.frames == [msg]


def test_long_form_for_a_small_frame_is_accepted():
    conn, owner = handshake()
    feed(conn, b"\x02" + (3).to_bytes(8, "big") + b"abc")
    assert owner.frames == [[b"abc"]]


@pytest.mark.parametrize("flags", [0x08, 0x10, 0x80, 0xF9])
def test_reserved_flag_bits_refused(flags):
    conn, owner = handshake()
    with pytest.raises(ProtocolError, match="reserved"):
        feed(conn, bytes((flags, 1)) + b"a")
    assert owner.frames == []


def test_oversize_refused_before_allocation():
    pool = CountingPool()
    conn, owner = handshake(maxmsgsize=100, pool=pool)
    with pytest.raises(ProtocolError, match="MAXMSGSIZE"):
        feed(conn, b"\x02" + (2**40).to_bytes(8, "big"))
    assert pool.allocs == []


@pytest.mark.parametrize("size", [2**63, 2**64 - 1])
def test_size_over_int64_refused_without_limit(size):
    conn, _ = handshake()
    with pytest.raises(ProtocolError, match="exceeds"):
        feed(conn, b"\x02" + size.to_bytes(8, "big"))


def test_huge_declared_size_without_limit_does_not_preallocate():
    pool = CountingPool()
    conn, owner = handshake(pool=pool)
    feed(conn, b"\x02" + (2**40).to_bytes(8, "big") + b"abc")
    assert pool.allocs == []  # the body grows with what arrives
    assert conn.decoder.got == 3


def test_size_no_memory_holds_closes_the_connection():
    """2**62 bytes: libzmq's allocation fails and it closes; so does edgezmq
    (tests/interop/test_pyzmq_names.py runs the same bytes against both)."""
    conn, owner = handshake()
    with pytest.raises(ProtocolError, match="cannot be allocated"):
        feed(conn, b"\x02" + (2**62).to_bytes(8, "big") + b"abc")


def test_command_over_limit_refused():
    conn, _ = handshake()
    with pytest.raises(ProtocolError, match="command"):
        feed(conn, b"\x06" + (1 << 30).to_bytes(8, "big"))


# -- metadata -------------------------------------------------------------
def test_metadata_roundtrip_and_case():
    raw = metadata.encode([(b"Socket-Type", b"ROUTER"), (b"Identity", b"abc"), (b"X-Foo", b"")])
    assert raw == b"\x0bSocket-Type\x00\x00\x00\x06ROUTER\x08Identity\x00\x00\x00\x03abc\x05X-Foo\x00\x00\x00\x00"
    assert metadata.parse(raw) == {b"socket-type": b"ROUTER", b"identity": b"abc", b"x-foo": b""}


@pytest.mark.parametrize(
    "raw",
    [
        b"\x0bSocket-Type\x00\x00\x00\x07ROUTER",  # value past the end
        b"\x0bSocket-Type\x00\x00",  # truncated value length
        b"\x20Socket",  # name past the end
        b"\x00\x00\x00\x00\x00",  # empty name
        b"\x0bSocket-Type\xff\xff\xff\xffROUTER",  # huge value length
    ],
)
def test_malformed_metadata_refused(raw):
    with pytest.raises(ProtocolError):
        metadata.parse(raw)
    conn, _ = make()
    body = b"\x05READY" + raw
    with pytest.raises(ProtocolError):
        feed(conn, LIBZMQ_GREETING + header(4, len(body)) + body)


def test_ready_identity_recorded():
    conn, owner = make(C.ROUTER)
    feed(conn, LIBZMQ_GREETING + ready_cmd(b"DEALER", Identity=b"peer-1"))
    assert conn.peer_identity == b"peer-1"


def test_our_identity_announced_for_dealer():
    conn = Connection(config(C.DEALER, identity=b"me"), 0, Owner())
    conn.owner = Owner()
    drain(conn)
    feed(conn, LIBZMQ_GREETING)
    fr = parse_frames(drain(conn))
    assert metadata.parse(fr[0][1][6:]) == {b"socket-type": b"DEALER", b"identity": b"me"}


def test_invalid_peer_identity_refused():
    conn, _ = make(C.ROUTER)
    with pytest.raises(ProtocolError, match="identity"):
        feed(conn, LIBZMQ_GREETING + ready_cmd(b"DEALER", Identity=b"\x00bad"))


# -- commands: PING/PONG ------------------------------------------------------
def test_ping_lol_answered_with_pong_lol():
    conn, _ = handshake()
    body = b"\x04PING\x00\x0aLOL"
    feed(conn, header(4, len(body)) + body)
    assert drain(conn) == b"\x04\x08\x04PONGLOL"
    assert conn.peer_ttl == 1000


def test_ping_with_65_byte_body_gets_pong_with_16_byte_context():
    conn, _ = handshake()
    body = b"\x04PING\x00\x00" + b"A" * 58
    assert len(body) == 65
    feed(conn, header(4, len(body)) + body)
    assert drain(conn) == b"\x04\x15\x04PONG" + b"A" * 16


def test_ping_without_ttl_refused():
    conn, _ = handshake()
    with pytest.raises(ProtocolError, match="PING"):
        feed(conn, b"\x04\x06\x04PING\x00")


def test_ping_answered_to_a_zmtp30_peer():
    conn, _ = handshake(peer_greeting=LIBZMQ_GREETING_30)
    feed(conn, b"\x04\x07\x04PING\x00\x00")
    assert drain(conn) == b"\x04\x05\x04PONG"


def test_heartbeat_ping_sent_and_timeout():
    conn, _ = handshake(hb_ivl=100)
    tick(conn, 0)
    assert drain(conn) == b"\x04\x07\x04PING\x00\x00"
    tick(conn, 50)
    assert drain(conn) == b""
    feed(conn, b"\x04\x05\x04PONG", now=60)
    tick(conn, 100)  # next ping due
    assert drain(conn) == b"\x04\x07\x04PING\x00\x00"
    with pytest.raises(ProtocolError, match="heartbeat"):
        tick(conn, 250)


def test_peer_ttl_expiry():
    conn, _ = handshake()
    feed(conn, b"\x04\x07\x04PING\x00\x01", now=0)  # TTL 100 ms
    drain(conn)
    tick(conn, 90)
    with pytest.raises(ProtocolError, match="TTL"):
        tick(conn, 200)


def test_error_command_is_fatal_and_unknown_command_ignored():
    conn, owner = handshake()
    feed(conn, b"\x04\x07\x05HELLOx")
    assert drain(conn) == b""
    with pytest.raises(ProtocolError, match="boom"):
        feed(conn, b"\x04\x0b\x05ERROR\x04boom")


@pytest.mark.parametrize("body", [b"", b"\x00", b"\x09SUB"])
def test_malformed_command_refused(body):
    conn, _ = handshake()
    with pytest.raises(ProtocolError, match="malformed"):
        feed(conn, header(4, len(body)) + body)


# -- subscriptions ---------------------------------------------------------------
def test_subscribe_cancel_as_commands_from_31_peer():
    conn, owner = handshake(C.PUB, b"SUB")
    feed(conn, b"\x04\x0e\x09SUBSCRIBEtopi" + b"\x04\x0b\x06CANCELtopi")
    assert owner.subs == [(b"topi", True), (b"topi", False)]


def test_subscription_sent_in_31_form():
    conn, _ = handshake(C.SUB, b"PUB")
    conn.send_subscription(b"abc", True)
    conn.send_subscription(b"abc", False)
    assert drain(conn) == b"\x04\x0d\x09SUBSCRIBEabc\x04\x0a\x06CANCELabc"


def test_subscription_sent_in_30_form():
    conn, _ = handshake(C.SUB, b"PUB", peer_greeting=LIBZMQ_GREETING_30)
    conn.send_subscription(b"abc", True)
    conn.send_subscription(b"", False)
    assert drain(conn) == b"\x00\x04\x01abc\x00\x01\x00"


def test_subscription_as_data_from_30_peer_reaches_pub_as_data():
    # the data form is decoded by the PUB pattern: the codec passes it on
    conn, owner = handshake(C.PUB, b"SUB", peer_greeting=LIBZMQ_GREETING_30)
    feed(conn, b"\x00\x04\x01abc")
    assert owner.frames == [[b"\x01abc"]]


# -- Hypothesis: round trips and chunking ---------------------------------------------
class Sink:
    def __init__(self):
        self.got = []

    def on_frame(self, flags, buf, n):
        self.got.append((flags, bytes(buf[:n])))

    def alloc(self, n):
        return bytearray(n)


frames_st = st.lists(
    st.tuples(st.sampled_from([0, 1, 4, 5]), st.binary(max_size=600)), min_size=1, max_size=8
)


@settings(max_examples=200, deadline=None)
@given(frames_st)
def test_frames_roundtrip(frs):
    data = b"".join(frame(f, b) for f, b in frs)
    s = Sink()
    FrameDecoder(s).feed(data, 0, len(data))
    assert s.got == frs


@settings(max_examples=100, deadline=None)
@given(frames_st, st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=30))
def test_frames_random_chunking(frs, cuts):
    data = b"".join(frame(f, b) for f, b in frs)
    s = Sink()
    d = FrameDecoder(s)
    pos = 0
    i = 0
    while pos < len(data):
        n = cuts[i % len(cuts)]
        d.feed(data[pos : pos + n], 0, min(n, len(data) - pos))
        pos += n
        i += 1
    assert s.got == frs


def _session_stream():
    return (
        LIBZMQ_GREETING
        + ready_cmd(b"ROUTER", Identity=b"")
        + frame(1, b"")
        + frame(1, b"a" * 255)
        + frame(1, b"b" * 256)
        + frame(0, b"c" * 300)
        + b"\x04\x09\x04PING\x00\x0aLO"
        + frame(0, b"tail")
    )


def _run(chunks):
    conn, owner = make(C.DEALER)
    drain(conn)
    for c in chunks:
        feed(conn, c)
    return owner.frames, drain(conn)


def test_every_split_point_parses_the_same():
    data = _session_stream()
    want = _run([data])
    assert want[0] == [[b"", b"a" * 255, b"b" * 256, b"c" * 300], [b"tail"]]
    assert want[1].endswith(b"\x04\x07\x04PONGLO")
    for i in range(len(data) + 1):
        assert _run([data[:i], data[i:]]) == want, i


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_random_multi_splits_parse_the_same(data):
    stream = _session_stream()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=20)))
    chunks = []
    prev = 0
    for c in cuts + [len(stream)]:
        chunks.append(stream[prev:c])
        prev = c
    assert _run(chunks) == _run([stream])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.binary(min_size=1, max_size=255), st.binary(max_size=300)), max_size=10))
def test_metadata_roundtrip(props):
    uniq = {}
    for k, v in props:
        uniq.setdefault(k.lower(), (k, v))
    props = list(uniq.values())
    assert metadata.parse(metadata.encode(props)) == {k.lower(): v for k, v in props}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_after_greeting_only_raise_protocol_error(junk):
    conn, owner = handshake()
    try:
        feed(conn, junk)
    except ProtocolError:
        pass
