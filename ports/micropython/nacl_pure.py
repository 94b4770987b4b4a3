"""NaCl's box for CURVE in pure Python: X25519 + XSalsa20-Poly1305.

MicroPython boards have no libsodium, so CURVE needs these primitives in
Python. Results are byte-identical to libsodium's (crypto_box_beforenm,
crypto_box_easy_afternm, crypto_secretbox_easy); tests/unit/test_crypto.py checks
that against pynacl on CPython and under the MicroPython unix port.

Salsa20 works on 32-bit words (small ints on 64-bit hosts), Poly1305 and
X25519 on Python's big ints, and keystream XOR on whole words, so no
per-byte Python loop runs. On MicroPython a @micropython.viper Salsa20 core
(nacl_viper.py) takes over when it is present and agrees with the pure code
on a self-check at import: on 32-bit boards Salsa20's words are not small
ints, and the pure core would allocate at every step. X25519 likewise:
nacl_x25519.py runs the ladder on viper field arithmetic (x25519_viper.py)
when it imports and passes its own check, ~3x fewer instructions.

Not constant-time: Python cannot promise that. Acceptable for the threat
model of a device on its own link; use libsodium where timing matters.
"""
import struct
import sys

try:
    from os import urandom as _urandom
except ImportError:  # a port without os.urandom must pass random=
    _urandom = None

_M32 = 0xFFFFFFFF
_P = (1 << 255) - 19
_A24 = 121665
_P1305 = (1 << 130) - 5
_R_CLAMP = 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
_M128 = (1 << 128) - 1
_M130 = (1 << 130) - 1
_ZERO16 = bytes(16)
_ZERO32 = bytes(32)
_BASE = b"\x09" + bytes(31)
# "expand 32-byte k"
_S0 = 0x61707865
_S1 = 0x3320646E
_S2 = 0x79622D32
_S3 = 0x6B206574


def _rounds(x):
    """20 Salsa20 rounds (10 double rounds) over 16 words; returns the words."""
    x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15 = x
    M = _M32
    for _ in range(10):
        # column round
        t = (x0 + x12) & M
        x4 ^= ((t << 7) | (t >> 25)) & M
        t = (x4 + x0) & M
        x8 ^= ((t << 9) | (t >> 23)) & M
        t = (x8 + x4) & M
        x12 ^= ((t << 13) | (t >> 19)) & M
        t = (x12 + x8) & M
        x0 ^= ((t << 18) | (t >> 14)) & M
        t = (x5 + x1) & M
        x9 ^= ((t << 7) | (t >> 25)) & M
        t = (x9 + x5) & M
        x13 ^= ((t << 9) | (t >> 23)) & M
        t = (x13 + x9) & M
        x1 ^= ((t << 13) | (t >> 19)) & M
        t = (x1 + x13) & M
        x5 ^= ((t << 18) | (t >> 14)) & M
        t = (x10 + x6) & M
        x14 ^= ((t << 7) | (t >> 25)) & M
        t = (x14 + x10) & M
        x2 ^= ((t << 9) | (t >> 23)) & M
        t = (x2 + x14) & M
        x6 ^= ((t << 13) | (t >> 19)) & M
        t = (x6 + x2) & M
        x10 ^= ((t << 18) | (t >> 14)) & M
        t = (x15 + x11) & M
        x3 ^= ((t << 7) | (t >> 25)) & M
        t = (x3 + x15) & M
        x7 ^= ((t << 9) | (t >> 23)) & M
        t = (x7 + x3) & M
        x11 ^= ((t << 13) | (t >> 19)) & M
        t = (x11 + x7) & M
        x15 ^= ((t << 18) | (t >> 14)) & M
        # row round
        t = (x0 + x3) & M
        x1 ^= ((t << 7) | (t >> 25)) & M
        t = (x1 + x0) & M
        x2 ^= ((t << 9) | (t >> 23)) & M
        t = (x2 + x1) & M
        x3 ^= ((t << 13) | (t >> 19)) & M
        t = (x3 + x2) & M
        x0 ^= ((t << 18) | (t >> 14)) & M
        t = (x5 + x4) & M
        x6 ^= ((t << 7) | (t >> 25)) & M
        t = (x6 + x5) & M
        x7 ^= ((t << 9) | (t >> 23)) & M
        t = (x7 + x6) & M
        x4 ^= ((t << 13) | (t >> 19)) & M
        t = (x4 + x7) & M
        x5 ^= ((t << 18) | (t >> 14)) & M
        t = (x10 + x9) & M
        x11 ^= ((t << 7) | (t >> 25)) & M
        t = (x11 + x10) & M
        x8 ^= ((t << 9) | (t >> 23)) & M
        t = (x8 + x11) & M
        x9 ^= ((t << 13) | (t >> 19)) & M
        t = (x9 + x8) & M
        x10 ^= ((t << 18) | (t >> 14)) & M
        t = (x15 + x14) & M
        x12 ^= ((t << 7) | (t >> 25)) & M
        t = (x12 + x15) & M
        x13 ^= ((t << 9) | (t >> 23)) & M
        t = (x13 + x12) & M
        x14 ^= ((t << 13) | (t >> 19)) & M
        t = (x14 + x13) & M
        x15 ^= ((t << 18) | (t >> 14)) & M
    return (x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15)


def _block(x):
    """One Salsa20 keystream block (64 bytes) for input words x."""
    y = _rounds(x)
    return struct.pack(
        "<16I", *[(y[i] + x[i]) & _M32 for i in range(16)]
    )


def _key_words(key):
    if len(key) != 32:
        raise ValueError("key must be 32 bytes")
    return struct.unpack("<8I", key)


def hsalsa20(key, nonce16):
    """HSalsa20: 32-byte subkey from a 32-byte key and a 16-byte input."""
    k = _key_words(key)
    n = struct.unpack("<4I", nonce16)
    y = _rounds(
        (_S0, k[0], k[1], k[2], k[3], _S1, n[0], n[1],
         n[2], n[3], _S2, k[4], k[5], k[6], k[7], _S3)
    )
    return struct.pack("<8I", y[0], y[5], y[10], y[15], y[6], y[7], y[8], y[9])


def _salsa_words(subkey, nonce8):
    """Salsa20 input words for a 32-byte key and 8-byte nonce, counter 0."""
    k = _key_words(subkey)
    n = struct.unpack("<2I", nonce8)
    return [_S0, k[0], k[1], k[2], k[3], _S1, n[0], n[1],
            0, 0, _S2, k[4], k[5], k[6], k[7], _S3]


def _xor_into(out, off, data, pos, ks, kpos, take):
    """out[off+pos:][:take] = data[pos:][:take] XOR ks[kpos:][:take] (take <= 64)."""
    v = int.from_bytes(data[pos : pos + take], "little")
    v ^= int.from_bytes(ks[kpos : kpos + take], "little")
    out[off + pos : off + pos + take] = v.to_bytes(take, "little")


def _salsa_xor(x, block0, data, out, off):
    """out[off:] = data XOR keystream[32:], NaCl's secretbox layout.

    block0 is keystream block 0 (its first 32 bytes are the Poly1305 key,
    the rest encrypts data[:32]). Whole blocks are XORed as 16 words straight
    from the Salsa20 state into `out` (struct unpack_from/pack_into): no
    per-byte loop, and nothing bigger than a block is allocated, which keeps
    a fragmented MicroPython heap usable whatever the message size.
    """
    n = len(data)
    take = 32 if n > 32 else n
    if take:
        _xor_into(out, off, data, 0, block0, 32, take)
    pos = take
    ctr = 1
    M = _M32
    while pos < n:
        x[8] = ctr & M
        x[9] = ctr >> 32
        ctr += 1
        if n - pos >= 64:
            y = _rounds(x)
            d = struct.unpack_from("<16I", data, pos)
            struct.pack_into("<16I", out, off + pos,
                             *[((y[i] + x[i]) & M) ^ d[i] for i in range(16)])
            pos += 64
        else:
            _xor_into(out, off, data, pos, _block(x), 0, n - pos)
            pos = n


def _block_fast(x):
    st = bytearray(64)
    struct.pack_into("<16I", st, 0, *x)
    ks = bytearray(68)
    _v.block(st, ks, _v.STEPS)
    return bytes(memoryview(ks)[:64])


def _salsa_xor_fast(x, block0, data, out, off):
    """_salsa_xor with the viper core: same bytes, native 32-bit words."""
    n = len(data)
    take = 32 if n > 32 else n
    v = _v
    if take:
        v.xor(out, off, data, 0, block0, 32, take)
    pos = take
    if pos < n:
        st = bytearray(64)
        struct.pack_into("<16I", st, 0, *x)
        st[32:40] = b"\x01\x00\x00\x00\x00\x00\x00\x00"  # block counter 1
        ks = bytearray(68)
        steps = v.STEPS
        while pos < n:
            v.block(st, ks, steps)
            take = n - pos if n - pos < 64 else 64
            v.xor(out, off + pos, data, pos, ks, 0, take)
            pos += take


_v = None
if sys.implementation.name == "micropython":  # CPython never imports the viper module
    try:
        try:
            from . import nacl_viper as _v
        except ImportError:
            import nacl_viper as _v  # port-ok: flat install (nacl_viper.py beside this file)
        _x = [_S0, 1, 2, 3, 0xFFFFFFFF, _S1, 5, 6, 0xFFFFFFFF, 7, _S2, 8, 9, 10, 0x80000000, _S3]
        _d = bytes(range(200))
        _o1 = bytearray(200)
        _o2 = bytearray(200)
        _salsa_xor(list(_x), _block(_x), _d, _o1, 0)
        _salsa_xor_fast(_x, _block_fast(_x), _d, _o2, 0)
        if _block_fast(_x) == _block(_x) and _o1 == _o2:
            _block = _block_fast
            _salsa_xor = _salsa_xor_fast
        else:
            _v = None
        del _x, _d, _o1, _o2
    except Exception:  # no viper module, or no native emitter on this build
        _v = None


def poly1305(key, msg):
    """Poly1305 one-time authenticator: 16-byte tag of msg under a 32-byte key."""
    r = int.from_bytes(key[:16], "little") & _R_CLAMP
    s = int.from_bytes(key[16:32], "little")
    p = _P1305
    h = 0
    n = len(msg)
    full = n - n % 16
    hibit = 1 << 128
    for i in range(0, full, 16):
        h = (h + int.from_bytes(msg[i : i + 16], "little") + hibit) * r
        h = (h & _M130) + 5 * (h >> 130)  # partial reduction keeps h small
    if full < n:
        h = (h + int.from_bytes(msg[full:], "little") + (1 << (8 * (n - full)))) * r
    h %= p
    return ((h + s) & _M128).to_bytes(16, "little")


def _check_nonce(nonce):
    if len(nonce) != 24:
        raise ValueError("nonce must be 24 bytes")


def secretbox(msg, nonce, key):
    """XSalsa20-Poly1305 seal: 16-byte tag followed by the ciphertext."""
    _check_nonce(nonce)
    x = _salsa_words(hsalsa20(key, nonce[:16]), nonce[16:24])
    block0 = _block(x)
    out = bytearray(16 + len(msg))
    _salsa_xor(x, block0, msg, out, 16)
    out[:16] = poly1305(block0[:32], memoryview(out)[16:])
    return bytes(out)


def secretbox_open(box, nonce, key):
    """XSalsa20-Poly1305 open: the plaintext, or ValueError on a bad tag."""
    _check_nonce(nonce)
    if len(box) < 16:
        raise ValueError("box shorter than its tag")
    box = memoryview(box)
    c = box[16:]
    x = _salsa_words(hsalsa20(key, nonce[:16]), nonce[16:24])
    block0 = _block(x)
    tag = poly1305(block0[:32], c)
    if int.from_bytes(tag, "little") ^ int.from_bytes(box[:16], "little"):
        raise ValueError("message forged or corrupt")
    out = bytearray(len(c))
    _salsa_xor(x, block0, c, out, 0)
    return bytes(out)


def _x25519_pure(k, u):
    """Montgomery ladder on big ints: k (clamped) times u, both ints < 2^255."""
    p = _P
    x1 = u
    x2, z2, x3, z3 = 1, 0, x1, 1
    swap = 0
    for t in range(254, -1, -1):
        bit = (k >> t) & 1
        if swap ^ bit:
            x2, x3 = x3, x2
            z2, z3 = z3, z2
        swap = bit
        a = x2 + z2
        b = x2 - z2
        aa = a * a % p
        bb = b * b % p
        e = aa - bb
        da = (x3 - z3) * a % p
        cb = (x3 + z3) * b % p
        t1 = da + cb
        t2 = da - cb
        x3 = t1 * t1 % p
        z3 = x1 * (t2 * t2 % p) % p
        x2 = aa * bb % p
        z2 = e * (aa + _A24 * e) % p
    if swap:
        x2, z2 = x3, z3
    return x2 * pow(z2, p - 2, p) % p


_xv = None
if sys.implementation.name == "micropython":  # CPython never imports the viper ladder
    try:
        try:
            from . import nacl_x25519 as _xv
        except ImportError:
            import nacl_x25519 as _xv  # port-ok: flat install (nacl_x25519.py beside this file)
        if not _xv.agrees():
            _xv = None
    except Exception:  # no viper module, no native emitter, or no heap to compile it
        _xv = None


def x25519(scalar, point):
    """RFC 7748 X25519: scalar (32 bytes, clamped here) times the u-coordinate point."""
    if len(scalar) != 32 or len(point) != 32:
        raise ValueError("X25519 inputs must be 32 bytes")
    k = int.from_bytes(scalar, "little")
    k = (k & ((1 << 254) - 8)) | (1 << 254)
    u = int.from_bytes(point, "little") & ((1 << 255) - 1)
    return (_xv.ladder if _xv else _x25519_pure)(k, u).to_bytes(32, "little")


class PureCrypto:
    """The port crypto interface (see ports/cpython/crypto.py) in pure Python.

    Keys are 32 bytes, nonces 24; boxes are tag (16) + ciphertext, as
    libsodium's *_easy functions. Failures raise ValueError.
    """

    name = "pure"

    def __init__(self, random=None):
        if random is None:
            random = _urandom
        self._random = random

    def random(self, n):
        if self._random is None:
            raise ValueError("no random source: pass random= to PureCrypto")
        b = self._random(n)
        if len(b) != n:
            raise ValueError("random source returned %d bytes, wanted %d" % (len(b), n))
        return bytes(b)

    def keypair(self):
        """-> (public, secret); the secret is 32 random bytes, as libsodium's."""
        secret = self.random(32)
        return x25519(secret, _BASE), secret

    def public(self, secret):
        return x25519(secret, _BASE)

    def beforenm(self, public, secret):
        """Shared key = HSalsa20(X25519(secret, public), 0); a low-order peer key raises."""
        s = x25519(secret, public)
        if s == _ZERO32:
            raise ValueError("weak public key (shared secret is zero)")
        return hsalsa20(s, _ZERO16)

    # box_afternm/secretbox are the same construction (crypto_box_afternm
    # is crypto_secretbox); aliases keep the class small in RAM
    box_afternm = secretbox = staticmethod(secretbox)
    open_afternm = secretbox_open = staticmethod(secretbox_open)

    def box(self, msg, nonce, public, secret):
        return secretbox(msg, nonce, self.beforenm(public, secret))

    def open(self, box, nonce, public, secret):
        return secretbox_open(box, nonce, self.beforenm(public, secret))
