"""Build the cffi fast paths for ZMTP: frame scanning and subscription matching.

    python ports/cpython/_zmtpfast_build.py      # -> ports/cpython/_zmtpfast*.so

`pip install .` builds it too (setup.py's cffi_modules, through ffi()).

Optional: edgezmq.zmtp.frames.FrameDecoder's pure-Python loop gives the same
results, and ports/cpython/zmtpfast.py falls back to it when this module is
not built (or EDGEZMQ_PURE=1).
"""
import os
import sys

CDEF = """
long zf_frames(const unsigned char *buf, size_t n, long long limit, long long command_limit,
               long long *out, size_t max_frames, size_t *used);
long zf_match(const unsigned char *data, size_t n, const unsigned char *table, size_t table_len);
"""

SOURCE = r"""
#include <stddef.h>
#include <string.h>

/* Split buf[0:n] into complete ZMTP frames, in order.
   For frame i: out[4i] = flags, out[4i+1] = body offset, out[4i+2] = the
   offset after the body, out[4i+3] = body size (the scanner slices the
   bodies out of one bytes object with map(): no Python loop per frame).
   Stops before the first frame the Python decoder must see itself: one not
   complete in buf, with reserved flag bits, a size of 2**63 or more, or over
   its limit (command_limit for commands, limit for data when limit >= 0).
   -> frames found (at most max_frames); *used = bytes they take. */
long zf_frames(const unsigned char *buf, size_t n, long long limit, long long command_limit,
               long long *out, size_t max_frames, size_t *used)
{
    size_t pos = 0;
    long k = 0;
    while ((size_t)k < max_frames && pos < n) {
        unsigned char flags = buf[pos];
        size_t p = pos + 1;
        unsigned long long size;
        if (flags & 0xF8) break;
        if (flags & 2) {
            if (n - p < 8 || (buf[p] & 0x80)) break;
            size = 0;
            for (int i = 0; i < 8; i++) size = (size << 8) | buf[p + i];
            p += 8;
        } else {
            if (p >= n) break;
            size = buf[p++];
        }
        if (size > n - p) break;
        if (flags & 4) {
            if (size > (unsigned long long)command_limit) break;
        } else if (limit >= 0 && size > (unsigned long long)limit) {
            break;
        }
        out[4 * k] = flags;
        out[4 * k + 1] = (long long)p;
        out[4 * k + 2] = (long long)(p + size);
        out[4 * k + 3] = (long long)size;
        k++;
        pos = p + (size_t)size;
    }
    *used = pos;
    return k;
}

/* Is some topic of table a prefix of data[0:n]? table holds the topics
   back to back, each as a 4-byte big-endian length and its bytes. -> 1 or 0. */
long zf_match(const unsigned char *data, size_t n, const unsigned char *table, size_t table_len)
{
    size_t i = 0;
    while (i + 4 <= table_len) {
        size_t len = ((size_t)table[i] << 24) | ((size_t)table[i + 1] << 16)
                   | ((size_t)table[i + 2] << 8) | table[i + 3];
        i += 4;
        if (len <= n && memcmp(data, table + i, len) == 0) return 1;
        i += len;
    }
    return 0;
}
"""


def ffi(name="edgezmq.ports.cpython._zmtpfast"):
    """The FFI for setup.py's cffi_modules: an optional extension, so an
    install without a C compiler skips it and keeps the pure-Python path."""
    from cffi import FFI

    f = FFI()
    f.cdef(CDEF)
    f.set_source(name, SOURCE, extra_compile_args=["-O2", "-std=c99"], optional=True)
    return f


def build(dest_dir, name="_zmtpfast"):
    """Compile into dest_dir; -> .so path."""
    from edgezmq.ports.cpython import _cffi_ext

    return _cffi_ext.build(name, CDEF, SOURCE, dest_dir)


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    print(build(sys.argv[1] if len(sys.argv) > 1 else here))
