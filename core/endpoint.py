"""Endpoint strings: "scheme://rest", the rest parsed by the scheme's transport
(core/transports/): tcp://host:port, ipc:///path, inproc://name, serial://dev?opts."""
from . import transports
from ._compat import const
from .errors import ZMQError

_EINVAL = const(22)
_ENAMETOOLONG = const(36)


class Endpoint:
    def __init__(self, transport, host=b"", port=0, path="", params=None):
        self.transport = transport
        self.host = host
        self.port = port
        self.path = path
        self.params = params or {}

    def __repr__(self):
        return "Endpoint(%r)" % format_endpoint(self)


def parse(addr, binding):
    """Parse an endpoint string; raises ZMQError EINVAL / EPROTONOSUPPORT
    whose message names the endpoint, as pyzmq's (addr='...')."""
    if isinstance(addr, bytes):
        addr = addr.decode()
    elif not isinstance(addr, str):
        raise TypeError("Expected addr to be str, got addr=%r" % (addr,))  # as pyzmq
    try:
        return _parse(addr, binding)
    except ZMQError as e:
        e.strerror = "%s (addr=%r)" % (e.strerror, addr)
        raise


def _parse(addr, binding):
    i = addr.find("://")
    if i <= 0:
        raise ZMQError(_EINVAL, "malformed endpoint %r" % addr)
    scheme = addr[:i]
    ep = transports.lookup(scheme).parse(addr[i + 3 :], binding)
    ep.transport = scheme
    if scheme == "ipc" and len(ep.path) > 107:  # IPC_PATH_MAX_LEN: libzmq refuses before the OS does
        raise ZMQError(_ENAMETOOLONG, "ipc path is longer than 107 characters")
    return ep


def format_endpoint(ep):
    if ep.transport == "tcp":
        h = ep.host or "0.0.0.0"
        if ":" in h:
            h = "[%s]" % h
        return "tcp://%s:%d" % (h, ep.port)
    return "%s://%s" % (ep.transport, ep.path)
