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
    from .frame import Frame, Message  # noqa: F401
    from .poll import Poller, select  # noqa: F401
    from .proxy import device, proxy, proxy_steerable  # noqa: F401
    from .security.keys import curve_keypair, curve_public  # noqa: F401
    from .tracker import FINISHED as _FINISHED_TRACKER  # noqa: F401  # port-ok: CPython only
    from .tracker import MessageTracker, NotDone  # noqa: F401  # port-ok: CPython only
    from .versions import (  # noqa: F401
        ZMQVersionError,
        has,
        pyzmq_version,
        pyzmq_version_info,
        zmq_version,
        zmq_version_info,
    )

    for _n in _enums.__all__:
        setattr(_constants, _n, getattr(_enums, _n))  # from zmq.constants import SocketType
    del _n, _constants, _enums

    DRAFT_API = False  # no draft socket types (CLIENT/SERVER, RADIO/DISH)
else:
    # A device imports only what a socket needs: the ~150 constants are not
    # copied here (each name costs heap) and the rest loads on first use, from
    # the module this table names (the rule of core/_lazy.py, for module names)
    _LAZY = (
        ("poll", ("Poller", "select")),
        ("versions", ("zmq_version", "zmq_version_info", "pyzmq_version", "pyzmq_version_info", "has",
                      "ZMQVersionError")),
        ("frame", ("Frame", "Message")),
        ("security.keys", ("curve_keypair", "curve_public")),
        ("proxy", ("proxy", "proxy_steerable", "device")),
    )

    def __getattr__(name):
        if name.isupper():
            from . import constants as m
        else:
            for module, names in _LAZY:
                if name in names:
                    m = __import__(__name__ + "." + module, None, None, (name,))
                    break
            else:  # a submodule not imported yet: `from . import z85` lands here
                try:
                    __import__(__name__ + "." + name)
                except ImportError as e:
                    raise (AttributeError(name) if name in str(e) else e) from None
                return globals()[name]
        v = getattr(m, name)
        globals()[name] = v
        return v

__version__ = "0.1.0"
__revision__ = ""  # pyzmq's: the git revision of a development build
VERSION = (0, 1, 0)
