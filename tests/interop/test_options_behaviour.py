"""Each option edgezmq honours does what libzmq does: the same program runs
with the socket under test from pyzmq and from edgezmq (I/O thread and
cooperative), its peers always pyzmq (real libzmq), and the results must be
equal, and be what libzmq documents (docs/api.md, the option table)."""
import errno
import os
import socket
import struct
import sys
import time

import edgezmq
import pytest
import zmq as pyzmq
from support import free_port

RUNS = ["pyzmq", "edgezmq-thread", "edgezmq-cooperative"]


@pytest.fixture
def peer():
    ctx = pyzmq.Context()
    yield ctx
    ctx.destroy(linger=0)


def run(program, peer, *args):
    """program(lib, ctx, peer, *args) under each library -> {run: result}."""
    out = {}
    for name in RUNS:
        if name == "pyzmq":
            lib, ctx = pyzmq, pyzmq.Context()
        else:
            lib, ctx = edgezmq, edgezmq.Context(io_threads=1 if name.endswith("thread") else 0)
        try:
            out[name] = program(lib, ctx, peer, *args)
        finally:
            ctx.destroy(linger=0)
    return out


def same(results, expected):
    """Every run gave what pyzmq gave, and that is libzmq's documented answer."""
    assert results["pyzmq"] == expected, "libzmq itself: %r" % (results["pyzmq"],)
    assert results == {k: expected for k in results}


def drain(s, settle=0.3):
    """Everything readable once what the peer sent back to back had time to
    arrive (libzmq's SUB takes a message in hand when polled: not before)."""
    time.sleep(settle)
    got = []
    while s.poll(3000 if not got else 100):
        got.append((s.recv(), s.rcvmore))
    return got


# -- CONFLATE ----------------------------------------------------------------------


def conflate_in(lib, ctx, peer, kind, frames):
    """A conflating receiver with ten messages (or multipart ones) waiting for it."""
    s = ctx.socket(getattr(lib, kind))
    s.conflate = 1
    s.rcvhwm = 1  # ignored with CONFLATE
    if kind == "SUB":
        s.subscribe(b"")
    port = s.bind_to_random_port("tcp://127.0.0.1")
    out = peer.socket(pyzmq.PUB if kind == "SUB" else pyzmq.DEALER if kind == "DEALER" else pyzmq.PUSH)
    out.connect("tcp://127.0.0.1:%d" % port)
    if kind == "SUB":  # until the subscription is there
        while not s.poll(50):
            out.send(b"probe")
        while s.poll(100):
            s.recv()
    for i in range(10):
        out.send_multipart([b"%d-%d" % (i, k) for k in range(frames)])
    got = drain(s)
    out.close(0)
    return got


@pytest.mark.parametrize("kind", ["PULL", "DEALER", "SUB"])
def test_conflate_keeps_the_last_message(peer, kind):
    same(run(conflate_in, peer, kind, 1), [(b"9-0", 0)])


def test_conflate_keeps_the_last_frame_of_multipart(peer):
    """libzmq's ypipe_conflate keeps one frame, not one message."""
    same(run(conflate_in, peer, "PULL", 3), [(b"9-2", 0)])


def conflate_queued(lib, ctx, peer, kind):
    """A conflating sender queues on connect: only the last message waits."""
    port = free_port()
    s = ctx.socket(getattr(lib, kind))
    s.conflate = 1
    s.sndhwm = 1  # ignored with CONFLATE: no send blocks
    s.sndtimeo = 0
    s.connect("tcp://127.0.0.1:%d" % port)
    for i in range(10):
        s.send(b"%d" % i)
    p = peer.socket(pyzmq.PULL if kind == "PUSH" else pyzmq.DEALER)
    p.bind("tcp://127.0.0.1:%d" % port)
    got = []
    end = time.monotonic() + 3  # then 0.5 s after each message
    while time.monotonic() < end:
        s.poll(0, lib.POLLIN)  # a cooperative context does its I/O in calls like this one
        if p.poll(20):
            got.append(p.recv())
            end = time.monotonic() + 0.5
    p.close(0)
    return got


@pytest.mark.parametrize("kind", ["PUSH", "DEALER"])
def test_conflate_queues_only_the_last_message_for_a_peer_not_there(peer, kind):
    same(run(conflate_queued, peer, kind), [b"9"])


def conflate_ignored(lib, ctx, peer):
    """CONFLATE is for PUB SUB DEALER PULL PUSH; a PAIR takes it and ignores it."""
    s = ctx.socket(lib.PAIR)
    s.conflate = 1
    port = s.bind_to_random_port("tcp://127.0.0.1")
    p = peer.socket(pyzmq.PAIR)
    p.connect("tcp://127.0.0.1:%d" % port)
    for i in range(3):
        p.send(b"%d" % i)
    got = drain(s)
    p.close(0)
    return [s.conflate, got]


def test_conflate_does_nothing_on_other_types(peer):
    same(run(conflate_ignored, peer), [1, [(b"0", 0), (b"1", 0), (b"2", 0)]])


# -- REQ_RELAXED, REQ_CORRELATE ---------------------------------------------------


def recv_pumping(p, s):
    """p.recv_multipart() while s's context does its I/O (cooperative edgezmq
    does it only inside its calls: s.poll drives it)."""
    end = time.monotonic() + 3
    while time.monotonic() < end:
        s.poll(0, 1)  # POLLIN, in both libraries
        if p.poll(20):
            return p.recv_multipart()
    raise AssertionError("nothing arrived")


def req_program(lib, ctx, peer, relaxed, correlate):
    """Two requests in a row to a ROUTER, which answers both in order."""
    r = peer.socket(pyzmq.ROUTER)
    port = r.bind_to_random_port("tcp://127.0.0.1")
    s = ctx.socket(lib.REQ)
    s.rcvtimeo = 2000
    if relaxed:
        s.req_relaxed = 1
    if correlate:
        s.req_correlate = 1
    s.connect("tcp://127.0.0.1:%d" % port)
    out = []
    s.send(b"one")
    m1 = recv_pumping(r, s)
    out.append([len(f) for f in m1])  # [routing id, (request id,) delimiter, body]
    out.append(s.poll(0, lib.POLLOUT))
    try:
        s.send(b"two")
    except lib.ZMQError as e:
        out.append(e.errno == lib.EFSM)
        r.send_multipart(m1[:-1] + [b"reply-one"])
        out.append(s.recv())
        r.close(0)
        return out
    m2 = recv_pumping(r, s)
    if correlate:
        out.append(struct.unpack("<I", m2[1])[0] - struct.unpack("<I", m1[1])[0])  # ids count up
    r.send_multipart(m1[:-1] + [b"reply-one"])
    if correlate:  # a reply with a wrong id, then the right one
        r.send_multipart(m2[:1] + [b"\xff\xff\xff\xff", b"", b"bogus"])
    r.send_multipart(m2[:-1] + [b"reply-two"])
    out.append(s.recv())
    out.append(s.poll(300))  # nothing else is announced
    r.close(0)
    return out


def test_req_strict_refuses_a_second_request(peer):
    same(run(req_program, peer, False, False), [[5, 0, 3], 0, True, b"reply-one"])


def test_req_relaxed_takes_a_late_reply_to_the_abandoned_request(peer):
    """Without REQ_CORRELATE the first reply answers the second request (libzmq's doc says so)."""
    same(run(req_program, peer, True, False), [[5, 0, 3], pyzmq.POLLOUT, b"reply-one", 0])


def test_req_relaxed_with_correlate_matches_the_reply(peer):
    same(run(req_program, peer, True, True), [[5, 4, 0, 3], pyzmq.POLLOUT, 1, b"reply-two", 0])


def test_req_correlate_alone_sends_request_ids(peer):
    same(run(req_program, peer, False, True), [[5, 4, 0, 3], 0, True, b"reply-one"])


def req_options_elsewhere(lib, ctx, peer):
    """REQ_* are REQ's options: EINVAL on other types, and never read back."""
    out = []
    for t, opt in ((lib.DEALER, lib.REQ_RELAXED), (lib.REP, lib.REQ_CORRELATE), (lib.REQ, lib.REQ_RELAXED)):
        s = ctx.socket(t)
        for call, args in ((s.setsockopt, (opt, 1)), (s.getsockopt, (opt,))):
            try:
                call(*args)
                out.append("ok")
            except lib.ZMQError as e:
                out.append(e.errno)
        s.close(0)
    return out


def test_req_options_are_req_only_and_write_only(peer):
    same(run(req_options_elsewhere, peer), [22, 22, 22, 22, "ok", 22])


# -- SNDBUF, RCVBUF, TCP_KEEPALIVE* (the kernel's view of the connection) -------------

_TCP_OPTS = [
    ("sndbuf", socket.SOL_SOCKET, socket.SO_SNDBUF),
    ("rcvbuf", socket.SOL_SOCKET, socket.SO_RCVBUF),
    ("keepalive", socket.SOL_SOCKET, socket.SO_KEEPALIVE),
    ("keepcnt", socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPCNT", None)),
    ("keepidle", socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPIDLE", None)),
    ("keepintvl", socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPINTVL", None)),
]


def tcp_sockets(port):
    """{"listening" | "accepted" | "connecting": {option: value}} for this
    process's tcp sockets on `port` (found through /proc/self/fd)."""
    found = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            s = socket.socket(fileno=os.dup(int(fd)))
        except OSError:
            continue
        try:
            if s.family != socket.AF_INET or s.type != socket.SOCK_STREAM:
                continue
            local = s.getsockname()[1]
            try:
                remote = s.getpeername()[1]
            except OSError:
                remote = None
            role = ("listening" if remote is None else "accepted") if local == port else (
                "connecting" if remote == port else None)
            if role:
                found[role] = {n: s.getsockopt(level, opt) for n, level, opt in _TCP_OPTS}
        finally:
            s.close()
    return found


def tuned(lib, ctx, peer, bound, connecting):
    """A binder and a connecter of the library under test, each with its options."""
    a = ctx.socket(lib.PAIR)
    b = ctx.socket(lib.PAIR)
    for s, opts in ((a, bound), (b, connecting)):
        for name, v in opts.items():
            setattr(s, name, v)
    port = a.bind_to_random_port("tcp://127.0.0.1")
    b.connect("tcp://127.0.0.1:%d" % port)
    b.send(b"up")
    a.rcvtimeo = 3000
    assert a.recv() == b"up"
    return tcp_sockets(port)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/fd")
def test_kernel_buffers_and_keepalives_are_set_as_libzmq_sets_them(peer):
    bound = {"sndbuf": 65536, "rcvbuf": 131072, "tcp_keepalive": 1, "tcp_keepalive_cnt": 3,
             "tcp_keepalive_idle": 30, "tcp_keepalive_intvl": 5}
    # keepalive times without TCP_KEEPALIVE=1 are not applied (tcp.cpp)
    connecting = {"sndbuf": 32768, "rcvbuf": 49152, "tcp_keepalive_idle": 45}
    results = run(tuned, peer, bound, connecting)
    got = results["pyzmq"]
    assert set(got) == {"listening", "accepted", "connecting"}
    assert got["accepted"]["keepalive"] and got["accepted"]["keepidle"] == 30
    assert got["accepted"]["sndbuf"] == 2 * 65536  # Linux reports twice what was asked
    assert not got["connecting"]["keepalive"] and got["connecting"]["keepidle"] != 45
    assert got["connecting"]["rcvbuf"] == 2 * 49152
    same(results, got)


def test_keepalive_takes_minus_one_zero_or_one(peer):
    def program(lib, ctx, peer):
        s = ctx.socket(lib.PAIR)
        out = []
        for v in (-1, 0, 1, 2):
            try:
                s.tcp_keepalive = v
                out.append(s.tcp_keepalive)
            except lib.ZMQError as e:
                out.append(e.errno)
        s.close(0)
        return out

    same(run(program, peer), [-1, 0, 1, 22])


# -- CONNECT_TIMEOUT -----------------------------------------------------------------


def connect_attempts(lib, ctx, peer, timeout_ms):
    """Connect to a listener whose backlog is full (the kernel drops our SYN,
    so the connect hangs): the monitor events of the first 700 ms."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(0)
    port = ls.getsockname()[1]
    fillers = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        fillers.append(c)
    time.sleep(0.1)
    s = ctx.socket(lib.DEALER)
    s.connect_timeout = timeout_ms
    s.reconnect_ivl = 100
    mon = s.get_monitor_socket()
    s.connect("tcp://127.0.0.1:%d" % port)
    events = []
    end = time.monotonic() + 0.7
    while time.monotonic() < end:
        if mon.poll(50):
            events.append(struct.unpack("<HI", mon.recv_multipart()[0][:6])[0])
    mon.close(0)
    s.close(0)
    for c in fillers + [ls]:
        c.close()
    retries = events.count(lib.EVENT_CONNECT_RETRIED)
    return [sorted(set(events)), retries >= 2, events.count(lib.EVENT_CLOSED) >= retries]


def test_connect_timeout_gives_up_a_hanging_connect(peer):
    same(run(connect_attempts, peer, 100),
         [sorted({pyzmq.EVENT_CONNECT_DELAYED, pyzmq.EVENT_CLOSED, pyzmq.EVENT_CONNECT_RETRIED}), True, True])


def test_without_connect_timeout_the_connect_waits_for_the_kernel(peer):
    same(run(connect_attempts, peer, 0), [[pyzmq.EVENT_CONNECT_DELAYED], False, True])


# -- options set on the context, value types, buffers (pyzmq's API over them) ---------


def context_defaults(lib, ctx, peer):
    """pyzmq's Context.sockopts: new sockets take them where their type does;
    MAX_SOCKETS bounds the sockets (EMFILE beyond)."""
    ctx.linger = 5
    ctx.setsockopt(lib.SUBSCRIBE, b"")  # a REQ does not take it: ignored
    ctx.set(lib.MAX_SOCKETS, 2)
    a = ctx.socket(lib.REQ)
    b = ctx.socket(lib.SUB)
    out = [a.linger, b.getsockopt(lib.LINGER), ctx.get(lib.MAX_SOCKETS)]
    try:
        ctx.socket(lib.PAIR)
    except lib.ZMQError as e:
        out.append(e.errno == errno.EMFILE)
    a.close(0)
    b.close(0)
    return out


def test_context_socket_options_and_max_sockets(peer):
    same(run(context_defaults, peer), [5, 5, 2, True])


def value_types(lib, ctx, peer):
    """TypeError for a value of the wrong type (str included: setsockopt_string
    encodes), EINVAL for a bad value of the right type."""
    s = ctx.socket(lib.SUB)
    out = []
    for call in ((s.setsockopt, lib.IDENTITY, "me"), (s.setsockopt, lib.SUBSCRIBE, "t"),
                 (s.setsockopt, lib.LINGER, "5"), (s.setsockopt, lib.LINGER, 1.5),
                 (s.setsockopt, lib.ZAP_DOMAIN, 5), (s.setsockopt, 9999, b"x"),
                 (s.setsockopt, 9999, 1), (s.setsockopt, lib.LINGER, -2),
                 (s.getsockopt_string, lib.LINGER), (s.setsockopt_string, lib.IDENTITY, "me")):
        try:
            call[0](*call[1:])
            out.append("ok")
        except TypeError:
            out.append("TypeError")
        except lib.ZMQError as e:
            out.append(e.errno)
    out.append(s.getsockopt_string(lib.IDENTITY))
    s.subscribe("topic")  # the method (and the attribute) encode a str
    s.subscribe = "other"
    s.close(0)
    return out


def test_option_value_types_as_pyzmq(peer):
    same(run(value_types, peer),
         ["TypeError"] * 6 + [22, 22, "TypeError", "ok", "me"])


def buffers(lib, ctx, peer):
    """send_multipart checks every frame before sending any; recv_into checks
    the buffer before waiting and fills one of any item size."""
    from array import array

    a = ctx.socket(lib.PAIR)
    port = a.bind_to_random_port("tcp://127.0.0.1")
    p = peer.socket(pyzmq.PAIR)
    p.connect("tcp://127.0.0.1:%d" % port)
    out = []
    try:
        a.send_multipart([b"a", 5])
    except TypeError:
        out.append("TypeError")
    a.send_multipart([b"b"])
    out.append(p.recv_multipart())
    for bad, kw in ((memoryview(bytearray(10))[::2], {}), (memoryview(b"ro"), {}),
                    (bytearray(10), {"nbytes": 11}), (object(), {})):
        try:
            a.recv_into(bad, **kw)
        except (BufferError, ValueError, TypeError) as e:
            out.append(type(e).__name__)
    p.send(b"hello")
    buf = array("Q", [0])
    a.rcvtimeo = 3000
    out.append(a.recv_into(buf))
    out.append(buf.tobytes()[:5])
    p.close(0)
    return out


def test_send_multipart_and_recv_into_check_first(peer):
    same(run(buffers, peer),
         ["TypeError", [b"b"], "BufferError", "BufferError", "ValueError", "TypeError", 5, b"hello"])


def xpub_subscriptions(lib, ctx, peer, verbose):
    """Two pyzmq SUBs subscribe to the same topic: XPUB passes the second up
    only with XPUB_VERBOSE."""
    x = ctx.socket(lib.XPUB)
    if verbose:
        x.xpub_verbose = 1
    port = x.bind_to_random_port("tcp://127.0.0.1")
    subs = []
    got = []
    for _ in range(2):
        s = peer.socket(pyzmq.SUB)
        s.subscribe(b"news")
        s.connect("tcp://127.0.0.1:%d" % port)
        subs.append(s)
        if x.poll(3000 if not got else 500):
            got.append(x.recv())
    while x.poll(300):
        got.append(x.recv())
    for s in subs:
        s.close(0)
    return got


@pytest.mark.parametrize("verbose", [0, 1])
def test_xpub_verbose_passes_repeated_subscriptions(peer, verbose):
    same(run(xpub_subscriptions, peer, verbose), [b"\x01news"] * (1 + verbose))
