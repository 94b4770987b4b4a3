"""The port crypto interface on CPython, backed by libsodium through pynacl.

CURVE (core/curve.py) only sees this small interface, so a MicroPython port
can plug in ports/micropython/nacl_pure.PureCrypto instead. Everything is
bytes in and out: 32-byte keys, 24-byte nonces, boxes as tag (16 bytes) +
ciphertext (libsodium's "easy" layout). Every failure, a forged box or a
low-order public key alike, raises ValueError so callers need no nacl import.
"""
import os

from nacl import bindings as _b
from nacl.exceptions import CryptoError as _CryptoError

try:  # libsodium through pynacl's own cffi module: the per-message boxes skip
    # pynacl's Python wrapper (its checks and copies cost as much as the box)
    from nacl._sodium import ffi as _ffi
    from nacl._sodium import lib as _lib
except ImportError:  # a pynacl without it: the wrapper
    _lib = None
_MAC = 16  # crypto_box_MACBYTES


def _bytes(x):
    # pynacl's cffi layer takes bytes only, not memoryview/bytearray
    return x if type(x) is bytes else bytes(x)


class PyNaclCrypto:
    name = "pynacl"

    def __init__(self, random=None):
        # random is injectable so tests can replay a handshake exactly
        self._random = random if random is not None else os.urandom

    def random(self, n):
        b = self._random(n)
        if len(b) != n:
            raise ValueError("random source returned %d bytes, wanted %d" % (len(b), n))
        return bytes(b)

    def keypair(self):
        """-> (public, secret); secret from random() as libsodium's own keypair."""
        secret = self.random(32)
        return self.public(secret), secret

    def public(self, secret):
        try:
            return _b.crypto_scalarmult_base(_bytes(secret))
        except _CryptoError as e:
            raise ValueError("bad secret key: %s" % e) from None

    def beforenm(self, public, secret):
        """Precomputed shared key; a low-order public key raises ValueError."""
        try:
            return _b.crypto_box_beforenm(_bytes(public), _bytes(secret))
        except _CryptoError as e:
            raise ValueError("cannot derive shared key: %s" % e) from None

    def box_afternm(self, msg, nonce, k):
        if _lib is not None and len(nonce) == 24 and len(k) == 32:
            n = len(msg)
            c = _ffi.new("unsigned char[]", n + _MAC)
            if _lib.crypto_box_easy_afternm(c, _ffi.from_buffer(msg), n, nonce if type(nonce) is bytes else bytes(nonce),
                                            k if type(k) is bytes else bytes(k)) != 0:
                raise ValueError("box failed")
            return _ffi.buffer(c, n + _MAC)[:]
        try:
            return _b.crypto_box_easy_afternm(_bytes(msg), _bytes(nonce), _bytes(k))
        except _CryptoError as e:
            raise ValueError(str(e)) from None

    def open_afternm(self, box, nonce, k):
        if _lib is not None and len(nonce) == 24 and len(k) == 32:
            n = len(box) - _MAC
            if n < 0:
                raise ValueError("message forged or corrupt")
            m = _ffi.new("unsigned char[]", n or 1)
            if _lib.crypto_box_open_easy_afternm(m, _ffi.from_buffer(box), n + _MAC,
                                                 nonce if type(nonce) is bytes else bytes(nonce),
                                                 k if type(k) is bytes else bytes(k)) != 0:
                raise ValueError("message forged or corrupt")
            return _ffi.buffer(m, n)[:]
        try:
            return _b.crypto_box_open_easy_afternm(_bytes(box), _bytes(nonce), _bytes(k))
        except _CryptoError:
            raise ValueError("message forged or corrupt") from None

    def box(self, msg, nonce, public, secret):
        try:
            return _b.crypto_box_easy(_bytes(msg), _bytes(nonce), _bytes(public), _bytes(secret))
        except _CryptoError as e:
            raise ValueError(str(e)) from None

    def open(self, box, nonce, public, secret):
        try:
            return _b.crypto_box_open_easy(
                _bytes(box), _bytes(nonce), _bytes(public), _bytes(secret)
            )
        except _CryptoError:
            raise ValueError("message forged or corrupt") from None

    def secretbox(self, msg, nonce, key):
        try:
            return _b.crypto_secretbox_easy(_bytes(msg), _bytes(nonce), _bytes(key))
        except _CryptoError as e:
            raise ValueError(str(e)) from None

    def secretbox_open(self, box, nonce, key):
        try:
            return _b.crypto_secretbox_open_easy(_bytes(box), _bytes(nonce), _bytes(key))
        except _CryptoError:
            raise ValueError("message forged or corrupt") from None
