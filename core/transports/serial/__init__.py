"""serial://device?params: ZMTP connections over a reliable multiplexed link on a
UART. The link is sans-IO (link.py, framing.py, channel.py); driver.py runs it
on the context's reactor; the port opens the device (port.serial_attach)."""
from ... import constants as C
from ...endpoint import Endpoint
from ...errors import ZMQError


def parse(rest, binding):
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


def bind(sock, ep, addr):
    return sock.ctx.port.serial_attach(sock.ctx, sock, ep, addr, True)


def connect(sock, ep, addr):
    return sock.ctx.port.serial_attach(sock.ctx, sock, ep, addr, False)
