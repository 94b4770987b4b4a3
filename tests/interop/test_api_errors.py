"""The pyzmq-compatible API, errors: the errno each misuse raises, as pyzmq
raises it, in both context modes."""
import time

import edgezmq as zmq
import pytest
from api_kit import pair, sock


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
    with pytest.raises(zmq.ZMQError) as e:
        ctx.socket(zmq.PULL)
    assert e.value.errno == zmq.ENOTSUP  # as pyzmq (ETERM only while term() runs)
