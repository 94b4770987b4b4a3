"""serial:// endpoints CPython to CPython: pyserial on both ends of a pty cable.

The cable (tests/ptyrelay.py) is two pseudo-terminals joined by a relay
thread that can flip bits, drop, duplicate and invent bytes, or go silent
(a cable pull). ZMTP runs over link channels; a link reset closes them and
the connections re-greet.
"""
import time

import edgezmq as zmq
import pytest
from ptyrelay import Faults, PtyCable

pytest.importorskip("serial")

T = 15000  # ms: generous, CI machines are loaded


@pytest.fixture
def cable():
    c = PtyCable(seed=7).start()
    yield c
    c.stop()


@pytest.fixture(params=["thread", "cooperative"])
def ctxs(request):
    """Two contexts with I/O threads, or one cooperative context driving both
    ends (two cooperative contexts in one thread would wait on each other)."""
    if request.param == "thread":
        a, b = zmq.Context(io_threads=1), zmq.Context(io_threads=1)
    else:
        a = b = zmq.Context(io_threads=0)
    yield a, b
    a.destroy(linger=0)
    if b is not a:
        b.destroy(linger=0)


def _sock(ctx, kind):
    s = ctx.socket(kind)
    s.rcvtimeo = T
    s.sndtimeo = T
    s.linger = 0
    return s


def _ep(path, extra=""):
    return "serial://%s?baud=115200%s" % (path, extra)


def _wait(pred, ctx_list=(), timeout=T / 1000.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for c in ctx_list:
            with c.lock:
                c.poll_nowait()
        if pred():
            return True
        time.sleep(0.01)
    return False


def test_req_rep(cable, ctxs):
    ca, cb = ctxs
    rep = _sock(ca, zmq.REP)
    assert rep.bind(_ep(cable.a_path)).socket is rep  # pyzmq's SocketContext
    assert rep.last_endpoint == ("serial://%s" % cable.a_path).encode()
    req = _sock(cb, zmq.REQ)
    req.connect(_ep(cable.b_path))
    for i in range(20):
        req.send_multipart([b"q%d" % i, b"x" * (i * 97)])
        m = rep.recv_multipart()
        assert m == [b"q%d" % i, b"x" * (i * 97)]
        rep.send_multipart([b"re"] + m)
        assert req.recv_multipart() == [b"re", b"q%d" % i, b"x" * (i * 97)]


def test_pub_connects_sub_binds_large_messages(cable, ctxs):
    ca, cb = ctxs
    sub = _sock(ca, zmq.SUB)
    sub.subscribe(b"t")
    sub.bind(_ep(cable.a_path))
    pub = _sock(cb, zmq.PUB)
    pub.connect(_ep(cable.b_path))
    # slow joiner: publish until the subscription has arrived
    got = None
    for _ in range(500):
        pub.send_multipart([b"t", b"probe"])
        try:
            got = sub.recv_multipart(zmq.NOBLOCK)
            break
        except zmq.Again:
            time.sleep(0.02)
    assert got == [b"t", b"probe"]
    big = bytes(range(256)) * 64  # 16 KiB: many link frames, credit round trips
    for i in range(10):
        pub.send_multipart([b"t", b"%d" % i, big])
        pub.send_multipart([b"other", b"%d" % i])
    got = []
    while len(got) < 10:
        m = sub.recv_multipart()
        if m != [b"t", b"probe"]:  # probes still in flight come first
            got.append(m)
    assert got == [[b"t", b"%d" % i, big] for i in range(10)]


def test_one_link_carries_both_directions(cable, ctxs):
    """A side binds and connects on the same device: two channels, one link."""
    ca, cb = ctxs
    pull_a = _sock(ca, zmq.PULL)
    pull_a.bind(_ep(cable.a_path))
    push_a = _sock(ca, zmq.PUSH)
    push_a.connect(_ep(cable.a_path))
    pull_b = _sock(cb, zmq.PULL)
    pull_b.bind(_ep(cable.b_path))
    push_b = _sock(cb, zmq.PUSH)
    push_b.connect(_ep(cable.b_path))
    for i in range(5):
        push_a.send(b"a->b %d" % i)
        push_b.send(b"b->a %d" % i)
    assert [pull_b.recv() for _ in range(5)] == [b"a->b %d" % i for i in range(5)]
    assert [pull_a.recv() for _ in range(5)] == [b"b->a %d" % i for i in range(5)]
    assert len(ca.serial_links) == (1 if ca is not cb else 2)


def test_noisy_line_delivers_everything_in_order(ctxs):
    c = PtyCable(seed=3, faults=Faults(ber=2e-5, drop=5e-5, dup=5e-5, burst_per_s=0.5)).start()
    try:
        ca, cb = ctxs
        pull = _sock(ca, zmq.PULL)
        pull.bind(_ep(c.a_path))
        push = _sock(cb, zmq.PUSH)
        push.connect(_ep(c.b_path))
        msgs = [b"%05d" % i + bytes([i % 251]) * (i * 37 % 900) for i in range(200)]
        for m in msgs:
            push.send(m)
        got = [pull.recv() for _ in msgs]
        assert got == msgs
        assert c.counts["flipped"] + c.counts["dropped"] + c.counts["duplicated"] > 0, c.counts
    finally:
        c.stop()


def test_link_reset_makes_zmtp_regreet(cable, ctxs):
    """A cable pull longer than timeout_ms resets the link: channels close,
    both ZMTP ends see a disconnect, the connecter opens a new channel and
    the peers greet again; messages flow as before."""
    ca, cb = ctxs
    extra = "&timeout_ms=1000"
    rep = _sock(ca, zmq.REP)
    rep.bind(_ep(cable.a_path, extra))
    req = _sock(cb, zmq.REQ)
    req.reconnect_ivl = 50
    req.connect(_ep(cable.b_path, extra))
    req.send(b"before")
    assert rep.recv() == b"before"
    rep.send(b"ok")
    assert req.recv() == b"ok"
    assert req.stats["connects"] == 1 and rep.stats["connects"] == 1
    cable.pull(2.5)
    assert _wait(lambda: req.stats["disconnects"] >= 1 and rep.stats["disconnects"] >= 1, (ca, cb))
    assert _wait(lambda: req.stats["connects"] >= 2 and rep.stats["connects"] >= 2, (ca, cb))
    req.send(b"after")
    assert rep.recv() == b"after"
    rep.send(b"ok2")
    assert req.recv() == b"ok2"
    link_b = cb.serial_links[cable.b_path].link
    assert link_b.stats["resets"] >= 1 and link_b.established


def test_peer_restart_resets_the_link(cable):
    """The far end restarts (a new process, a new session id): the link
    resets at once (no timeout) and the connection re-greets."""
    ca = zmq.Context(io_threads=1)
    try:
        pull = _sock(ca, zmq.PULL)
        pull.bind(_ep(cable.a_path))
        for round_ in range(2):
            cb = zmq.Context(io_threads=1)
            push = _sock(cb, zmq.PUSH)
            push.linger = 3000
            push.connect(_ep(cable.b_path))
            for i in range(3):
                push.send(b"r%d-%d" % (round_, i))
            assert [pull.recv() for _ in range(3)] == [b"r%d-%d" % (round_, i) for i in range(3)]
            cb.destroy(linger=3000)
        assert pull.stats["connects"] == 2
    finally:
        ca.destroy(linger=0)


def test_bind_to_a_missing_device_fails_connect_retries(cable, tmp_path):
    ctx = zmq.Context(io_threads=1)
    try:
        s = _sock(ctx, zmq.PULL)
        with pytest.raises(zmq.ZMQError) as ei:
            s.bind("serial://%s" % (tmp_path / "nope"))
        assert ei.value.errno == zmq.ENODEV
        # connect to a device that appears later (a USB adapter plugged in)
        link = tmp_path / "ttyLATER"
        push = _sock(ctx, zmq.PUSH)
        push.connect(_ep(str(link)))
        time.sleep(0.6)
        link.symlink_to(cable.b_path)
        pull = _sock(ctx, zmq.PULL)
        pull.bind(_ep(cable.a_path))
        push.send(b"late")
        assert pull.recv() == b"late"
    finally:
        ctx.destroy(linger=0)


def test_unbind_and_close_release_the_device(cable):
    ctx = zmq.Context(io_threads=0)
    try:
        s = _sock(ctx, zmq.PULL)
        s.bind(_ep(cable.a_path))
        h = ctx.serial_links[cable.a_path]
        with pytest.raises(zmq.ZMQError):
            _sock(ctx, zmq.PULL).bind(_ep(cable.a_path))
        s.unbind("serial://%s" % cable.a_path)
        assert h.closed and cable.a_path not in ctx.serial_links
        s.bind(_ep(cable.a_path))  # free again
        s.close()
        assert not ctx.serial_links
    finally:
        ctx.destroy(linger=0)


def test_send_then_term_delivers_per_linger(cable):
    """Messages sent just before ctx.term() still cross the link (LINGER):
    term waits until the link has them acknowledged."""
    ca = zmq.Context(io_threads=1)
    try:
        pull = _sock(ca, zmq.PULL)
        pull.bind(_ep(cable.a_path))
        cb = zmq.Context(io_threads=0)
        push = _sock(cb, zmq.PUSH)
        push.linger = 5000
        push.connect(_ep(cable.b_path))
        msgs = [b"m%03d" % i + b"z" * 2000 for i in range(30)]
        for m in msgs:
            push.send(m)
        push.close()
        cb.term()
        assert [pull.recv() for _ in msgs] == msgs
    finally:
        ca.destroy(linger=0)
