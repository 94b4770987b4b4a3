"""Socket types as thin policies over pipes, and the one table that names them.

A socket type is a Pattern subclass in a module of this package and one row
of _TYPES (or a register() call): its number (libzmq's), name, module,
class, the types it may talk to (RFC 37's valid pairings) and whether a
connect() queues messages before the peer is there (IMMEDIATE=0).
"""
from .._compat import const
from ..errors import ZMQError

_EINVAL = const(22)

# number -> (name, module, class, peers, queues on connect); a tuple of
# constants costs no heap when frozen
_TYPES = (
    ("PAIR", "simple", "Pair", (0,), True),
    ("PUB", "pubsub", "Pub", (2, 10), False),
    ("SUB", "pubsub", "Sub", (1, 9), False),
    ("REQ", "reqrep", "Req", (4, 6), True),
    ("REP", "reqrep", "Rep", (3, 5), False),
    ("DEALER", "simple", "Dealer", (4, 5, 6), True),
    ("ROUTER", "router", "Router", (3, 5, 6), False),
    ("PULL", "simple", "Pull", (8,), False),
    ("PUSH", "simple", "Push", (7,), True),
    ("XPUB", "pubsub", "XPub", (2, 10), False),
    ("XSUB", "pubsub", "XSub", (1, 9), False),
)
_extra = None  # number -> row, for types registered at run time


def info(t):
    """-> (name, module, class, peers, queues) of socket type t; EINVAL if unknown."""
    if isinstance(t, int):
        if 0 <= t < len(_TYPES):
            return _TYPES[t]
        if _extra is not None and t in _extra:
            return _extra[t]
    raise ZMQError(_EINVAL, "invalid socket type %r" % (t,))


def name(t):
    """The type's name as ZMTP's Socket-Type property (bytes)."""
    return info(t)[0].encode()


def peer_names(t):
    """The Socket-Type names a socket of type t accepts from its peers."""
    return tuple(name(p) for p in info(t)[3])


def create(sock):
    """The pattern object for sock's type."""
    row = info(sock.socket_type)
    cls = row[2]
    if type(cls) is str:
        mod = __import__(row[1], globals(), None, (cls,), 1)
        cls = getattr(mod, cls)
    return cls(sock)


def register(number, name, pattern_class, peers, queues_on_connect=False):
    """Add a socket type (a number above libzmq's) with its Pattern class."""
    global _extra
    if 0 <= number < len(_TYPES):
        raise ValueError("socket type %d is libzmq's" % number)
    if _extra is None:
        _extra = {}
    _extra[number] = (name, None, pattern_class, tuple(peers), queues_on_connect)
