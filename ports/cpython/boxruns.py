"""CURVE MESSAGE boxes in C on CPython: a run of received boxes opened in
one call, a sent frame sealed straight into the connection's output.

CurveMechanism.decode and encode stay the reference (and what a device
runs): per box they cost a dozen Python calls and four copies around the
cipher, as much CPU as the cipher itself at 1 KiB. Here zmtpfast's C
functions call libsodium (pynacl's own copy, through function pointers) for
a whole run, and hand back only the box that decode must judge itself (a
forgery, a replay, a boxed command, not a MESSAGE): the Python path then
takes it, so every error is raised exactly where and as it was. Installed by
zmtpfast.install when pynacl exposes its cffi module; the crypto object must
be the port's PyNaclCrypto, else the reference path runs.
"""
from __future__ import annotations

_ffi = None
_lib = None
_open_fn = None  # libsodium's crypto_box_open_easy_afternm, as a void *
_seal_fn = None  # crypto_box_easy_afternm
_crypto_type = None  # ports/cpython/crypto.PyNaclCrypto
_ready = None  # CURVE's READY state
_prefixes = None  # (client to server, server to client) nonce prefixes
_saved: dict = {}


class _Boxer:
    """A mechanism's C state, once it is READY: its nonces' 16-byte prefixes
    in place, the shared key, and scratch buffers that grow to the largest
    run or message seen (cffi releases the GIL: each mechanism has its own)."""

    __slots__ = ("key", "open_nonce", "seal_nonce", "out", "out_size", "seal", "seal_size", "peer")

    def __init__(self, key: bytes, open_prefix: bytes, seal_prefix: bytes) -> None:
        self.key = key
        self.open_nonce = _ffi.new("unsigned char[24]", open_prefix + bytes(8))
        self.seal_nonce = _ffi.new("unsigned char[24]", seal_prefix + bytes(8))
        self.out = self.seal = None
        self.out_size = self.seal_size = 0
        self.peer = _ffi.new("unsigned long long *")


def _boxer(mech):
    """The mechanism's _Boxer, made on first use once it is READY: None when
    its crypto is not the port's own libsodium (the reference path then)."""
    if mech._state != _ready:
        return None  # (not kept: it may be READY at the next call)
    b = None
    if type(mech._crypto) is _crypto_type:
        c, s = _prefixes
        b = _Boxer(mech._k, c if mech.as_server else s, s if mech.as_server else c)
    mech._boxer = b
    return b


def decode_run(self, bodies, sizes, fl, bo, si) -> int:
    """CurveMechanism.decode_run: open bodies (MESSAGE command bodies, sizes
    their lengths) from the first, appending each one's MORE flag, data and size to fl, bo, si as
    decode would give them. -> how many were opened: the rest (from the
    first that decode must see itself) are left to decode."""
    try:
        b = self._boxer
    except AttributeError:
        b = _boxer(self)
    if b is None:
        return 0
    k = len(bodies)
    run = bodies[0] if k == 1 else b"".join(bodies)
    n = len(run)
    if b.out_size < n:
        b.out = _ffi.new("unsigned char[]", n)
        b.out_size = n
    res = _ffi.new("long long[]", 4 * k)
    b.peer[0] = self._peer_nonce
    j = _lib.zf_open_run(_open_fn, run, sizes, k, b.open_nonce, b.key, b.peer, b.out, res)
    if j:
        self._peer_nonce = b.peer[0]
        v = _ffi.unpack(res, 4 * j)
        plain = _ffi.buffer(b.out, v[-2])[:]  # (v[-2]: the last data's end)
        fl += v[0::4]
        bo += map(plain.__getitem__, map(slice, v[1::4], v[2::4]))
        si += v[3::4]
    return j


def seal_into(self, tx, flags, data) -> bool:
    """CurveMechanism.seal_into: append the MESSAGE frame of (flags, data) to
    tx, as Connection._send would from encode(). -> False when the reference
    path must do it (not READY, not libsodium, the nonce at its end)."""
    try:
        b = self._boxer
    except AttributeError:
        b = _boxer(self)
    n = self._nonce
    if b is None or n >= 0xFFFFFFFFFFFFFFFF:
        return False
    if type(data) is bytes:
        m = len(data)
    else:  # (its size in bytes: len() of an array's memoryview counts items)
        data = memoryview(data)
        if not data.c_contiguous:
            return False
        m = data.nbytes
        data = _ffi.from_buffer(data)
    if b.seal_size < 2 * m + 64:
        b.seal_size = 2 * m + 64
        b.seal = _ffi.new("unsigned char[]", b.seal_size)
    size = _lib.zf_seal(_seal_fn, data, m, flags, n, b.seal_nonce, b.key, b.seal)
    if size < 0:
        return False
    tx += _ffi.buffer(b.seal, size)
    self._nonce = n + 1
    return True


def connection_send(self, data, flags):
    """Connection._send: a frame sealed straight into the output when the
    mechanism can; else encode() and the header, as the core does."""
    seal = getattr(self.mech, "seal_into", None)
    if seal is None or not seal(self.tx, flags, data):
        _saved["_send"](self, data, flags)


def install(ffi, lib) -> bool:
    """Use the C boxes when pynacl's libsodium is reachable; -> bool."""
    global _ffi, _lib, _open_fn, _seal_fn, _crypto_type, _ready, _prefixes
    if _saved:
        return True
    try:
        from nacl._sodium import ffi as sodium_ffi
        from nacl._sodium import lib as sodium_lib

        _open_fn = ffi.cast("void *", sodium_ffi.addressof(sodium_lib, "crypto_box_open_easy_afternm"))
        _seal_fn = ffi.cast("void *", sodium_ffi.addressof(sodium_lib, "crypto_box_easy_afternm"))
    except (ImportError, AttributeError):
        return False
    if not hasattr(lib, "zf_seal"):
        return False
    from edgezmq.ports.cpython.crypto import PyNaclCrypto
    from edgezmq.security import curve
    from edgezmq.security.curve import CurveMechanism
    from edgezmq.zmtp.connection import Connection

    _ffi, _lib, _crypto_type, _ready = ffi, lib, PyNaclCrypto, curve._ST_READY
    _prefixes = (curve._NONCE_MESSAGE_C, curve._NONCE_MESSAGE_S)
    _saved["_send"] = Connection._send
    Connection._send = connection_send
    CurveMechanism.decode_run = decode_run
    CurveMechanism.seal_into = seal_into
    return True


def uninstall() -> None:
    """Back to the reference path (tests compare both)."""
    from edgezmq.security.curve import CurveMechanism
    from edgezmq.zmtp.connection import Connection

    if not _saved:
        return
    Connection._send = _saved.pop("_send")
    del CurveMechanism.decode_run
    del CurveMechanism.seal_into
