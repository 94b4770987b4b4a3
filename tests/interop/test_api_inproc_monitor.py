"""The pyzmq-compatible API: inproc, recv_into and monitor events, in both
context modes."""
import time

import edgezmq as zmq
import pytest
from api_kit import T, pair, sock


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
