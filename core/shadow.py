"""pyzmq's shadows, CPython only: a second Python object over the same socket
or context. pyzmq makes one with `Socket(sock)`, `Socket.shadow(sock)` or
`Socket.shadow(sock.underlying)`, `copy.copy(sock)` and `copy.deepcopy(sock)`
(Context likewise), and programs use them to hand a socket to another API
(a sync view of an asyncio socket, or the reverse).

Here a shadow shares the original's state (its __dict__, whose id is
`underlying`): what one does, the other sees; closing either closes the
socket. As in pyzmq, dropping a shadow releases nothing (Context.__del__
skips it) and `_shadow` / `_shadow_obj` tell it from the original.
"""
from __future__ import annotations

import weakref  # port-ok: CPython only (never in the device bundle)
from typing import Any  # port-ok: CPython only

# shadow -> what it was made from (pyzmq's _shadow_obj: an object or an address)
_SHADOWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# underlying -> a live object with that state, for shadow(address)
_BY_ADDRESS: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def underlying(self: Any) -> int:
    """pyzmq's address of the libzmq object; here the id of the shared state."""
    address = id(self.__dict__)
    _BY_ADDRESS.setdefault(address, self)
    return address


def adopt(self: Any, source: Any, base: type) -> None:
    """Make self a shadow of source: an instance of base, or an `underlying`."""
    if isinstance(source, int) and not isinstance(source, bool):
        target = _BY_ADDRESS.get(source)
        if target is None:
            raise ValueError("no %s at address %#x (shadow takes what .underlying returned)" % (base.__name__, source))
    elif isinstance(source, base):
        target = source
    else:
        raise TypeError("cannot shadow %s: a %s or its .underlying is needed" % (type(source).__name__, base.__name__))
    object.__setattr__(self, "__dict__", target.__dict__)
    _SHADOWS[self] = source


def wrap_init(init, base: type):
    """base.__init__ that also makes shadows, as pyzmq's: base(obj) with obj
    an instance of base, or base(shadow=obj or obj.underlying)."""

    def __init__(self, *args, shadow=None, **kwargs):
        if shadow is None and args and isinstance(args[0], base):
            shadow = args[0]
        if shadow:
            adopt(self, shadow, base)
            return
        init(self, *args, **kwargs)

    __init__.__doc__ = init.__doc__
    return __init__


def is_shadow(self: Any) -> bool:
    return self in _SHADOWS


def install(cls: type) -> None:
    """Socket or Context: shadows from __init__, underlying, _shadow,
    _shadow_obj, shadow(), copy."""

    def shadow(klass, address):
        """A shadow of a socket/context or of its .underlying (pyzmq's shadow)."""
        return klass(shadow=address)

    def __copy__(self, memo=None):
        """Copying makes a shadow, as pyzmq (deepcopy too)."""
        return type(self)(shadow=self)

    cls.__init__ = wrap_init(cls.__init__, cls)
    cls.underlying = property(underlying)
    cls._shadow = property(is_shadow)
    cls._shadow_obj = property(lambda self: _SHADOWS.get(self))
    cls.shadow = classmethod(shadow)
    cls.__copy__ = __copy__
    cls.__deepcopy__ = __copy__
