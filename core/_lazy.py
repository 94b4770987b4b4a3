"""The one way edgezmq loads code a device seldom needs only when it is used.

On MicroPython every function, class and global name costs heap unless the
package is frozen, so methods a device seldom calls live in a module of
their own that names them in a `METHODS` dict {name: function}: sugar.py
(Socket), context_extra.py (Context), ports/micropython/listen.py (the
MicroPython port). The class calls `bind_all` on CPython, where they become
ordinary methods at import; on MicroPython its __getattr__ calls `bind_one`
the first time a program looks a name up. The package's module-level names
(Poller, the rarer constants, versions) load the same way, in
core/__init__.py's __getattr__.
"""


def _module(path):
    return __import__(path, None, None, ("METHODS",))


def bind_all(cls, path):
    """Make every function in module `path`'s METHODS an attribute of cls. -> the module."""
    m = _module(path)
    for name, fn in m.METHODS.items():
        setattr(cls, name, fn)
    return m


def bind_one(cls, path, name):
    """From cls.__getattr__: bind `name` when module `path` provides it. -> True when bound."""
    fn = _module(path).METHODS.get(name)
    if fn is None:
        return False
    setattr(cls, name, fn)
    return True
