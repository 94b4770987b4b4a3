"""core/endpoint.py: what parse() makes of an endpoint string (and the errno of
what it refuses: EINVAL for a malformed one, EPROTONOSUPPORT for an unknown
transport, as libzmq), and format_endpoint() writing it back."""
import pytest
from edgezmq import constants as C
from edgezmq.endpoint import Endpoint, format_endpoint, parse
from edgezmq.errors import ZMQError


def fields(ep):
    """What a transport uses: host and port for tcp, path and params otherwise."""
    if ep.transport == "tcp":
        return ep.transport, ep.host, ep.port
    return ep.transport, ep.path, ep.params


@pytest.mark.parametrize("addr, binding, want", [
    ("tcp://127.0.0.1:5555", False, ("tcp", "127.0.0.1", 5555)),
    ("tcp://localhost:1", True, ("tcp", "localhost", 1)),
    ("tcp://127.0.0.1:65535", False, ("tcp", "127.0.0.1", 65535)),
    ("tcp://[::1]:5555", False, ("tcp", "::1", 5555)),
    ("tcp://*:5555", True, ("tcp", "", 5555)),
    ("tcp://*:*", True, ("tcp", "", 0)),
    ("tcp://127.0.0.1:0", True, ("tcp", "127.0.0.1", 0)),
    ("tcp://10.0.0.1;192.168.1.2:5555", False, ("tcp", "192.168.1.2", 5555)),  # src;dst
    (b"tcp://127.0.0.1:7", False, ("tcp", "127.0.0.1", 7)),
    ("ipc:///tmp/x.ipc", True, ("ipc", "/tmp/x.ipc", {})),
    ("ipc://@abstract", False, ("ipc", "@abstract", {})),
    ("inproc://name", True, ("inproc", "name", {})),
    ("serial:///dev/ttyUSB0", False, ("serial", "/dev/ttyUSB0", {})),
    ("serial:///dev/ttyS1?baud=9600&&mtu=64&flag", False,
     ("serial", "/dev/ttyS1", {"baud": "9600", "mtu": "64", "flag": ""})),
])
def test_parse(addr, binding, want):
    assert fields(parse(addr, binding)) == want


@pytest.mark.parametrize("addr, binding", [
    ("tcp://127.0.0.1:*", False),  # a wildcard port only binds
    ("tcp://127.0.0.1:0", False),
    ("tcp://*:5555", False),  # a wildcard host only binds
    ("tcp://127.0.0.1", True),  # no port
    ("tcp://:5555", True),  # no host
    ("tcp://127.0.0.1:x", True),
    ("tcp://127.0.0.1:65536", True),
    ("tcp://127.0.0.1:-1", True),
    ("ipc://", True),
    ("inproc://", True),
    ("serial://", False),
    ("serial://?baud=9600", False),
    ("127.0.0.1:5555", True),  # no scheme
    ("://x", True),
    ("", True),
])
def test_malformed_is_einval(addr, binding):
    with pytest.raises(ZMQError) as e:
        parse(addr, binding)
    assert e.value.errno == C.EINVAL


@pytest.mark.parametrize("addr", ["udp://127.0.0.1:5555", "pgm://eth0;239.1.1.1:5555", "TCP://127.0.0.1:1"])
def test_unknown_transport_is_eprotonosupport(addr):
    with pytest.raises(ZMQError) as e:
        parse(addr, True)
    assert e.value.errno == C.EPROTONOSUPPORT


@pytest.mark.parametrize("addr, text", [
    ("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5555"),
    ("tcp://*:5555", "tcp://0.0.0.0:5555"),  # libzmq's LAST_ENDPOINT for a wildcard bind
    ("tcp://[::1]:80", "tcp://[::1]:80"),
    ("ipc:///tmp/a", "ipc:///tmp/a"),
    ("inproc://x", "inproc://x"),
    ("serial:///dev/ttyS0?baud=9600", "serial:///dev/ttyS0"),  # the options are not written back
])
def test_format_endpoint(addr, text):
    ep = parse(addr, True)
    assert format_endpoint(ep) == text
    assert repr(ep) == "Endpoint(%r)" % text


def test_endpoint_defaults():
    ep = Endpoint("inproc", path="p")
    assert fields(ep) == ("inproc", "p", {})
    assert Endpoint("serial").params is not Endpoint("serial").params  # no shared dict
