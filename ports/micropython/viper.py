"""Viper fast paths (native code): shipped as .py, or as .mpy built with
mpy-cross -march for the board. port.py falls back to pure Python without it."""
import micropython


@micropython.viper
def copy(dst, doff: int, src, soff: int, n: int):
    """dst[doff:doff+n] = src[soff:soff+n], no allocation."""
    d = ptr8(dst)  # noqa: F821 - viper builtin
    s = ptr8(src)  # noqa: F821 - viper builtin
    i = 0
    while i < n:
        d[doff + i] = s[soff + i]
        i += 1
