"""pyzmq's exception classes, with libzmq errno values and messages."""
from ._compat import const

_EINVAL = const(22)  # libzmq's numbers (core/constants.py)
_EAGAIN = const(11)
_ETERM = const(156384765)

# "|errno:text" pairs: one string costs less heap than a dict of strings
_MESSAGES = (
    "|11:Resource temporarily unavailable|22:Invalid argument|"
    "156384763:Operation cannot be accomplished in current state|156384765:Context was terminated|"
    "113:Host unreachable|90:Message too long|93:Protocol not supported|95:Operation not supported|"
    "98:Address already in use|99:Can't assign requested address|111:Connection refused|"
    "88:Socket operation on non-socket|2:No such file or directory|12:Cannot allocate memory|"
    "156384766:No thread available|156384764:The protocol is not compatible with the socket type|"
    "19:No such device|110:Connection timed out|107:Transport endpoint is not connected|"
)


def strerror(errno):
    """Return libzmq's text for an errno value."""
    if errno == 11:  # EAGAIN, the common one (every NOBLOCK miss)
        return "Resource temporarily unavailable"
    key = "|%d:" % errno
    i = _MESSAGES.find(key)
    if i < 0:
        return "Unknown error %d" % errno
    i += len(key)
    return _MESSAGES[i : _MESSAGES.index("|", i)]


class ZMQBaseError(Exception):
    pass


class ZMQError(ZMQBaseError):
    """An error with a libzmq errno, like pyzmq's ZMQError."""

    def __init__(self, errno=None, msg=None):
        if errno is None:
            errno = _EINVAL
        self.errno = errno
        self.strerror = msg if msg is not None else strerror(errno)
        super().__init__(self.strerror)

    def __str__(self):
        return self.strerror

    def __repr__(self):
        return "%s('%s')" % (self.__class__.__name__, self.strerror)


class Again(ZMQError):
    """The operation would block (EAGAIN)."""

    def __init__(self, errno=_EAGAIN, msg=None):
        super().__init__(errno, msg)


class ContextTerminated(ZMQError):
    """The context was terminated (ETERM)."""

    def __init__(self, errno=_ETERM, msg=None):
        super().__init__(errno, msg)


class ProtocolError(Exception):
    """A peer broke ZMTP: the connection is closed with this reason."""
