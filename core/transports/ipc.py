"""ipc:///path: Unix domain sockets, served like tcp by the port's streams."""
from .. import constants as C
from ..endpoint import Endpoint
from ..errors import ZMQError
from .tcp import bind, connect  # noqa: F401  (the same listener and connecter)


def parse(rest, binding):
    if not rest:
        raise ZMQError(C.EINVAL, "ipc endpoint needs a path")
    return Endpoint("ipc", path=rest)
