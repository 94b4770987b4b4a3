"""The pyzmq-compatible API: serialising helpers, Poller and select with sockets
and raw fds, term() and disconnect/unbind, delimiters REQ and REP need."""
import time

import edgezmq as zmq
import pytest
from api_kit import T, pair, peer_fixture, sock  # noqa: F401 (fixtures: peer)
from support import wait_connected


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
    # poll returns as soon as one is ready: gather until both are seen (or T passes)
    got = {}
    deadline = time.monotonic() + T / 1000
    while len(got) < 2 and time.monotonic() < deadline:
        got.update(p.poll(T))
    assert got == {r.fileno(): zmq.POLLIN, r2.fileno(): zmq.POLLIN}  # fds, as pyzmq's zmq_poll
    assert dict(p.poll(0)) == got  # level-triggered: both still readable
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
