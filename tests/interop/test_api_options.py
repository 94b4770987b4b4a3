"""The pyzmq-compatible API, options: attribute style, bad values, endpoints,
random ports, IPv6, in both context modes (the `ez` fixture)."""

import edgezmq as zmq
import pytest
from api_kit import peer_fixture, sock  # noqa: F401 (fixtures: peer)


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
