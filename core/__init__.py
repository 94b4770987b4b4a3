"""edgezmq: ZeroMQ (ZMTP 3.1) in pure Python for CPython and MicroPython.

`import edgezmq as zmq` runs ordinary pyzmq programs: the names here are a
pyzmq-compatible subset with libzmq's numbers.
"""
import sys

from .context import Context  # noqa: F401
from .errors import Again, ContextTerminated, ZMQBaseError, ZMQError, strerror  # noqa: F401
from .socket import Socket  # noqa: F401

if sys.implementation.name != "micropython":
    # pyzmq's names that a device never loads: enums (zmq.constants), zmq.error,
    # MessageTracker, and the context options (zmq.IO_THREADS)
    from . import constants as _constants
    from . import enums as _enums  # port-ok: CPython only (not in the device bundle)
    from . import error  # noqa: F401  # port-ok: CPython only
    from .constants import *  # noqa: F401,F403
    from .enums import *  # noqa: F401,F403  # port-ok: CPython only
    from .error import InterruptedSystemCall, ZMQBindError  # noqa: F401  # port-ok: CPython only
    from .misc import (  # noqa: F401
        Frame,
        Message,
        NotDone,
        ZMQVersionError,
        curve_keypair,
        curve_public,
        device,
        has,
        proxy,
        proxy_steerable,
        pyzmq_version,
        pyzmq_version_info,
        zmq_version,
        zmq_version_info,
    )
    from .poll import Poller, select  # noqa: F401
    from .tracker import MessageTracker  # noqa: F401  # port-ok: CPython only

    for _n in _enums.__all__:
        setattr(_constants, _n, getattr(_enums, _n))  # from zmq.constants import SocketType
    del _n, _constants, _enums

    DRAFT_API = False  # no draft socket types (CLIENT/SERVER, RADIO/DISH)
else:
    # A device imports only what a socket needs: the ~150 constants are not
    # copied here (each name costs heap) and Poller is loaded on first use.
    def __getattr__(name):
        if name == "Poller" or name == "select":
            from . import poll as m
        elif name.isupper():
            from . import constants as m
        else:
            try:  # a submodule not imported yet: `from . import z85` lands here
                __import__(__name__ + "." + name)
                return globals()[name]
            except ImportError as e:
                from . import misc as m

                if not hasattr(m, name):
                    raise (AttributeError(name) if name in str(e) else e) from None
        v = getattr(m, name)
        globals()[name] = v
        return v

__version__ = "0.1.0"
__revision__ = ""  # pyzmq's: the git revision of a development build
VERSION = (0, 1, 0)
