"""The send and receive fast paths and write batching (core/socket.py,
Session.fast_send, Engine.output_queued), against a libzmq peer in another
process: what is sent arrives, in order, with nothing more called on the
sender; SNDHWM still holds; multipart and several peers take the general
path and keep their order with fast-path messages."""
import time

import edgezmq as zmq
import pytest
from api_kit import T, peer_fixture, sock  # noqa: F401 (fixtures: peer)
from support import wait_connected


def _connected_push(ez, peer, **opts):
    rp = peer.socket("PULL")
    ep = rp.bind("tcp://127.0.0.1:*")
    push = sock(ez, zmq.PUSH, **opts)
    push.connect(ep)
    wait_connected(push)
    assert push.pattern.fast_out is not None  # the fast path is the one under test
    return push, rp


def test_an_idle_sender_delivers_a_single_message(ez, peer):
    """One send, then nothing more from the sender: the message arrives
    (the I/O thread writes a batch's tail; a cooperative context writes at once)."""
    push, rp = _connected_push(ez, peer)
    push.send(b"lonely")
    assert rp.recv() == [b"lonely"]
    push.close()
    rp.close()


def test_a_burst_arrives_whole_and_in_order_while_the_sender_sleeps(ez, peer):
    push, rp = _connected_push(ez, peer, sndhwm=0)
    n = 6000  # ~ 6 batches of 64 KiB (CPython's batch_bytes) and a tail
    for i in range(n):
        push.send(b"%06d" % i + b"x" * 58)
    time.sleep(0.05)  # the sender calls nothing: the tail must still go out
    got = [rp.recv()[0][:6] for _ in range(n)]
    assert got == [b"%06d" % i for i in range(n)]
    push.close()
    rp.close()


def test_multipart_and_single_frames_keep_their_order(ez, peer):
    push, rp = _connected_push(ez, peer)
    push.send(b"a")
    push.send_multipart([b"b1", b"b2"])
    push.send(b"c")
    push.send(bytearray(b"d"))  # not bytes: the general path
    assert [rp.recv() for _ in range(4)] == [[b"a"], [b"b1", b"b2"], [b"c"], [b"d"]]
    push.close()
    rp.close()


def test_sndhwm_holds_on_the_fast_path(ez):
    """A PULL that never reads: a PUSH with SNDHWM 10 and small kernel buffers
    stops taking messages (Again) instead of queueing without bound."""
    pull = sock(ez, zmq.PULL, rcvhwm=1, rcvbuf=4096)
    pull.bind("tcp://127.0.0.1:*")
    push = sock(ez, zmq.PUSH, sndhwm=10, sndbuf=4096, sndtimeo=0)
    push.connect(pull.last_endpoint)
    pull.poll(50)
    sent = 0
    with pytest.raises(zmq.Again):
        for _ in range(100000):
            push.send(b"y" * 1000)
            sent += 1
    assert 10 <= sent < 100000
    assert push.pattern.fast_out is not None  # the fast path was the one refusing
    push.close()
    pull.close()


def test_a_closed_socket_refuses_on_the_fast_path(ez, peer):
    push, rp = _connected_push(ez, peer)
    push.send(b"before")
    push.close()
    with pytest.raises(zmq.ZMQError) as e:
        push.send(b"after")
    assert e.value.errno == zmq.ENOTSOCK
    rp.close()


def test_recv_fast_path_keeps_multipart_messages_whole(ez, peer):
    rp = peer.socket("PUSH")
    pull = sock(ez, zmq.PULL)
    pull.bind("tcp://127.0.0.1:*")
    rp.connect(pull.last_endpoint.decode())
    for i in range(50):
        rp.send([b"one-%d" % i])
        rp.send([b"two-%d" % i, b"part"])
    got = []
    for _ in range(100):
        got.append(pull.recv_multipart())
    assert got == [m for i in range(50) for m in ([b"one-%d" % i], [b"two-%d" % i, b"part"])]
    assert pull.pattern.fast_in is not None and not pull.rcvmore
    pull.close()
    rp.close()


def test_pub_fan_out_reaches_every_subscriber_in_order(ez, peer):
    pub = sock(ez, zmq.PUB, sndhwm=0)
    pub.bind("tcp://127.0.0.1:*")
    subs = []
    for _ in range(3):
        s = peer.socket("SUB", subscribe=b"")
        s.connect(pub.last_endpoint.decode())
        subs.append(s)
    deadline = time.monotonic() + T / 1000
    while len([p for p in pub.pattern.pipes if p.subs]) < 3:  # every subscription arrived
        assert time.monotonic() < deadline
        pub.poll(10)
    for i in range(500):
        pub.send(b"%04d" % i)
    for s in subs:
        assert [s.recv()[0] for _ in range(500)] == [b"%04d" % i for i in range(500)]
        s.close()
    pub.close()


def test_sub_takes_the_recv_fast_path_and_filters(ez, peer):
    rp = peer.socket("PUB")
    ep = rp.bind("tcp://127.0.0.1:*")
    sub = sock(ez, zmq.SUB)
    sub.subscribe(b"a")
    sub.connect(ep)
    wait_connected(sub)
    assert sub.pattern.fast_in is not None  # the only peer: recv pops its queue directly
    for _ in range(100):  # the subscription reaches libzmq a little later
        rp.send([b"a-probe"])
        if sub.poll(20):
            break
    while sub.poll(50):
        sub.recv()
    for i in range(200):
        rp.send([b"%s%03d" % (b"ab"[i % 2:i % 2 + 1], i)])
    got = [sub.recv() for _ in range(100)]
    assert got == [b"a%03d" % i for i in range(0, 200, 2)]  # the "b" topics were filtered out
    sub.close()
    rp.close()
