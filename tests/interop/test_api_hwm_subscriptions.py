"""The pyzmq-compatible API: HWM policies (drop, block, EAGAIN), resubscription
after reconnect, XPUB and XSUB, in both context modes."""
import time

import edgezmq as zmq
import pytest
from api_kit import peer_fixture, sock  # noqa: F401 (fixtures: peer)

pytestmark = pytest.mark.fastpath  # topic matching (core/patterns/pubsub.py): also run with EDGEZMQ_PURE=1


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
