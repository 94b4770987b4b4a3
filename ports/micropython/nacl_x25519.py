"""X25519's Montgomery ladder on the viper field arithmetic (MicroPython only).

nacl_pure imports this under MicroPython and uses ladder() when agrees()
holds: the field functions of x25519_viper.py (generated, 20 limbs of 13
bits in 32-bit words) against big ints on values at the limbs' bounds, so an
emitter that miscompiles them leaves the pure ladder in charge. One X25519 is
255 ladder steps of 16 calls and a 265-operation inversion: ~14 M Cortex-M3
instructions, a third of the big-int ladder's, allocating one workspace.
The steps are the same whatever the scalar (the swap is by mask); Python
itself promises no constant time. Kept apart from nacl_pure so that a board
compiling .py sources needs the heap for one module at a time.
"""
import struct

try:
    from . import x25519_viper as _v
except ImportError:
    import x25519_viper as _v  # port-ok: flat install (x25519_viper.py beside this file)

_P = (1 << 255) - 19
_A24 = 121665
_FE = 80  # bytes per field element


def _fe_put(buf, off, v):
    """Limbs of v (an int < 2^260) into buf at byte offset off."""
    for i in range(20):
        struct.pack_into("<I", buf, off + 4 * i, v & 0x1FFF)
        v >>= 13


def _fe_get(buf, off):
    """The int (< 2^260, not reduced) held at byte offset off."""
    v = 0
    for w in reversed(struct.unpack_from("<20I", buf, off)):
        v = (v << 13) + w
    return v


def ladder(k, u):
    """k (clamped) times u (< 2^255) -> the int X25519 result, as nacl_pure._x25519_pure.

    One 1,040-byte workspace; the memoryviews name its elements. Each
    ladder step makes the same 16 calls whatever the scalar's bits."""
    v = _v
    w = bytearray(13 * _FE)
    m = memoryview(w)
    p2 = m[0:160]  # x2 | z2 (cswap swaps both at once)
    p3 = m[160:320]  # x3 | z3
    x2, z2, x3, z3 = m[0:80], m[80:160], m[160:240], m[240:320]
    x1, a, b, c, d, aa, bb, da, cb = (m[i * 80:i * 80 + 80] for i in range(4, 13))
    _fe_put(w, 0, 1)
    _fe_put(w, 160, u)
    _fe_put(w, 240, 1)
    _fe_put(w, 320, u)
    kb = k.to_bytes(32, "little")
    mul = v.mul
    sqr = v.sqr
    addsub = v.addsub
    swap = 0
    for t in range(254, -1, -1):
        bit = (kb[t >> 3] >> (t & 7)) & 1
        v.cswap(p2, p3, swap ^ bit)
        swap = bit
        addsub(a, b, x2, z2)
        addsub(c, d, x3, z3)
        sqr(aa, a, 1)
        sqr(bb, b, 1)
        mul(da, d, a)
        mul(cb, c, b)
        addsub(x3, z3, da, cb)  # DA + CB, DA - CB
        sqr(x3, x3, 1)
        sqr(z3, z3, 1)
        mul(z3, z3, x1)
        v.sub(a, aa, bb)  # E = AA - BB
        mul(x2, aa, bb)
        v.mul_a24_add(b, aa, a)
        mul(z2, a, b)
    v.cswap(p2, p3, swap)
    # z2^(p-2) = z2^(2^255 - 21), ref10's chain: 254 squarings, 11 multiplications
    z, t0, t1, t2, t3 = z2, a, b, c, d
    sqr(t0, z, 1)  # 2
    sqr(t1, t0, 2)  # 8
    mul(t1, z, t1)  # 9
    mul(t0, t0, t1)  # 11
    sqr(t2, t0, 1)  # 22
    mul(t1, t1, t2)  # 2^5 - 1
    sqr(t2, t1, 5)
    mul(t1, t2, t1)  # 2^10 - 1
    sqr(t2, t1, 10)
    mul(t2, t2, t1)  # 2^20 - 1
    sqr(t3, t2, 20)
    mul(t2, t3, t2)  # 2^40 - 1
    sqr(t2, t2, 10)
    mul(t1, t2, t1)  # 2^50 - 1
    sqr(t2, t1, 50)
    mul(t2, t2, t1)  # 2^100 - 1
    sqr(t3, t2, 100)
    mul(t2, t3, t2)  # 2^200 - 1
    sqr(t2, t2, 50)
    mul(t1, t2, t1)  # 2^250 - 1
    sqr(t1, t1, 5)  # 2^255 - 2^5
    mul(t1, t1, t0)  # 2^255 - 21
    mul(x2, x2, t1)
    return _fe_get(w, 0) % _P


def agrees():
    """The viper field functions against big ints, on values whose limbs are
    at their largest (the overflow bounds) and on ordinary ones."""
    v = _v
    w = bytearray(4 * _FE)
    m = memoryview(w)
    r, s, x, y = m[0:80], m[80:160], m[160:240], m[240:320]
    p = _P
    big = (1 << 260) - 1
    for a, b in ((big, big), (_P - 1, 0x1234567 * 0x89ABCDEF ** 6), (19, big - (1 << 200))):
        _fe_put(w, 160, a)
        _fe_put(w, 240, b)
        v.mul(r, x, y)
        if _fe_get(w, 0) % p != a * b % p:
            return False
        v.sqr(r, x, 2)
        if _fe_get(w, 0) % p != pow(a, 4, p):
            return False
        v.addsub(r, s, x, y)
        if _fe_get(w, 0) % p != (a + b) % p or _fe_get(w, 80) % p != (a - b) % p:
            return False
        v.sub(r, y, x)
        if _fe_get(w, 0) % p != (b - a) % p:
            return False
        v.mul_a24_add(r, x, y)
        if _fe_get(w, 0) % p != (a + _A24 * b) % p:
            return False
        v.cswap(m[0:160], m[160:320], 1)
        if _fe_get(w, 0) != a or _fe_get(w, 240) % p != (a - b) % p:
            return False
    return True


