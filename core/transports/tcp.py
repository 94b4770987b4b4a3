"""tcp://host:port: a listener per bind, a connecter per connect (both on the port's streams)."""
from .. import constants as C
from ..endpoint import Endpoint
from ..errors import ZMQError


def parse(rest, binding):
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
        try:
            portn = int(port)
        except ValueError:
            raise ZMQError(C.EINVAL, "invalid port in endpoint") from None
        if not 0 < portn < 65536:
            raise ZMQError(C.EINVAL, "tcp port out of range")
    if host == "*":
        if not binding:
            raise ZMQError(C.EINVAL, "cannot connect to a wildcard host")
        host = ""
    return Endpoint("tcp", host, portn)


def bind(sock, ep, addr):
    """Listen on the port's stream socket for ep; -> the bound address."""
    try:
        lsock, address = sock.ctx.port.listen(ep, sock.options)
    except OSError as e:
        sock.monitor_event(C.EVENT_BIND_FAILED, addr, 0)
        n = e.args[0] if e.args and isinstance(e.args[0], int) else C.EADDRINUSE
        raise ZMQError(n, "bind %s failed: %s" % (addr, e)) from None
    from .listener import Listener

    lis = Listener(sock, ep, lsock, address)
    sock.listeners[address] = lis
    sock.listeners[addr] = lis
    return address


def connect(sock, ep, addr):
    from .connecter import Connecter

    return Connecter(sock, ep)
