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
long zf_open_run(void *open_fn, const unsigned char *buf, const long long *sizes, long n_boxes,
                 unsigned char *nonce, const unsigned char *k, unsigned long long *peer_nonce,
                 unsigned char *out, long long *res);
long zf_seal(void *box_fn, const unsigned char *data, size_t n, int flags, unsigned long long counter,
             unsigned char *nonce, const unsigned char *k, unsigned char *out);
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

/* CURVE MESSAGE boxes (RFC 26), with libsodium's crypto_box_open_easy_afternm
   and crypto_box_easy_afternm passed in as function pointers (pynacl's own
   copy of libsodium: nothing to link against here). */
typedef int (*zf_box_fn)(unsigned char *, const unsigned char *, unsigned long long,
                         const unsigned char *, const unsigned char *);

static unsigned long long zf_be64(const unsigned char *p)
{
    unsigned long long v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
    return v;
}

/* Open a run of MESSAGE command bodies, in order: box i is the sizes[i]
   bytes after box i - 1 in buf. nonce: 24 bytes, the first 16 the peer's
   direction prefix (the last 8 are set per box). *peer_nonce: the last short
   nonce accepted, advanced per box opened. Box i's plaintext lands in out
   (at most the run's size): res[4i] = its MORE flag, res[4i+1] and
   res[4i+2] = the data's start and end in out, res[4i+3] = its size.
   Stops before the first box that CurveMechanism.decode must see itself:
   not a MESSAGE, under 33 bytes, a nonce not above *peer_nonce, a forged
   box, or a boxed command (flags bit 1). -> boxes opened. */
long zf_open_run(void *open_fn, const unsigned char *buf, const long long *sizes, long n_boxes,
                 unsigned char *nonce, const unsigned char *k, unsigned long long *peer_nonce,
                 unsigned char *out, long long *res)
{
    zf_box_fn open = (zf_box_fn)open_fn;
    size_t pos = 0, o = 0;
    long i;
    for (i = 0; i < n_boxes; i++) {
        const unsigned char *b = buf + pos;
        size_t size = (size_t)sizes[i];
        if (size < 33 || memcmp(b, "\x07MESSAGE", 8) != 0) break;
        unsigned long long v = zf_be64(b + 8);
        if (v <= *peer_nonce) break;
        memcpy(nonce + 16, b + 8, 8);
        if (open(out + o, b + 16, size - 16, nonce, k) != 0) break;
        if (out[o] & 2) break;
        size_t m = size - 32;  /* flags byte + data */
        *peer_nonce = v;
        res[4 * i] = out[o] & 1;
        res[4 * i + 1] = (long long)(o + 1);
        res[4 * i + 2] = (long long)(o + m);
        res[4 * i + 3] = (long long)(m - 1);
        o += m;
        pos += size;
    }
    return i;
}

/* Seal flags (bits 0-1) + data[0:n] as one MESSAGE with short nonce counter,
   and write the whole ZMTP frame to out: its header (flags 0, as libzmq
   sends MESSAGE), "\x07MESSAGE", the nonce, the box. out holds 2n + 64
   bytes: the plaintext is staged after the frame. nonce: 24 bytes, the
   first 16 our direction's prefix. -> the frame's size, or -1. */
long zf_seal(void *box_fn, const unsigned char *data, size_t n, int flags, unsigned long long counter,
             unsigned char *nonce, const unsigned char *k, unsigned char *out)
{
    zf_box_fn box = (zf_box_fn)box_fn;
    size_t body = 8 + 8 + 16 + 1 + n, h;
    if (body < 256) {
        out[0] = 0;
        out[1] = (unsigned char)body;
        h = 2;
    } else {
        out[0] = 2;
        for (int i = 0; i < 8; i++) out[1 + i] = (unsigned char)((unsigned long long)body >> (56 - 8 * i));
        h = 9;
    }
    unsigned char *plain = out + h + body;
    memcpy(out + h, "\x07MESSAGE", 8);
    for (int i = 0; i < 8; i++) out[h + 8 + i] = nonce[16 + i] = (unsigned char)(counter >> (56 - 8 * i));
    plain[0] = (unsigned char)(flags & 3);
    memcpy(plain + 1, data, n);
    if (box(out + h + 16, plain, n + 1, nonce, k) != 0) return -1;
    return (long)(h + body);
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
