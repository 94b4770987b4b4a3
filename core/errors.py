"""pyzmq's exception classes, with libzmq errno values and messages."""
from . import constants as C

_MESSAGES = {
    C.EAGAIN: "Resource temporarily unavailable",
    C.EINVAL: "Invalid argument",
    C.EFSM: "Operation cannot be accomplished in current state",
    C.ETERM: "Context was terminated",
    C.EHOSTUNREACH: "Host unreachable",
    C.EMSGSIZE: "Message too long",
    C.EPROTONOSUPPORT: "Protocol not supported",
    C.ENOTSUP: "Operation not supported",
    C.EADDRINUSE: "Address already in use",
    C.EADDRNOTAVAIL: "Can't assign requested address",
    C.ECONNREFUSED: "Connection refused",
    C.ENOTSOCK: "Socket operation on non-socket",
    C.ENOENT: "No such file or directory",
    C.ENOMEM: "Cannot allocate memory",
    C.EMTHREAD: "No thread available",
    C.ENOCOMPATPROTO: "The protocol is not compatible with the socket type",
    C.ENODEV: "No such device",
    C.ETIMEDOUT: "Connection timed out",
    C.ENOTCONN: "Transport endpoint is not connected",
}


def strerror(errno):
    """Return libzmq's text for an errno value."""
    return _MESSAGES.get(errno, "Unknown error %d" % errno)


class ZMQBaseError(Exception):
    pass


class ZMQError(ZMQBaseError):
    """An error with a libzmq errno, like pyzmq's ZMQError."""

    def __init__(self, errno=None, msg=None):
        if errno is None:
            errno = C.EINVAL
        self.errno = errno
        self.strerror = msg if msg is not None else strerror(errno)
        super().__init__(self.strerror)

    def __str__(self):
        return self.strerror

    def __repr__(self):
        return "%s('%s')" % (self.__class__.__name__, self.strerror)


class Again(ZMQError):
    """The operation would block (EAGAIN)."""

    def __init__(self, errno=C.EAGAIN, msg=None):
        super().__init__(errno, msg)


class ContextTerminated(ZMQError):
    """The context was terminated (ETERM)."""

    def __init__(self, errno=C.ETERM, msg=None):
        super().__init__(errno, msg)


class NotDone(ZMQBaseError):
    pass


class ZMQVersionError(NotImplementedError):
    pass


class ProtocolError(Exception):
    """A peer broke ZMTP: the connection is closed with this reason."""


def raise_for(errno, msg=None):
    if errno == C.EAGAIN:
        raise Again(errno, msg)
    if errno == C.ETERM:
        raise ContextTerminated(errno, msg)
    raise ZMQError(errno, msg)
