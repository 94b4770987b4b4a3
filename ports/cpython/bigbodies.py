"""Big frame bodies received straight into the bytes object recv() returns.

A body over a pool slot is allocated from the heap for its frame. In pure
Python that is a zero-filled bytearray, and recv() then copies it into the
bytes it returns: two passes over every byte beyond the kernel's copy. Here
the heap body is an uninitialised bytes object (CPython's own
PyBytes_FromStringAndSize(NULL, n)), filled through a writable cffi view of
its storage while the decoder alone holds it, and recv() hands it over as
is. Only the CPython port installs this (zmtpfast.install); the core, the
pure fallback and MicroPython keep their bytearray bodies.
"""
from __future__ import annotations

import ctypes

_ffi = None
_new = None
_OFFSET = bytes.__basicsize__ - 1  # where a bytes object's data starts (ob_sval)
_saved: dict = {}


def new_bytes(n: int) -> bytes:
    """A bytes object of n bytes whose contents are not yet written (n >= 2:
    CPython shares the empty and one-byte objects)."""
    return _new(None, n)


def writable(b: bytes):
    """A writable buffer over b's storage: only for a bytes object nothing else holds yet."""
    return _ffi.buffer(_ffi.cast("char *", id(b) + _OFFSET), len(b))


def _works() -> bool:
    """The layout assumed above holds on this interpreter."""
    b = new_bytes(16)
    memoryview(writable(b))[:] = b"0123456789abcdef"
    return type(b) is bytes and b == b"0123456789abcdef" and hash(b) == hash(b"0123456789abcdef")


def install(ffi) -> bool:
    """Patch FramePool.take and FrameDecoder.body_view; -> bool (False: left as they were)."""
    global _ffi, _new
    from edgezmq.pool import FramePool
    from edgezmq.zmtp.frames import _ST_BODY, FrameDecoder

    if _saved:
        return True
    try:
        new = ctypes.pythonapi.PyBytes_FromStringAndSize
        new.restype = ctypes.py_object
        new.argtypes = (ctypes.c_char_p, ctypes.c_ssize_t)
        _ffi, _new = ffi, new
        if not _works():
            raise ValueError("bytes layout")
    except (AttributeError, ValueError, TypeError):
        _ffi = _new = None
        return False
    take = FramePool.take
    body_view = FrameDecoder.body_view

    def heap_take(self, n):
        """FramePool.take: a body over the slot size is an unwritten bytes object."""
        if n > self.size and self.heap_ok:
            self.heap_allocs += 1
            return new_bytes(n)
        return take(self, n)

    def writable_body_view(self, least):
        """FrameDecoder.body_view, writable over a bytes body too (its test
        written out: every read of every connection asks)."""
        if self.state != _ST_BODY or self.grow or self.size - self.got < least:
            return None
        body = self.body
        return memoryview(writable(body) if type(body) is bytes else body)[self.got : self.size]

    _saved["take"], _saved["body_view"] = take, body_view
    FramePool.take = heap_take
    FrameDecoder.body_view = writable_body_view
    return True


def uninstall() -> None:
    from edgezmq.pool import FramePool
    from edgezmq.zmtp.frames import FrameDecoder

    if _saved:
        FramePool.take = _saved.pop("take")
        FrameDecoder.body_view = _saved.pop("body_view")
