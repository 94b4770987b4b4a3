"""Hostile input against an edgezmq bound socket, from plain Python sockets:
every bad stream ends in a closed connection with a logged reason, and a good
libzmq client (pyzmq in another process) is still served afterwards."""
import logging
import socket
import time

import edgezmq
import pytest
from edgezmq.zmtp import metadata
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from peers.remote import Peer

pytestmark = pytest.mark.fastpath  # frame scanning of hostile streams: also run with EDGEZMQ_PURE=1

pytest.importorskip("zmq")

GREETING_31 = b"\xff" + b"\x00" * 7 + b"\x01\x7f\x03\x01NULL" + b"\x00" * 16 + b"\x00" + b"\x00" * 31


def ready(stype, extra=b""):
    body = b"\x05READY" + metadata.encode([(b"Socket-Type", stype)]) + extra
    return bytes((4, len(body))) + body


@pytest.fixture(scope="module")
def peer():
    p = Peer()
    yield p
    p.close()


@pytest.fixture
def rep(ez):
    s = ez.socket(edgezmq.REP)
    s.linger = 0
    s.handshake_ivl = 10000
    s.rcvtimeo = 3000  # never hang a test on a blocking recv
    s.bind("tcp://127.0.0.1:*")
    yield s
    s.close(0)


def port_of(sock):
    return int(sock.last_endpoint.decode().rsplit(":", 1)[1])


def raw_connect(sock):
    r = socket.create_connection(("127.0.0.1", port_of(sock)))
    r.setblocking(False)
    return r


def wait_closed(raw, edge, timeout=3.0):
    """Pump edgezmq while reading the raw socket until EOF; -> (bytes, seconds)."""
    got = bytearray()
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        edge.poll(10)
        try:
            d = raw.recv(65536)
        except BlockingIOError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return bytes(got), time.monotonic() - start
        if not d:
            return bytes(got), time.monotonic() - start
        got += d
    raise AssertionError("connection was not closed within %.1fs" % timeout)


def served(peer, rep):
    """A good libzmq REQ client completes a round trip."""
    req = peer.socket("REQ")
    try:
        req.connect(rep.last_endpoint.decode())
        req.send([b"hello"])
        assert rep.poll(3000), "good client not served"
        assert rep.recv() == b"hello"
        rep.send(b"world")
        assert req.recv() == [b"world"]
    finally:
        req.close()


def logged(caplog, word):
    return [r.getMessage() for r in caplog.records if r.name == "edgezmq" and word in r.getMessage()]


@pytest.mark.parametrize(
    "data, word",
    [
        (b"GET / HTTP/1.1\r\n\r\n", "1.0"),  # wrong signature
        (b"\x01\x00", "1.0"),  # a ZMTP 1.0 peer: empty identity frame, then it waits
        (b"\xff" + b"\x00" * 8 + b"\x7f\x01", "2.0"),  # ZMTP 2.0 (major 1) waits for us
        (b"\xff" + b"\x00" * 8 + b"\x7f\x02", "refused"),
        (b"\xff" + b"\x00" * 8 + b"\x7e", "signature"),
    ],
    ids=["http", "zmtp1.0", "zmtp2.0", "major2", "badsig"],
)
def test_old_or_wrong_greeting_refused_immediately(data, word, rep, peer, caplog):
    caplog.set_level(logging.DEBUG, "edgezmq")
    raw = raw_connect(rep)
    raw.sendall(data)
    got, took = wait_closed(raw, rep)
    raw.close()
    assert took < 1.0  # not the 10 s HANDSHAKE_IVL
    assert got == b"" or got.startswith(b"\xff")  # at most our greeting
    assert logged(caplog, word)
    served(peer, rep)


def test_socket_type_mismatch(rep, peer, caplog):
    caplog.set_level(logging.DEBUG, "edgezmq")
    raw = raw_connect(rep)
    raw.sendall(GREETING_31 + ready(b"PUB"))
    got, _ = wait_closed(raw, rep)
    raw.close()
    assert got[:1] == b"\xff" and b"\x05ERROR\x13Invalid socket type" in got
    assert logged(caplog, "socket type")
    served(peer, rep)


def test_truncated_frame_then_eof(rep, peer, caplog):
    caplog.set_level(logging.DEBUG, "edgezmq")
    raw = raw_connect(rep)
    raw.sendall(GREETING_31 + ready(b"REQ") + b"\x01\x00" + b"\x00\x10abc")
    raw.shutdown(socket.SHUT_WR)
    wait_closed(raw, rep)
    raw.close()
    assert logged(caplog, "closed")
    assert not rep.poll(50)  # the partial request is never delivered
    served(peer, rep)


@pytest.mark.parametrize("maxmsgsize", [-1, 1000])
def test_oversize_frame(maxmsgsize, rep, peer, caplog):
    caplog.set_level(logging.DEBUG, "edgezmq")
    rep.maxmsgsize = maxmsgsize
    raw = raw_connect(rep)
    raw.sendall(GREETING_31 + ready(b"REQ") + b"\x01\x00" + b"\x02" + (2**63).to_bytes(8, "big") + b"x" * 100)
    wait_closed(raw, rep)
    raw.close()
    assert logged(caplog, "exceeds")
    served(peer, rep)


def test_maxmsgsize_exceeded_by_a_real_body(rep, peer, caplog):
    caplog.set_level(logging.DEBUG, "edgezmq")
    rep.maxmsgsize = 10
    raw = raw_connect(rep)
    raw.sendall(GREETING_31 + ready(b"REQ") + b"\x01\x00" + b"\x00\x0b" + b"x" * 11)
    wait_closed(raw, rep)
    raw.close()
    assert logged(caplog, "MAXMSGSIZE")
    served(peer, rep)


@pytest.mark.parametrize(
    "extra",
    [b"\x08Identity\x00\x00\x01\x00ab", b"\x08Identity\x00\x00", b"\x30Identity"],
    ids=["value-past-end", "short-length", "name-past-end"],
)
def test_malformed_metadata(extra, rep, peer, caplog):
    caplog.set_level(logging.DEBUG, "edgezmq")
    raw = raw_connect(rep)
    raw.sendall(GREETING_31 + ready(b"REQ", extra))
    wait_closed(raw, rep)
    raw.close()
    assert logged(caplog, "metadata")
    served(peer, rep)


@pytest.mark.parametrize("flags", [0x08, 0x40, 0x81])
def test_reserved_flag_bits(flags, rep, peer, caplog):
    caplog.set_level(logging.DEBUG, "edgezmq")
    raw = raw_connect(rep)
    raw.sendall(GREETING_31 + ready(b"REQ") + bytes((flags, 1)) + b"a")
    wait_closed(raw, rep)
    raw.close()
    assert logged(caplog, "reserved")
    served(peer, rep)


@pytest.mark.parametrize("partial", [b"", GREETING_31[:20], GREETING_31])
def test_silent_peer_closed_after_handshake_ivl(partial, rep, peer, caplog):
    caplog.set_level(logging.DEBUG, "edgezmq")
    rep.handshake_ivl = 300
    raw = raw_connect(rep)
    raw.sendall(partial)
    got, took = wait_closed(raw, rep)
    raw.close()
    assert 0.25 <= took < 2.0
    assert got[:1] == b"\xff"  # we sent our greeting at once, without waiting
    assert logged(caplog, "HANDSHAKE_IVL")
    served(peer, rep)


def test_data_before_handshake(rep, peer, caplog):
    caplog.set_level(logging.DEBUG, "edgezmq")
    raw = raw_connect(rep)
    raw.sendall(GREETING_31 + b"\x00\x05hello")
    wait_closed(raw, rep)
    raw.close()
    assert logged(caplog, "before the handshake")
    served(peer, rep)


def test_peer_error_command(rep, peer, caplog):
    caplog.set_level(logging.DEBUG, "edgezmq")
    raw = raw_connect(rep)
    raw.sendall(GREETING_31 + b"\x04\x0b\x05ERROR\x04nope")
    wait_closed(raw, rep)
    raw.close()
    assert logged(caplog, "nope")
    served(peer, rep)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(junk=st.binary(min_size=1, max_size=300))
def test_fuzz_after_greeting_never_kills_the_socket(junk, rep, caplog):
    caplog.set_level(logging.DEBUG, "edgezmq")
    raw = raw_connect(rep)
    try:
        raw.sendall(GREETING_31 + ready(b"REQ") + junk)
        end = time.monotonic() + 0.05
        while time.monotonic() < end:
            if rep.poll(10):
                # junk happened to be a well-formed request: poll announced it,
                # so it must be there to take
                rep.recv_multipart(edgezmq.NOBLOCK)
                rep.send(b"ok")
    finally:
        raw.close()
    assert not logged(caplog, "I/O thread")
    assert not rep.closed


def test_fuzz_then_good_client(rep, peer, caplog):
    """After a burst of hostile connections the socket still serves libzmq."""
    import random

    rnd = random.Random(1234)
    caplog.set_level(logging.DEBUG, "edgezmq")
    raws = []
    for _ in range(30):
        r = raw_connect(rep)
        r.sendall(GREETING_31 + ready(b"REQ") + bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 200))))
        raws.append(r)
    for _ in range(10):
        rep.poll(10)
    for r in raws:
        r.close()
    assert not logged(caplog, "I/O thread")
    served(peer, rep)


# -- mock subscribers and publishers (libzmq test_mock_pub_sub) ---------------------------
GREETING_30 = GREETING_31[:11] + b"\x00" + GREETING_31[12:]


def read_until(raw, edge, want, timeout=3.0):
    got = bytearray()
    end = time.monotonic() + timeout
    while time.monotonic() < end and want not in got:
        edge.poll(10)
        try:
            d = raw.recv(65536)
        except BlockingIOError:
            continue
        if not d:
            break
        got += d
    return bytes(got)


@pytest.mark.parametrize(
    "greet, sub_form",
    [(GREETING_31, b"\x04\x0b\x09SUBSCRIBEA"), (GREETING_30, b"\x00\x02\x01A"), (GREETING_31, b"\x00\x02\x01A")],
    ids=["3.1-command", "3.0-data", "3.1-peer-data-form"],
)
def test_mock_subscriber_both_forms(ez, greet, sub_form):
    pub = ez.socket(edgezmq.PUB)
    pub.linger = 0
    pub.bind("tcp://127.0.0.1:*")
    raw = raw_connect(pub)
    try:
        raw.sendall(greet + ready(b"SUB") + sub_form)
        got = b""
        end = time.monotonic() + 3
        while b"A-yes" not in got and time.monotonic() < end:
            pub.send(b"B-no")
            pub.send(b"A-yes")
            got += read_until(raw, pub, b"A-yes", 0.05)
        assert b"\x00\x05A-yes" in got and b"B-no" not in got
    finally:
        raw.close()
        pub.close(0)


@pytest.mark.parametrize("greet, want", [(GREETING_31, b"\x04\x0c\x09SUBSCRIBEtp"), (GREETING_30, b"\x00\x03\x01tp")], ids=["3.1", "3.0"])
def test_sub_sends_the_form_the_peer_expects(ez, greet, want):
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    sub = ez.socket(edgezmq.SUB)
    sub.linger = 0
    sub.subscribe(b"tp")
    sub.connect("tcp://127.0.0.1:%d" % lsock.getsockname()[1])
    lsock.setblocking(False)
    conn = None
    end = time.monotonic() + 3
    while conn is None and time.monotonic() < end:
        sub.poll(10)
        try:
            conn, _ = lsock.accept()
        except BlockingIOError:
            pass
    assert conn is not None
    conn.setblocking(False)
    try:
        conn.sendall(greet + ready(b"PUB"))
        got = read_until(conn, sub, want)
        assert got.startswith(b"\xff") and want in got
        conn.sendall(b"\x00\x04tp-1\x00\x04xx-2")
        assert sub.poll(3000) and sub.recv() == b"tp-1"
        assert not sub.poll(100)
    finally:
        conn.close()
        lsock.close()
        sub.close(0)


def test_handshake_failure_reaches_the_monitor(ez):
    from zmq.utils.monitor import parse_monitor_message

    rep = ez.socket(edgezmq.REP)
    rep.linger = 0
    mon = rep.get_monitor_socket(edgezmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | edgezmq.EVENT_ACCEPTED)
    rep.bind("tcp://127.0.0.1:*")
    raw = raw_connect(rep)
    raw.sendall(GREETING_31 + ready(b"SUB"))
    wait_closed(raw, rep)
    raw.close()
    seen = []
    while mon.poll(200):
        seen.append(parse_monitor_message(mon.recv_multipart())["event"])
    assert seen == [edgezmq.EVENT_ACCEPTED, edgezmq.EVENT_HANDSHAKE_FAILED_PROTOCOL]
    mon.close(0)
    rep.close(0)


def test_too_many_metadata_properties(rep, peer, caplog):
    caplog.set_level(logging.DEBUG, "edgezmq")
    raw = raw_connect(rep)
    extra = b"".join(metadata.encode([(b"X-%d" % i, b"v")]) for i in range(100))
    body = b"\x05READY" + metadata.encode([(b"Socket-Type", b"REQ")]) + extra
    raw.sendall(GREETING_31 + b"\x06" + len(body).to_bytes(8, "big") + body)
    wait_closed(raw, rep)
    raw.close()
    assert logged(caplog, "metadata")
    served(peer, rep)
