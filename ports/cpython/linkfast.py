"""Serial link framing in C (cffi), installed into edgezmq.transports.serial.framing if built.

    from edgezmq.ports.cpython import linkfast
    linkfast.install()          # True if the C version is now in use

The functions keep linkframe's signatures and give identical results; when
the extension has not been built (ports/cpython/_linkfast_build.py) the pure
Python versions stay in place.
"""

_lib = None
_ffi = None


def load(path=None):
    """Import the compiled module (from path, or beside this file); -> bool."""
    global _lib, _ffi
    from edgezmq.ports.cpython import _cffi_ext

    mod = _cffi_ext.load("_linkfast", path)
    if mod is None:
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
    """Use the C functions in edgezmq.transports.serial.framing if they load; -> bool."""
    if _lib is None and not load(path):
        return False
    from edgezmq.transports.serial import framing as linkframe

    linkframe.install(stuff_fn=stuff, unstuff_fn=unstuff)
    return True
