"""Serial link framing in C (cffi), installed into edgezmq.linkframe if built.

    from edgezmq.ports.cpython import linkfast
    linkfast.install()          # True if the C version is now in use

The functions keep linkframe's signatures and give identical results; when
the extension has not been built (ports/cpython/_linkfast_build.py) the pure
Python versions stay in place.
"""
import importlib.util
import os

_lib = None
_ffi = None


def load(path=None):
    """Import the compiled module (from path, or beside this file); -> bool."""
    global _lib, _ffi
    if path is None:
        here = os.path.dirname(os.path.abspath(__file__))
        names = [n for n in os.listdir(here) if n.startswith("_linkfast.") and n.endswith(".so")]
        if not names:
            return False
        path = os.path.join(here, names[0])
    try:
        spec = importlib.util.spec_from_file_location("_linkfast", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    except (ImportError, OSError):
        return False
    _lib, _ffi = mod.lib, mod.ffi
    return True


def stuff(src, start, end, dst, dpos):
    """linkframe.stuff in C."""
    s = _ffi.from_buffer(src)
    d = _ffi.from_buffer(dst, require_writable=True)
    n = _lib.lf_stuff(s + start, end - start, d + dpos, len(d) - dpos)
    if n < 0:
        raise ValueError("stuff: destination too small")
    return dpos + n


def unstuff(src, start, end, dst, dpos):
    """linkframe.unstuff in C."""
    s = _ffi.from_buffer(src)
    d = _ffi.from_buffer(dst, require_writable=True)
    n = _lib.lf_unstuff(s + start, end - start, d + dpos, len(d) - dpos)
    return n if n < 0 else dpos + n


def install(path=None):
    """Use the C functions in edgezmq.linkframe if they load; -> bool."""
    if _lib is None and not load(path):
        return False
    from edgezmq import linkframe

    linkframe.install(stuff_fn=stuff, unstuff_fn=unstuff)
    return True
