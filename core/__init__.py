"""edgezmq: ZeroMQ (ZMTP 3.1) in pure Python for CPython and MicroPython.

`import edgezmq as zmq` runs ordinary pyzmq programs: the names here are a
pyzmq-compatible subset with libzmq's numbers.
"""
import sys

from .context import Context
from .errors import Again, ContextTerminated, ZMQBaseError, ZMQError, strerror  # noqa: F401
from .socket import Socket

if sys.implementation.name != "micropython":
    from .constants import *  # noqa: F401,F403
    from .errors import NotDone, ZMQVersionError  # noqa: F401
    from .poll import Poller, select  # noqa: F401
else:
    # A device imports only what a socket needs: the ~150 constants are not
    # copied here (each name costs heap) and Poller is loaded on first use.
    def __getattr__(name):
        if name == "Poller" or name == "select":
            from . import poll as m
        elif name == "NotDone" or name == "ZMQVersionError":
            from . import errors as m
        elif name.isupper():
            from . import constants as m
        else:  # a submodule not imported yet: `from . import z85` lands here
            __import__(__name__ + "." + name)
            return globals()[name]
        v = getattr(m, name)
        globals()[name] = v
        return v

__version__ = "0.1.0"
VERSION = (0, 1, 0)
_ZMTP_LIBZMQ = (4, 3, 5)  # the libzmq behaviour we follow


def zmq_version():
    return "%d.%d.%d" % _ZMTP_LIBZMQ


def zmq_version_info():
    return _ZMTP_LIBZMQ


def pyzmq_version():
    return __version__


def pyzmq_version_info():
    return VERSION


def has(capability):
    """Capabilities, as zmq.has(): transports and mechanisms available here."""
    if capability in ("ipc", "curve", "plain"):
        return True
    if capability == "serial":
        return True
    return False


def curve_keypair():
    """-> (public, secret) as Z85 bytes."""
    from . import z85
    from .ports import default_port

    pk, sk = default_port().crypto().keypair()
    return z85.encode(pk), z85.encode(sk)


def curve_public(secret_key):
    """Z85 public key for a Z85 secret key."""
    from . import z85
    from .ports import default_port

    if isinstance(secret_key, str):
        secret_key = secret_key.encode()
    return z85.encode(default_port().crypto().public(z85.decode(secret_key)))


def proxy(frontend, backend, capture=None):
    from .proxy import proxy as _proxy

    return _proxy(frontend, backend, capture)


def proxy_steerable(frontend, backend, capture=None, control=None):
    from .proxy import proxy as _proxy

    return _proxy(frontend, backend, capture, control)


def device(device_type, frontend, backend):
    return proxy(frontend, backend)


Frame = bytes
Message = bytes
