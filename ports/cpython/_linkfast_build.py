"""Build the cffi fast path for the serial link framing (byte stuffing).

    python ports/cpython/_linkfast_build.py      # -> ports/cpython/_linkfast*.so

`pip install .` builds it too (setup.py's cffi_modules, through ffi()).

Optional: edgezmq.transports.serial.framing's pure-Python functions give the same results,
and ports/cpython/linkfast.py falls back to them when this module is not
built. CRC-32 needs no C here: CPython's binascii.crc32 already is C.
"""
import os
import sys

CDEF = """
long lf_stuff(const unsigned char *src, size_t n, unsigned char *dst, size_t cap);
long lf_unstuff(const unsigned char *src, size_t n, unsigned char *dst, size_t cap);
"""

SOURCE = r"""
#include <stddef.h>
#include <string.h>

/* Escape FLAG (0x7E) and ESC (0x7D) as ESC, byte ^ 0x20.
   -> bytes written, or -2 when cap is too small. */
long lf_stuff(const unsigned char *src, size_t n, unsigned char *dst, size_t cap)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = src[i];
        if (c == 0x7E || c == 0x7D) {
            if (cap - w < 2) return -2;
            dst[w++] = 0x7D;
            dst[w++] = c ^ 0x20;
        } else {
            if (w >= cap) return -2;
            dst[w++] = c;
        }
    }
    return (long)w;
}

/* Undo lf_stuff for a span without FLAG bytes.
   -> bytes written, -1 for a bad escape (or ESC last), -2 when cap is too small. */
long lf_unstuff(const unsigned char *src, size_t n, unsigned char *dst, size_t cap)
{
    size_t w = 0, i = 0;
    while (i < n) {
        const unsigned char *e = memchr(src + i, 0x7D, n - i);
        size_t run = (e ? (size_t)(e - src) : n) - i;
        if (run > cap - w) return -2;
        memcpy(dst + w, src + i, run);
        w += run;
        i += run;
        if (!e) break;
        if (i + 1 >= n) return -1;
        unsigned char c = src[i + 1] ^ 0x20;
        if (c != 0x7E && c != 0x7D) return -1;
        if (w >= cap) return -2;
        dst[w++] = c;
        i += 2;
    }
    return (long)w;
}
"""


def ffi(name="edgezmq.ports.cpython._linkfast"):
    """The FFI for setup.py's cffi_modules: an optional extension, so an
    install without a C compiler skips it and keeps the pure-Python path."""
    from cffi import FFI

    f = FFI()
    f.cdef(CDEF)
    f.set_source(name, SOURCE, extra_compile_args=["-O2", "-std=c99"], optional=True)
    return f


def build(dest_dir, name="_linkfast"):
    """Compile into dest_dir; -> .so path."""
    from edgezmq.ports.cpython import _cffi_ext

    return _cffi_ext.build(name, CDEF, SOURCE, dest_dir)


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    print(build(sys.argv[1] if len(sys.argv) > 1 else here))
