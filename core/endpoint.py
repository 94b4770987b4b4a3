"""Endpoint strings: tcp://host:port, ipc:///path, inproc://name, serial://dev?opts."""
from . import constants as C
from .errors import ZMQError


class Endpoint:
    def __init__(self, transport, host=b"", port=0, path="", params=None):
        self.transport = transport
        self.host = host
        self.port = port
        self.path = path
        self.params = params or {}

    def __repr__(self):
        return "Endpoint(%r)" % format_endpoint(self)


def _int(s):
    try:
        return int(s)
    except ValueError:
        raise ZMQError(C.EINVAL, "invalid port in endpoint") from None


def parse(addr, binding):
    """Parse an endpoint string; raises ZMQError EINVAL / EPROTONOSUPPORT."""
    if isinstance(addr, bytes):
        addr = addr.decode()
    i = addr.find("://")
    if i <= 0:
        raise ZMQError(C.EINVAL, "malformed endpoint %r" % addr)
    transport = addr[:i]
    rest = addr[i + 3 :]
    if transport == "tcp":
        j = rest.rfind(":")
        if j < 0:
            raise ZMQError(C.EINVAL, "tcp endpoint needs host:port")
        host, port = rest[:j], rest[j + 1 :]
        if ";" in host:  # source address syntax: src;dst
            host = host.split(";")[-1]
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not host:
            raise ZMQError(C.EINVAL, "tcp endpoint needs a host")
        if port in ("*", "0"):
            if not binding:
                raise ZMQError(C.EINVAL, "cannot connect to a wildcard port")
            portn = 0
        else:
            portn = _int(port)
            if not 0 < portn < 65536:
                raise ZMQError(C.EINVAL, "tcp port out of range")
        if host == "*":
            if not binding:
                raise ZMQError(C.EINVAL, "cannot connect to a wildcard host")
            host = ""
        return Endpoint("tcp", host, portn)
    if transport == "ipc":
        if not rest:
            raise ZMQError(C.EINVAL, "ipc endpoint needs a path")
        return Endpoint("ipc", path=rest)
    if transport == "inproc":
        if not rest:
            raise ZMQError(C.EINVAL, "inproc endpoint needs a name")
        return Endpoint("inproc", path=rest)
    if transport == "serial":
        q = rest.find("?")
        path = rest if q < 0 else rest[:q]
        params = {}
        if q >= 0:
            for kv in rest[q + 1 :].split("&"):
                if not kv:
                    continue
                k, _, v = kv.partition("=")
                params[k] = v
        if not path:
            raise ZMQError(C.EINVAL, "serial endpoint needs a device")
        return Endpoint("serial", path=path, params=params)
    raise ZMQError(C.EPROTONOSUPPORT, "transport %r is not supported" % transport)


def format_endpoint(ep):
    if ep.transport == "tcp":
        h = ep.host or "0.0.0.0"
        if ":" in h:
            h = "[%s]" % h
        return "tcp://%s:%d" % (h, ep.port)
    return "%s://%s" % (ep.transport, ep.path)
