"""Viper fast path for PureCrypto's Salsa20 stream (MicroPython only).

On a 32-bit board a Salsa20 word does not fit a small int, so the pure
Python core allocates a big int for nearly every operation; these native
functions keep the words in 32-bit machine arithmetic instead. nacl_pure
imports this module only under MicroPython, checks it against the pure
code once, and falls back to pure Python if it is missing or disagrees.
Words are read and written in native byte order: little-endian on every
MicroPython target this runs on (the self-check catches any other).
"""
# ruff: noqa: F821  (ptr8, ptr32 and uint are viper builtins)
import micropython

# one Salsa20 double round as (target, a, b, shift): target ^= rotl(a + b, shift)
STEPS = bytes((
    4, 0, 12, 7, 8, 4, 0, 9, 12, 8, 4, 13, 0, 12, 8, 18,
    9, 5, 1, 7, 13, 9, 5, 9, 1, 13, 9, 13, 5, 1, 13, 18,
    14, 10, 6, 7, 2, 14, 10, 9, 6, 2, 14, 13, 10, 6, 2, 18,
    3, 15, 11, 7, 7, 3, 15, 9, 11, 7, 3, 13, 15, 11, 7, 18,
    1, 0, 3, 7, 2, 1, 0, 9, 3, 2, 1, 13, 0, 3, 2, 18,
    6, 5, 4, 7, 7, 6, 5, 9, 4, 7, 6, 13, 5, 4, 7, 18,
    11, 10, 9, 7, 8, 11, 10, 9, 9, 8, 11, 13, 10, 9, 8, 18,
    12, 15, 14, 7, 13, 12, 15, 9, 14, 13, 12, 13, 15, 14, 13, 18,
))


@micropython.viper
def block(st: ptr32, ks: ptr32, steps: ptr8):
    """ks[0:16] = Salsa20(st) (20 rounds + feed-forward); then st's counter += 1.

    ks needs 17 words: word 16 is scratch that cuts sums to 32 bits on
    64-bit builds (a ptr32 store truncates, its load zero-extends).
    """
    i = 0
    while i < 16:
        ks[i] = st[i]
        i += 1
    r = 0
    while r < 10:
        j = 0
        while j < 128:
            ks[16] = uint(ks[steps[j + 1]]) + uint(ks[steps[j + 2]])
            t = uint(ks[16])
            s = uint(steps[j + 3])
            ks[16] = (t << s) | (t >> (uint(32) - s))
            k = steps[j]
            ks[k] = uint(ks[k]) ^ uint(ks[16])
            j += 4
        r += 1
    i = 0
    while i < 16:
        ks[i] = uint(ks[i]) + uint(st[i])
        i += 1
    st[8] = uint(st[8]) + uint(1)
    if uint(st[8]) == uint(0):
        st[9] = uint(st[9]) + uint(1)


@micropython.viper
def xor(out: ptr8, ooff: int, data: ptr8, doff: int, ks: ptr8, koff: int, n: int):
    """out[ooff:ooff+n] = data[doff:doff+n] XOR ks[koff:koff+n]."""
    i = 0
    while i < n:
        out[ooff + i] = data[doff + i] ^ ks[koff + i]
        i += 1
