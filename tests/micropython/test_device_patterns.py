"""The core on the MicroPython unix port against real libzmq (pyzmq): PUSH/PULL,
REQ/REP, PUB/SUB and DEALER, the device binding and connecting; the bytes
that crossed the wire are checked."""

import pytest
from device_kit import (
    MP,
    REP_EXPECT,
    TIMEOUT,
    _ask,
    _check_pull,
    _pz,
)

pytestmark = pytest.mark.micropython

if MP is None:
    pytest.skip("MicroPython unix port not installed", allow_module_level=True)


def test_device_push_connects(pz, device):
    import zmq

    s, ep = _pz(pz, zmq.PULL, bind_ep="tcp://127.0.0.1:*")
    d = device("push_connect", ep)
    _check_pull(s)
    d.finish()


def test_device_push_binds(pz, device):
    import zmq

    d = device("push_bind")
    s, _ = _pz(pz, zmq.PULL, connect_ep=d.expect("EP"))
    _check_pull(s)
    d.finish()


def _feed_push(s):
    for i in range(3):
        s.send_multipart([b"m%d" % i, b"two", b"three"])
    s.send(b"y" * 2000)
    s.send(b"end")


PULL_EXPECT = [[b"m%d" % i, b"two", b"three"] for i in range(3)] + [[2000], [b"end"]]


def test_device_pull_binds(pz, device):
    import zmq

    d = device("pull_bind")
    s, _ = _pz(pz, zmq.PUSH, connect_ep=d.expect("EP"))
    _feed_push(s)
    assert d.finish() == PULL_EXPECT


def test_device_pull_connects(pz, device):
    import zmq

    s, ep = _pz(pz, zmq.PUSH, bind_ep="tcp://127.0.0.1:*")
    d = device("pull_connect", ep)
    _feed_push(s)
    assert d.finish() == PULL_EXPECT


def test_device_rep_binds(pz, device):
    import zmq

    d = device("rep_bind")
    s, _ = _pz(pz, zmq.REQ, connect_ep=d.expect("EP"))
    _ask(s)
    assert d.finish() == REP_EXPECT


def test_device_rep_connects(pz, device):
    import zmq

    s, ep = _pz(pz, zmq.REQ, bind_ep="tcp://127.0.0.1:*")
    d = device("rep_connect", ep)
    _ask(s)
    assert d.finish() == REP_EXPECT


def _answer(s, n=3):
    for _ in range(n):
        m = s.recv_multipart()
        s.send_multipart([b"ok"] + m)


REQ_EXPECT = [[b"ok", b"q%d" % i, b"tail"] for i in range(3)]


def test_device_req_connects(pz, device):
    import zmq

    s, ep = _pz(pz, zmq.REP, bind_ep="tcp://127.0.0.1:*")
    d = device("req_connect", ep)
    _answer(s)
    assert d.finish() == REQ_EXPECT


def test_device_req_binds(pz, device):
    import zmq

    d = device("req_bind")
    s, _ = _pz(pz, zmq.REP, connect_ep=d.expect("EP"))
    _answer(s)
    assert d.finish() == REQ_EXPECT


# -- PUB / SUB --------------------------------------------------------------------
def _subscribe_and_check(pz, d, s):
    """Receive 20 consecutive 'temp' messages (never 'other'), then stop the device."""
    import zmq

    first = s.recv_multipart()
    assert first[0] == b"temp"
    n = int(first[1])
    for k in range(1, 20):
        assert s.recv_multipart() == [b"temp", b"%d" % (n + k)]
    ctl, _ = _pz(pz, zmq.PUSH, connect_ep=d.expect("CTL"))
    ctl.send(b"stop")
    d.finish()


def test_device_pub_binds(pz, device):
    import zmq

    d = device("pub_bind")
    s, _ = _pz(pz, zmq.SUB, connect_ep=d.expect("EP"))
    s.subscribe(b"temp")
    _subscribe_and_check(pz, d, s)


def test_device_pub_connects(pz, device):
    import zmq

    s, ep = _pz(pz, zmq.SUB, bind_ep="tcp://127.0.0.1:*")
    s.subscribe(b"temp")
    d = device("pub_connect", ep)
    _subscribe_and_check(pz, d, s)


def _publish_until_done(s, d):
    import time

    i = 0
    deadline = time.monotonic() + TIMEOUT
    while d.proc.poll() is None and time.monotonic() < deadline:
        s.send_multipart([b"noise", b"%d" % i])
        s.send_multipart([b"temp", b"%d" % i])
        i += 1
        time.sleep(0.01)


def _check_sub(got):
    assert len(got) == 5
    first = int(got[0][1])
    assert got == [[b"temp", b"%d" % (first + k)] for k in range(5)]


def test_device_sub_connects(pz, device):
    import zmq

    s, ep = _pz(pz, zmq.PUB, bind_ep="tcp://127.0.0.1:*")
    d = device("sub_connect", ep)
    _publish_until_done(s, d)
    _check_sub(d.finish())


def test_device_sub_binds(pz, device):
    import zmq

    d = device("sub_bind")
    s, _ = _pz(pz, zmq.PUB, connect_ep=d.expect("EP"))
    _publish_until_done(s, d)
    _check_sub(d.finish())


# -- DEALER -------------------------------------------------------------------------
def test_device_dealer_connects_to_router(pz, device):
    import zmq

    s, ep = _pz(pz, zmq.ROUTER, bind_ep="tcp://127.0.0.1:*")
    d = device("dealer_connect", ep)
    for _ in range(3):
        ident, empty, body = s.recv_multipart()
        s.send_multipart([ident, empty, b"R" + body])
    assert d.finish() == [[b"", b"Rd%d" % i] for i in range(3)]
