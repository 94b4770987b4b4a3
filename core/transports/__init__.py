"""Transports: one table from an endpoint's scheme to the module that serves it.

A transport module has:
    parse(rest, binding) -> Endpoint     the part after "scheme://" (EINVAL if malformed)
    bind(sock, ep, addr) -> str          the bound address (LAST_ENDPOINT)
    connect(sock, ep, addr) -> object    kept by the socket; close() ends it (or None)
A new transport is one module here and one row of _SCHEMES (or register()).
"""
from .._compat import const
from ..errors import ZMQError

_EPROTONOSUPPORT = const(93)

_SCHEMES = ("tcp", "ipc", "inproc", "serial")  # each the name of its module here
_extra = None  # scheme -> module, for transports registered at run time


def lookup(scheme):
    """The module serving `scheme`; EPROTONOSUPPORT when there is none."""
    if _extra is not None and scheme in _extra:
        return _extra[scheme]
    if scheme in _SCHEMES:
        return __import__(scheme, globals(), None, ("parse",), 1)
    raise ZMQError(_EPROTONOSUPPORT, "transport %r is not supported" % scheme)


def register(scheme, module):
    """Add (or replace) a transport: an object with parse, bind and connect."""
    global _extra
    if _extra is None:
        _extra = {}
    _extra[scheme] = module
