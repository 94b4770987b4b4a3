"""The pyzmq-compatible API: options, errors, inproc, recv_into, monitor events,
HWM policies, resubscription and XPUB, in both context modes (the `ez` fixture)."""
import time

import edgezmq as zmq
import pytest
from peers.remote import Peer
from support import wait_connected

T = 3000  # ms: every blocking call here has a timeout


def sock(ctx, stype, **opts):
    s = ctx.socket(stype)
    s.linger = 0
    s.rcvtimeo = T
    s.sndtimeo = T
    for k, v in opts.items():
        setattr(s, k, v)
    return s


def pair(ctx, a_type, b_type, ep="tcp://127.0.0.1:*", **b_opts):
    a = sock(ctx, a_type)
    a.bind(ep)
    b = sock(ctx, b_type, **b_opts)
    b.connect(a.last_endpoint)
    return a, b


@pytest.fixture(scope="module")
def peer():
    p = Peer()
    yield p
    p.close()


# -- options ------------------------------------------------------------------
def test_attribute_style_options(ez):
    s = ez.socket(zmq.DEALER)
    s.linger = 0
    assert s.linger == 0 and s.getsockopt(zmq.LINGER) == 0
    s.identity = b"abc"
    assert s.routing_id == b"abc" and s.get(zmq.IDENTITY) == b"abc"
    s.hwm = 7
    assert s.sndhwm == 7 and s.rcvhwm == 7 and s.hwm == 7
    s.setsockopt(zmq.RCVTIMEO, 250)
    assert s.rcvtimeo == 250
    s.setsockopt_string(zmq.ROUTING_ID, "xyz")
    assert s.getsockopt_string(zmq.ROUTING_ID) == "xyz"
    assert s.type == zmq.DEALER and s.getsockopt(zmq.TYPE) == zmq.DEALER
    assert s.rcvmore == 0
    s.close()
    assert s.closed


@pytest.mark.parametrize(
    "opt, value",
    [
        (zmq.LINGER, -2),
        (zmq.SNDHWM, -1),
        (zmq.RCVTIMEO, "100"),
        (zmq.ROUTING_ID, b"\x00bad"),
        (zmq.ROUTING_ID, b"x" * 256),
        (zmq.ROUTER_MANDATORY, 2),
        (zmq.HEARTBEAT_IVL, -5),
        (9999, 1),
    ],
)
def test_bad_option_values_are_einval(ez, opt, value):
    s = ez.socket(zmq.ROUTER)
    with pytest.raises(zmq.ZMQError) as e:
        s.setsockopt(opt, value)
    assert e.value.errno == zmq.EINVAL
    s.close(0)


def test_subscribe_on_non_sub_is_einval(ez):
    s = ez.socket(zmq.PUB)
    with pytest.raises(zmq.ZMQError) as e:
        s.subscribe(b"x")
    assert e.value.errno == zmq.EINVAL
    s.close(0)


@pytest.mark.parametrize("ep", ["tcp://*:*", "tcp://127.0.0.1:0", "tcp://127.0.0.1:*"])
def test_last_endpoint_wildcard_port(ez, ep):
    rep = sock(ez, zmq.REP)
    rep.bind(ep)
    le = rep.last_endpoint.decode()
    host, port = le[len("tcp://") :].rsplit(":", 1)
    assert le.startswith("tcp://") and 0 < int(port) < 65536
    req = sock(ez, zmq.REQ)
    req.connect("tcp://127.0.0.1:%s" % port)
    req.send(b"ping")
    assert rep.recv() == b"ping"
    rep.send(b"pong")
    assert req.recv() == b"pong"
    req.close()
    rep.close()


def test_bind_to_random_port(ez):
    pull = sock(ez, zmq.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    push = sock(ez, zmq.PUSH)
    push.connect("tcp://127.0.0.1:%d" % port)
    push.send(b"x")
    assert pull.recv() == b"x"
    push.close()
    pull.close()


def test_ipv6_loopback(ez, peer):
    import socket

    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError:
        pytest.skip("no ::1")
    rep = sock(ez, zmq.REP)
    rep.ipv6 = 1
    rep.bind("tcp://[::1]:*")
    ep = rep.last_endpoint.decode()
    assert ep.startswith("tcp://[::1]:")
    # a libzmq client over IPv6
    req = peer.socket("REQ", ipv6=1)
    req.connect(ep)
    req.send([b"v6"])
    assert rep.recv() == b"v6"
    rep.send(b"ok")
    assert req.recv() == [b"ok"]
    req.close()
    # and an edgezmq one
    req2 = sock(ez, zmq.REQ)
    req2.ipv6 = 1
    req2.connect(ep)
    req2.send(b"v6b")
    assert rep.recv() == b"v6b"
    rep.send(b"ok")
    assert req2.recv() == b"ok"
    req2.close()
    rep.close()


# -- errors -----------------------------------------------------------------------
def test_again_with_noblock(ez):
    pull = sock(ez, zmq.PULL)
    pull.bind("tcp://127.0.0.1:*")
    with pytest.raises(zmq.Again) as e:
        pull.recv(zmq.NOBLOCK)
    assert e.value.errno == zmq.EAGAIN
    push = sock(ez, zmq.PUSH)
    with pytest.raises(zmq.Again):
        push.send(b"x", zmq.DONTWAIT)  # no peer yet
    pull.close()
    push.close()


def test_rcvtimeo_raises_again_in_time(ez):
    pull = sock(ez, zmq.PULL)
    pull.rcvtimeo = 100
    pull.bind("tcp://127.0.0.1:*")
    t = time.monotonic()
    with pytest.raises(zmq.Again):
        pull.recv()
    assert 0.08 < time.monotonic() - t < 1.0
    pull.close()


def test_req_double_send_is_efsm(ez):
    rep, req = pair(ez, zmq.REP, zmq.REQ)
    req.send(b"one")
    with pytest.raises(zmq.ZMQError) as e:
        req.send(b"two")
    assert e.value.errno == zmq.EFSM
    with pytest.raises(zmq.ZMQError) as e:
        rep.send(b"early")
    assert e.value.errno == zmq.EFSM
    assert rep.recv() == b"one"
    rep.send(b"back")
    assert req.recv() == b"back"
    req.close()
    rep.close()


def test_router_mandatory_ehostunreach(ez):
    r = sock(ez, zmq.ROUTER)
    r.bind("tcp://127.0.0.1:*")
    r.send_multipart([b"nobody", b"x"])  # silently dropped by default
    r.router_mandatory = 1
    with pytest.raises(zmq.ZMQError) as e:
        r.send_multipart([b"nobody", b"x"])
    assert e.value.errno == zmq.EHOSTUNREACH
    d = sock(ez, zmq.DEALER, identity=b"d1")
    d.connect(r.last_endpoint)
    d.send(b"hi")
    assert r.recv_multipart() == [b"d1", b"hi"]
    r.send_multipart([b"d1", b"back"])
    assert d.recv() == b"back"
    d.close()
    r.close()


def test_recv_on_pub_enotsup(ez):
    p = ez.socket(zmq.PUB)
    with pytest.raises(zmq.ZMQError) as e:
        p.recv()
    assert e.value.errno == zmq.ENOTSUP
    s = ez.socket(zmq.SUB)
    with pytest.raises(zmq.ZMQError) as e:
        s.send(b"x")
    assert e.value.errno == zmq.ENOTSUP
    p.close(0)
    s.close(0)


@pytest.mark.parametrize("ep", ["foo://bar", "udp://127.0.0.1:5555", "pgm://eth0;239.1.1.1:5555"])
def test_unknown_transport_eprotonosupport(ez, ep):
    s = ez.socket(zmq.PUSH)
    for op in (s.bind, s.connect):
        with pytest.raises(zmq.ZMQError) as e:
            op(ep)
        assert e.value.errno == zmq.EPROTONOSUPPORT
    s.close(0)


@pytest.mark.parametrize("ep", ["tcp://127.0.0.1", "nonsense", "tcp://127.0.0.1:99999", "tcp://127.0.0.1:abc"])
def test_malformed_endpoint_einval(ez, ep):
    s = ez.socket(zmq.PUSH)
    with pytest.raises(zmq.ZMQError) as e:
        s.connect(ep)
    assert e.value.errno == zmq.EINVAL
    s.close(0)


def test_bind_in_use_is_eaddrinuse(ez):
    a = ez.socket(zmq.PULL)
    a.bind("tcp://127.0.0.1:*")
    b = ez.socket(zmq.PULL)
    with pytest.raises(zmq.ZMQError) as e:
        b.bind(a.last_endpoint)
    assert e.value.errno == zmq.EADDRINUSE
    a.close(0)
    b.close(0)


def test_closed_socket_enotsock_and_terminated_context():
    ctx = zmq.Context()
    s = ctx.socket(zmq.PULL)
    s.close()
    with pytest.raises(zmq.ZMQError) as e:
        s.recv()
    assert e.value.errno == zmq.ENOTSOCK
    ctx.term()
    with pytest.raises(zmq.ContextTerminated):
        ctx.socket(zmq.PULL)


# -- inproc ------------------------------------------------------------------------
@pytest.mark.parametrize("bind_first", [True, False])
def test_inproc(ez, bind_first):
    name = "inproc://test-%d" % bind_first
    pull = sock(ez, zmq.PULL)
    push = sock(ez, zmq.PUSH)
    if bind_first:
        pull.bind(name)
        push.connect(name)
    else:
        push.connect(name)
        pull.bind(name)
    push.send_multipart([b"a", b"", b"c" * 300])
    assert pull.recv_multipart() == [b"a", b"", b"c" * 300]
    push.close()
    pull.close()


def test_inproc_req_rep_and_pubsub(ez):
    rep = sock(ez, zmq.REP)
    rep.bind("inproc://rr")
    req = sock(ez, zmq.REQ)
    req.connect("inproc://rr")
    req.send(b"q")
    assert rep.recv() == b"q"
    rep.send(b"a")
    assert req.recv() == b"a"
    pub = sock(ez, zmq.PUB)
    sub = sock(ez, zmq.SUB)
    sub.connect("inproc://ps")  # before bind
    sub.subscribe(b"t")
    pub.bind("inproc://ps")
    pub.send(b"x-ignored")
    pub.send(b"t-kept")
    assert sub.recv() == b"t-kept"
    for s in (req, rep, pub, sub):
        s.close()


# -- recv_into -----------------------------------------------------------------------
def test_recv_into(ez):
    pull, push = pair(ez, zmq.PULL, zmq.PUSH)
    push.send(b"hello world")
    push.send(b"x" * 5000)
    push.send(b"")
    buf = bytearray(16)
    assert pull.recv_into(buf) == 11
    assert bytes(buf[:11]) == b"hello world"
    big = bytearray(100)
    assert pull.recv_into(big) == 5000  # truncated, full size reported, as zmq_recv
    assert bytes(big) == b"x" * 100
    mv = memoryview(bytearray(8))
    assert pull.recv_into(mv, 4) == 0
    with pytest.raises(zmq.Again):
        pull.recv_into(buf, flags=zmq.NOBLOCK)
    push.close()
    pull.close()


def test_recv_into_nbytes_limits(ez):
    pull, push = pair(ez, zmq.PULL, zmq.PUSH)
    push.send(b"abcdefgh")
    buf = bytearray(b"........")
    assert pull.recv_into(buf, nbytes=3) == 8
    assert buf == b"abc....."
    push.close()
    pull.close()


# -- monitor ---------------------------------------------------------------------------
def _events(mon, want, timeout=T):
    from zmq.utils.monitor import parse_monitor_message

    seen = []
    end = time.monotonic() + timeout / 1000
    while time.monotonic() < end and not set(want) <= set(seen):
        if mon.poll(50):
            ev = parse_monitor_message(mon.recv_multipart())
            assert set(ev) >= {"event", "value", "endpoint"}
            seen.append(ev["event"])
    return seen


def test_monitor_events(ez):
    pytest.importorskip("zmq")
    rep = sock(ez, zmq.REP)
    rmon = rep.get_monitor_socket()
    rep.bind("tcp://127.0.0.1:*")
    req = sock(ez, zmq.REQ)
    qmon = req.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED)
    req.connect(rep.last_endpoint)
    req.send(b"x")
    assert rep.recv() == b"x"
    rep.send(b"y")
    assert req.recv() == b"y"
    seen = _events(qmon, [zmq.EVENT_CONNECTED, zmq.EVENT_HANDSHAKE_SUCCEEDED])
    assert seen.index(zmq.EVENT_CONNECTED) < seen.index(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    assert zmq.EVENT_CONNECT_DELAYED not in seen  # filtered out by the mask
    seen = _events(rmon, [zmq.EVENT_LISTENING, zmq.EVENT_ACCEPTED, zmq.EVENT_HANDSHAKE_SUCCEEDED])
    assert seen[0] == zmq.EVENT_LISTENING
    assert seen.index(zmq.EVENT_ACCEPTED) < seen.index(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    req.close()
    seen = _events(rmon, [zmq.EVENT_DISCONNECTED])
    assert zmq.EVENT_DISCONNECTED in seen
    rep.disable_monitor()
    rmon.close()
    qmon.close()
    rep.close()


def test_monitor_message_format(ez):
    """Frame 1: 6 bytes, little-endian u16 event + u32 value; frame 2: the endpoint."""
    pull = sock(ez, zmq.PULL)
    mon = pull.get_monitor_socket()
    pull.bind("tcp://127.0.0.1:*")
    assert mon.poll(T)
    f1, f2 = mon.recv_multipart()
    assert len(f1) == 6 and int.from_bytes(f1[:2], "little") == zmq.EVENT_LISTENING
    assert f2 == pull.last_endpoint
    mon.close()
    pull.close()


# -- HWM policies ------------------------------------------------------------------
def test_pub_drops_at_sndhwm(ez):
    pub = sock(ez, zmq.PUB, sndhwm=5, sndbuf=65536)
    pub.bind("tcp://127.0.0.1:*")
    sub = sock(ez, zmq.SUB, rcvhwm=1, rcvbuf=65536)
    sub.subscribe(b"")
    sub.connect(pub.last_endpoint)
    for _ in range(100):
        pub.send(b"probe")
        if sub.poll(20):
            break
    while sub.poll(50):
        sub.recv()
    body = b"x" * 65536
    t = time.monotonic()
    n = 300
    for i in range(n):
        pub.send(i.to_bytes(4, "big") + body)  # must never block
    assert time.monotonic() - t < 5
    got = 0
    while sub.poll(300):
        sub.recv()
        got += 1
    assert 0 < got < n  # the slow subscriber lost messages, the publisher never blocked
    assert pub.pattern.dropped > 0
    pub.close()
    sub.close()


def test_push_blocks_at_hwm_then_again(ez):
    pull = sock(ez, zmq.PULL, rcvhwm=1, rcvbuf=65536)
    pull.bind("tcp://127.0.0.1:*")
    push = sock(ez, zmq.PUSH, sndhwm=1, sndbuf=65536)
    push.sndtimeo = 100
    push.connect(pull.last_endpoint)
    body = b"y" * 65536
    sent = 0
    t = time.monotonic()
    with pytest.raises(zmq.Again):
        for _ in range(1000):
            push.send(body)
            sent += 1
    assert sent < 1000
    assert time.monotonic() - t < 20
    # nothing was lost: everything sent arrives once the reader catches up
    got = 0
    while got < sent:
        assert len(pull.recv()) == 65536
        got += 1
    push.close()
    pull.close()


def test_push_without_peer_queues_up_to_sndhwm(ez):
    # libzmq (IMMEDIATE=0): a connect() has a pipe at once; sends queue up to
    # SNDHWM while the peer is away, then block until SNDTIMEO
    push = sock(ez, zmq.PUSH)
    push.sndtimeo = 50
    push.sndhwm = 3
    push.connect("tcp://127.0.0.1:1")  # nothing listens there
    for i in range(3):
        push.send(b"x%d" % i)
    with pytest.raises(zmq.Again):
        push.send(b"x")
    push.close(0)


def test_push_immediate_without_peer_times_out(ez):
    push = sock(ez, zmq.PUSH, immediate=1)
    push.sndtimeo = 50
    push.connect("tcp://127.0.0.1:1")
    with pytest.raises(zmq.Again):
        push.send(b"x")
    push.close(0)


# -- subscriptions -------------------------------------------------------------------
def test_sub_resubscribes_after_reconnect(ez, tmp_path):
    ep = "ipc://%s/pub.ipc" % tmp_path
    sub = sock(ez, zmq.SUB, reconnect_ivl=20)
    sub.subscribe(b"a")
    sub.subscribe(b"b")
    sub.connect(ep)
    for round_ in range(2):
        pub = sock(ez, zmq.PUB)
        pub.bind(ep)
        seen = set()
        end = time.monotonic() + 5
        while seen != {b"a", b"b"} and time.monotonic() < end:
            pub.send(b"c-not-wanted")
            pub.send(b"a%d" % round_)
            pub.send(b"b%d" % round_)
            while sub.poll(20):
                m = sub.recv()
                assert m[:1] in (b"a", b"b")
                assert m[1:] == b"%d" % round_
                seen.add(m[:1])
        assert seen == {b"a", b"b"}
        pub.close()


def test_xpub_receives_subscriptions(ez, peer):
    xpub = sock(ez, zmq.XPUB)
    xpub.bind("tcp://127.0.0.1:*")
    sub = sock(ez, zmq.SUB)
    sub.connect(xpub.last_endpoint)
    sub.subscribe(b"topic")
    assert xpub.recv() == b"\x01topic"
    sub.unsubscribe(b"topic")
    assert xpub.recv() == b"\x00topic"
    # a libzmq subscriber, 3.1 commands on the wire
    rs = peer.socket("SUB", subscribe=b"lib")
    rs.connect(xpub.last_endpoint.decode())
    got = None
    for _ in range(100):
        if xpub.poll(20):
            got = xpub.recv()
            break
        rs.recv(5)  # libzmq sends its subscription once its thread enters the socket
    assert got == b"\x01lib"
    xpub.send(b"lib-data")
    assert rs.recv() == [b"lib-data"]
    rs.setopt("UNSUBSCRIBE", b"lib")
    rs.recv(5)
    assert xpub.recv() == b"\x00lib"
    rs.close()
    sub.close()
    xpub.close()


def test_xsub_sends_subscriptions_as_messages(ez):
    pub = sock(ez, zmq.XPUB)
    pub.bind("tcp://127.0.0.1:*")
    xsub = sock(ez, zmq.XSUB)
    xsub.connect(pub.last_endpoint)
    xsub.send(b"\x01news")
    assert pub.recv() == b"\x01news"
    pub.send(b"news: hi")
    pub.send(b"other")
    assert xsub.recv() == b"news: hi"
    xsub.close()
    pub.close()


# -- misc pyzmq conveniences -------------------------------------------------------------
def test_json_pyobj_string_and_multipart(ez):
    a, b = pair(ez, zmq.PAIR, zmq.PAIR)
    a.send_json({"k": [1, 2]})
    assert b.recv_json() == {"k": [1, 2]}
    b.send_pyobj(("t", 3))
    assert a.recv_pyobj() == ("t", 3)
    a.send_string("héllo")
    assert b.recv_string() == "héllo"
    b.send_multipart([b"1", bytearray(b"2"), memoryview(b"3")])
    assert a.recv_multipart() == [b"1", b"2", b"3"]
    with pytest.raises(TypeError):
        a.send("str")
    a.close()
    b.close()


def test_poller_and_select(ez):
    a, b = pair(ez, zmq.PAIR, zmq.PAIR)
    p = zmq.Poller()
    p.register(a, zmq.POLLIN)
    p.register(b, zmq.POLLIN)
    t = time.monotonic()
    assert p.poll(100) == []
    assert 0.08 < time.monotonic() - t < 1.0
    b.send(b"x")
    assert dict(p.poll(T)) == {a: zmq.POLLIN}
    r, w, x = zmq.select([a], [b], [], 1.0)
    assert r == [a] and w == [b]
    assert a.recv() == b"x"
    a.close()
    b.close()


def test_term_interrupts_a_blocked_recv_with_eterm():
    import threading

    ctx = zmq.Context(io_threads=1)
    s = ctx.socket(zmq.PULL)
    s.bind("tcp://127.0.0.1:*")
    res = []

    def blocked():
        try:
            s.recv()
        except zmq.ZMQError as e:
            res.append(e)
        s.close()

    t = threading.Thread(target=blocked)
    t.start()
    time.sleep(0.1)
    ctx.term()
    t.join(3)
    assert not t.is_alive()
    assert len(res) == 1 and isinstance(res[0], zmq.ContextTerminated) and res[0].errno == zmq.ETERM


def test_xpub_sees_cancel_when_subscriber_leaves(ez):
    xpub = sock(ez, zmq.XPUB)
    xpub.bind("tcp://127.0.0.1:*")
    sub = sock(ez, zmq.SUB)
    sub.connect(xpub.last_endpoint)
    sub.subscribe(b"abc")
    assert xpub.recv() == b"\x01abc"
    sub.close()
    assert xpub.recv() == b"\x00abc"
    xpub.close()


def test_rep_poll_ignores_messages_without_delimiter(ez, peer):
    rep = sock(ez, zmq.REP)
    rep.bind("tcp://127.0.0.1:*")
    d = peer.socket("DEALER")
    d.connect(rep.last_endpoint.decode())
    d.send([b"no-delimiter"])
    d.send([b"env", b"still-none"])
    assert rep.poll(300) == 0  # malformed requests are dropped, never announced
    d.send([b"", b"good"])
    assert rep.poll(T) == zmq.POLLIN
    assert rep.recv() == b"good"
    rep.send(b"reply")
    assert d.recv() == [b"", b"reply"]
    d.close()
    rep.close()


def test_req_poll_ignores_replies_without_delimiter(ez, peer):
    r = peer.socket("ROUTER")
    ep = r.bind("tcp://127.0.0.1:*")
    req = sock(ez, zmq.REQ)
    req.connect(ep)
    wait_connected(req)
    req.send(b"q")
    ident, empty, body = r.recv()
    assert (empty, body) == (b"", b"q")
    r.send([ident, b"bad-no-delimiter"])
    assert req.poll(300) == 0
    r.send([ident, b"", b"ok"])
    assert req.poll(T) == zmq.POLLIN
    assert req.recv() == b"ok"
    req.close()
    r.close()


def test_ipc_wildcard_and_unbind(ez):
    import os

    pull = sock(ez, zmq.PULL)
    pull.bind("ipc://*")
    ep = pull.last_endpoint.decode()
    assert ep.startswith("ipc://") and os.path.exists(ep[len("ipc://") :])
    push = sock(ez, zmq.PUSH)
    push.connect(ep)
    push.send(b"over ipc")
    assert pull.recv() == b"over ipc"
    pull.unbind(ep)
    assert not os.path.exists(ep[len("ipc://") :])
    with pytest.raises(zmq.ZMQError) as e:
        pull.unbind(ep)
    assert e.value.errno == zmq.ENOENT
    push.close()
    pull.close()


def test_disconnect_stops_routing_to_that_peer(ez):
    a = sock(ez, zmq.PULL)
    a.bind("tcp://127.0.0.1:*")
    b = sock(ez, zmq.PULL)
    b.bind("tcp://127.0.0.1:*")
    push = sock(ez, zmq.PUSH)
    push.connect(a.last_endpoint)
    push.connect(b.last_endpoint)
    got_b = 0
    for _ in range(100):  # until both handshakes finished: round robin reaches b
        push.send(b"x")
        if b.poll(20):
            got_b = len(b.recv())
            break
    assert got_b
    push.disconnect(b.last_endpoint)
    while a.poll(50):
        a.recv()
    for i in range(4):
        push.send(b"%d" % i)
    assert [a.recv() for _ in range(4)] == [b"0", b"1", b"2", b"3"]
    assert not b.poll(100)
    for s in (push, a, b):
        s.close()


def test_poller_mixes_sockets_and_raw_fds(ez):
    import socket

    r, w = socket.socketpair()
    r2, w2 = socket.socketpair()
    pull = sock(ez, zmq.PULL)
    pull.bind("tcp://127.0.0.1:*")
    p = zmq.Poller()
    p.register(pull, zmq.POLLIN)
    p.register(r, zmq.POLLIN)
    p.register(r2.fileno(), zmq.POLLIN)
    assert p.poll(50) == []
    w.send(b"x")
    w2.send(b"y")
    got = dict(p.poll(T))
    assert got == {r.fileno(): zmq.POLLIN, r2.fileno(): zmq.POLLIN}  # fds, as pyzmq's zmq_poll
    p.unregister(r2.fileno())
    with pytest.raises(KeyError):
        p.unregister(r2.fileno())
    for s in (r, w, r2, w2):
        s.close()
    pull.close()


def test_poller_same_fd_registered_twice(ez):
    """pyzmq's zmq_poll accepts one fd listed twice (as an object and as an int)."""
    import socket

    r, w = socket.socketpair()
    p = zmq.Poller()
    p.register(r, zmq.POLLIN)
    p.register(r.fileno(), zmq.POLLIN | zmq.POLLOUT)
    assert p.poll(T) == [(r.fileno(), zmq.POLLOUT)]
    w.send(b"x")
    assert p.poll(T) == [(r.fileno(), zmq.POLLIN), (r.fileno(), zmq.POLLIN | zmq.POLLOUT)]  # as pyzmq
    r.close()
    w.close()
