"""zmq.error as pyzmq spells it: the exception classes in one module.

ZMQError, Again and ContextTerminated live in core/errors.py (a device needs
them); this module adds the rest of pyzmq's names."""
from .errors import Again, ContextTerminated, ZMQBaseError, ZMQError, strerror  # noqa: F401
from .tracker import NotDone  # noqa: F401
from .versions import ZMQVersionError  # noqa: F401


class ZMQBindError(ZMQBaseError):
    """Socket.bind_to_random_port() found no free port in its range."""


class InterruptedSystemCall(ZMQError, InterruptedError):
    """EINTR; retried inside edgezmq, never raised to a program (as pyzmq)."""

    def __init__(self, errno="ignored", msg="ignored"):
        super().__init__(4)  # EINTR


class DraftFDWarning(RuntimeWarning):
    """pyzmq warns with it about FD on thread-safe sockets; edgezmq has none."""


__all__ = [
    "DraftFDWarning",
    "ZMQBaseError",
    "ZMQBindError",
    "ZMQError",
    "NotDone",
    "ContextTerminated",
    "InterruptedSystemCall",
    "Again",
    "ZMQVersionError",
]
