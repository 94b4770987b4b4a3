"""Security mechanisms (NULL, PLAIN, CURVE) and ZAP, driven by the connection.

One table names them: the MECHANISM option's value -> (the name in the
greeting, module, factory, the option that makes this side the server). A
new mechanism is a module here with a Mechanism subclass and one row of
_MECHANISMS (or a register() call).
"""
from ..errors import ProtocolError

_MECHANISMS = (
    (b"NULL", "mechanism", "null", None),
    (b"PLAIN", "plain", "PlainMechanism", "plain_server"),
    (b"CURVE", "curve", "CurveMechanism", "curve_server"),
)
_extra = None  # number -> row, for mechanisms registered at run time


def info(number):
    """-> (name, module, factory, server option) for the MECHANISM option value."""
    if 0 <= number < len(_MECHANISMS):
        return _MECHANISMS[number]
    if _extra is not None and number in _extra:
        return _extra[number]
    raise ValueError("unknown mechanism %r" % (number,))


def create(name, config, as_server, local_meta, peer_address=b""):
    """The mechanism named in the greeting (already checked to match ours)."""
    rows = _MECHANISMS if _extra is None else _MECHANISMS + tuple(_extra.values())
    for row in rows:
        if row[0] == name:
            make = row[2]
            if type(make) is str:
                make = getattr(__import__(row[1], globals(), None, (make,), 1), make)
            return make(config, as_server, local_meta, peer_address)
    raise ProtocolError("unsupported mechanism %r" % name)


def register(number, name, factory, server_option=None):
    """Add a mechanism: factory(config, as_server, local_meta, peer_address)."""
    global _extra
    if _extra is None:
        _extra = {}
    _extra[number] = (name, None, factory, server_option)
