"""Whole multipart messages only: a peer dying or joining mid-message yields no
half message, a message half sent to a departed peer never reaches another,
and what cannot be delivered (departed requesters, duplicate identities)
is counted."""
import socket
import struct
import time

import edgezmq as zmq
import pytest
from reliability_kit import wait_for

pytest.importorskip("zmq")


# -- whole multipart messages only ------------------------------------------------
def _raw_push(ctx, port):
    """A raw ZMTP 3.1 NULL PUSH peer: greeting + READY, handshake finished."""
    r = socket.create_connection(("127.0.0.1", port), timeout=5)
    greeting = b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x01" + b"NULL".ljust(20, b"\x00")
    r.sendall(greeting + b"\x00" + b"\x00" * 31)
    body = b"\x05READY" + b"\x0bSocket-Type" + struct.pack(">I", 4) + b"PUSH"
    r.sendall(bytes((0x04, len(body))) + body)
    r.settimeout(0.01)
    got = b""
    end = time.monotonic() + 5
    while len(got) < 64 + 2 + len(body):  # its greeting and its READY
        assert time.monotonic() < end, "no handshake from edgezmq: %r" % got
        try:
            chunk = r.recv(200)
        except socket.timeout:
            _pump(ctx)  # cooperative mode: someone has to run the reactor
            continue
        assert chunk, "edgezmq closed the raw peer during the handshake"
        got += chunk
    r.settimeout(5)
    return r


@pytest.mark.timeout(30)
@pytest.mark.parametrize("io_threads", [1, 0])
def test_peer_dying_mid_message_yields_no_half_message(io_threads):
    ctx = zmq.Context(io_threads=io_threads)
    try:
        pull = ctx.socket(zmq.PULL)
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        pull.rcvtimeo = 5000
        raw = _raw_push(ctx, port)
        # one whole message, then the first two frames of a three-part one, then death
        raw.sendall(b"\x00\x05whole")
        free0 = ctx.pool.nfree
        # the second frame arrives in two reads, so its body lands in a pool slot
        raw.sendall(b"\x01\x05part1" + b"\x01\xc8" + b"p" * 100)
        assert pull.recv_multipart() == [b"whole"]
        assert wait_for(lambda: _pump(ctx) or _partial_frames(pull) == 1, 5)
        raw.sendall(b"q" * 100)
        # the two frames reached edgezmq (held back, invisible), then the peer dies
        assert wait_for(lambda: _pump(ctx) or _partial_frames(pull) == 2, 5)
        assert pull.poll(0) == 0
        assert ctx.pool.nfree == free0 - 1
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raw.close()
        assert wait_for(lambda: pull.get_stats()["disconnects"] == 1 or _pump(ctx), 5)
        # a good peer keeps going after the broken one
        good = _raw_push(ctx, port)
        good.sendall(b"\x01\x02g1" + b"\x00\x02g2")
        assert pull.recv_multipart() == [b"g1", b"g2"]
        with pytest.raises(zmq.Again):
            pull.recv(zmq.NOBLOCK)
        st = pull.get_stats()
        assert st["received"] == 2
        assert st["dropped_disconnect"] == 1  # the cut message, counted once
        assert st["connects"] == 2
        assert ctx.pool.nfree == free0  # the cut message's buffer came back
        good.close()
    finally:
        ctx.destroy(linger=0)


def _partial_frames(sock):
    with sock.ctx.lock:
        return sum(p.inq.partial for p in sock.pattern.pipes)


def _pump(ctx):
    if ctx.io_thread is None:
        with ctx.lock:
            ctx.reactor.run_once(10)
    return False


@pytest.mark.timeout(30)
@pytest.mark.parametrize("io_threads", [1, 0], ids=["thread", "coop"])
def test_message_half_sent_to_dead_peer_never_reaches_another(pz, io_threads):
    """A DEALER sends the first frame to peer A; A dies; the last frame must
    not go to peer B as a message of its own. The lost message is counted."""
    import zmq as pyzmq

    ctx = zmq.Context(io_threads=io_threads)
    try:
        a = pz.socket(pyzmq.ROUTER)
        b = pz.socket(pyzmq.ROUTER)
        pa = a.bind_to_random_port("tcp://127.0.0.1")
        pb = b.bind_to_random_port("tcp://127.0.0.1")
        d = ctx.socket(zmq.DEALER)
        d.reconnect_ivl = -1
        d.connect("tcp://127.0.0.1:%d" % pa)
        assert wait_for(lambda: _pump(ctx) or d.get_stats()["connects"] == 1, 10)
        d.connect("tcp://127.0.0.1:%d" % pb)
        assert wait_for(lambda: _pump(ctx) or d.get_stats()["connects"] == 2, 10)
        d.send(b"head", zmq.SNDMORE)  # round robin: to A, the first peer
        a.close(linger=0)
        assert wait_for(lambda: _pump(ctx) or d.get_stats()["disconnects"] == 1, 10)
        d.send(b"tail")
        d.send_multipart([b"whole-1", b"whole-2"])
        assert b.poll(5000)
        assert b.recv_multipart()[1:] == [b"whole-1", b"whole-2"]
        assert b.poll(200) == 0
        assert d.get_stats()["dropped_disconnect"] == 1
    finally:
        ctx.destroy(linger=0)


@pytest.mark.timeout(30)
def test_peer_joining_mid_message_gets_no_tail(pz):
    """XSUB sends to every peer: one that connects while a message is half
    sent must not receive its tail as a message of its own."""
    import zmq as pyzmq

    ctx = zmq.Context()
    try:
        a = pz.socket(pyzmq.XPUB)
        b = pz.socket(pyzmq.XPUB)
        pa = a.bind_to_random_port("tcp://127.0.0.1")
        pb = b.bind_to_random_port("tcp://127.0.0.1")
        x = ctx.socket(zmq.XSUB)
        x.connect("tcp://127.0.0.1:%d" % pa)
        assert wait_for(lambda: x.get_stats()["connects"] == 1, 10)
        x.send(b"head", zmq.SNDMORE)
        x.connect("tcp://127.0.0.1:%d" % pb)
        assert wait_for(lambda: x.get_stats()["connects"] == 2, 10)
        x.send(b"tail")
        x.send_multipart([b"next-1", b"next-2"])
        assert a.poll(5000)
        assert a.recv_multipart() == [b"head", b"tail"]
        assert a.recv_multipart() == [b"next-1", b"next-2"]
        assert b.poll(5000)
        assert b.recv_multipart() == [b"next-1", b"next-2"]
    finally:
        ctx.destroy(linger=0)


@pytest.mark.timeout(30)
def test_reply_to_departed_requester_is_counted(pz):
    import zmq as pyzmq

    ctx = zmq.Context()
    try:
        rep = ctx.socket(zmq.REP)
        rep.rcvtimeo = 5000
        port = rep.bind_to_random_port("tcp://127.0.0.1")
        req = pz.socket(pyzmq.REQ)
        req.connect("tcp://127.0.0.1:%d" % port)
        req.send(b"question")
        assert rep.recv() == b"question"
        req.close(linger=0)
        assert wait_for(lambda: rep.get_stats()["disconnects"] == 1, 10)
        rep.send(b"answer")  # nobody to take it
        assert rep.get_stats()["dropped_disconnect"] == 1
    finally:
        ctx.destroy(linger=0)


@pytest.mark.timeout(30)
def test_router_message_half_sent_to_departed_peer_is_counted(pz):
    import zmq as pyzmq

    ctx = zmq.Context()
    try:
        router = ctx.socket(zmq.ROUTER)
        router.rcvtimeo = 5000
        port = router.bind_to_random_port("tcp://127.0.0.1")
        d = pz.socket(pyzmq.DEALER)
        d.identity = b"peer"
        d.connect("tcp://127.0.0.1:%d" % port)
        d.send(b"hi")
        assert router.recv_multipart() == [b"peer", b"hi"]
        router.send_multipart([b"peer", b"head"], zmq.SNDMORE)
        d.close(linger=0)
        assert wait_for(lambda: router.get_stats()["disconnects"] == 1, 10)
        router.send(b"tail")
        st = router.get_stats()
        assert st["dropped_disconnect"] == 1 and st["sent"] == 1
    finally:
        ctx.destroy(linger=0)


@pytest.mark.timeout(30)
def test_duplicate_identity_refused_and_counted(pz):
    """A second peer claiming a routing id in use is turned away (libzmq's
    default without ROUTER_HANDOVER); the first keeps being served."""
    import zmq as pyzmq

    ctx = zmq.Context()
    try:
        router = ctx.socket(zmq.ROUTER)
        router.rcvtimeo = 5000
        port = router.bind_to_random_port("tcp://127.0.0.1")
        first = pz.socket(pyzmq.DEALER)
        first.identity = b"dup"
        first.connect("tcp://127.0.0.1:%d" % port)
        first.send(b"one")
        assert router.recv_multipart() == [b"dup", b"one"]
        second = pz.socket(pyzmq.DEALER)
        second.identity = b"dup"
        second.reconnect_ivl = 5000
        second.connect("tcp://127.0.0.1:%d" % port)
        assert wait_for(lambda: router.get_stats()["handshake_failures"] >= 1, 10), router.get_stats()
        router.send_multipart([b"dup", b"to-first"])
        assert first.poll(5000)
        assert first.recv() == b"to-first"
        st = router.get_stats()
        assert st["connects"] == 1 and st["disconnects"] == 0, st
    finally:
        ctx.destroy(linger=0)
