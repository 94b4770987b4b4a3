"""Serial link framing: HDLC-like byte stuffing and a CRC-32 on every frame.

This module holds the per-byte work of the serial link, kept apart so that a
port can replace it with C (cffi on CPython) or viper code (MicroPython).
`stuff`, `unstuff` and `crc32` are module globals looked up at call time, so
`install()` swaps them for every caller; a replacement must give exactly the
same results as the pure-Python version below.

A frame on the wire (docs/serial-link.md):

    FLAG, escaped(body, CRC-32(body) little-endian), FLAG

where inside the escaped part FLAG (0x7E) and ESC (0x7D) are sent as
ESC, byte ^ 0x20.  ESC immediately followed by FLAG aborts a frame.
CRC-32 is the IEEE/zlib one (binascii.crc32).
"""
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


try:
    from binascii import crc32 as _crc32_native
except ImportError:  # a MicroPython build without binascii.crc32
    _crc32_native = None

FLAG = const(0x7E)
ESC = const(0x7D)
XOR = const(0x20)
CRC_LEN = const(4)
HEADER_LEN = const(4)
MIN_BODY = const(4)  # a header and no payload
# CRC-32 over (body + its little-endian CRC) always gives this constant.
CRC_RESIDUE = 0x2144DF1C

# Deframer.result codes besides a body length (> 0) and 0 (nothing yet).
ABORTED = const(-1)  # ESC FLAG: the sender gave the frame up
BAD_FRAME = const(-2)  # bad escape, too long, or shorter than header + CRC
CRC_ERROR = const(-3)

_FLAG_B = b"\x7e"
_ESC_B = b"\x7d"

_table = None


def crc32_py(data, crc=0):
    """Table-driven CRC-32 (IEEE 802.3, reflected, as zlib): the fallback."""
    global _table
    t = _table
    if t is None:
        t = []
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
            t.append(c)
        _table = t
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


crc32 = _crc32_native if _crc32_native is not None else crc32_py


def stuff(src, start, end, dst, dpos):
    """Copy src[start:end] to dst[dpos:], escaping FLAG and ESC; -> new dpos.

    src is bytes or bytearray (it needs find()); dst is a writable
    memoryview or bytearray with room for 2 * (end - start) bytes.
    Copies runs between special bytes in one slice each, so clean data
    costs a few calls, not a loop over every byte.
    """
    sv = memoryview(src)
    f = src.find(_FLAG_B, start, end)
    e = src.find(_ESC_B, start, end)
    while f >= 0 or e >= 0:
        if e < 0 or (0 <= f < e):
            k = f
            f = src.find(_FLAG_B, k + 1, end)
        else:
            k = e
            e = src.find(_ESC_B, k + 1, end)
        n = k - start
        if n:
            dst[dpos : dpos + n] = sv[start:k]
            dpos += n
        dst[dpos] = ESC
        dst[dpos + 1] = src[k] ^ XOR
        dpos += 2
        start = k + 1
    n = end - start
    if n:
        dst[dpos : dpos + n] = sv[start:end]
        dpos += n
    return dpos


def unstuff(src, start, end, dst, dpos):
    """Undo stuff() for src[start:end] (no FLAG inside) into dst[dpos:].

    -> new dpos, or -1 for a bad escape (ESC not followed by 0x5E or 0x5D,
    or ESC as the last byte), or -2 if dst is full.
    """
    sv = memoryview(src)
    cap = len(dst)
    while True:
        k = src.find(_ESC_B, start, end)
        if k < 0:
            k = end
        n = k - start
        if dpos + n > cap:
            return -2
        if n:
            dst[dpos : dpos + n] = sv[start:k]
            dpos += n
        if k == end:
            return dpos
        if k + 1 == end:
            return -1
        c = src[k + 1] ^ XOR
        if c != FLAG and c != ESC:
            return -1
        if dpos >= cap:
            return -2
        dst[dpos] = c
        dpos += 1
        start = k + 2


def install(stuff_fn=None, unstuff_fn=None, crc32_fn=None):
    """Replace the per-byte functions with a port's fast versions."""
    global stuff, unstuff, crc32
    if stuff_fn is not None:
        stuff = stuff_fn
    if unstuff_fn is not None:
        unstuff = unstuff_fn
    if crc32_fn is not None:
        crc32 = crc32_fn


def encode_frame(body):
    """-> the complete line bytes of one frame (flags, escaping, CRC)."""
    fe = FrameEncoder(len(body))
    fe.begin()
    fe.add(body, 0, len(body))
    fe.finish()
    return bytes(fe.pending())


class FrameEncoder:
    """Builds one escaped frame at a time in a preallocated buffer.

    begin(), add() the body in pieces, finish(); the owner then takes
    pending() and reports what it wrote with consume(). abort() ends a frame
    that is half on the wire with ESC FLAG so the receiver drops it.
    """

    def __init__(self, max_body):
        self.buf = bytearray(2 * (max_body + CRC_LEN) + 4)
        self.mv = memoryview(self.buf)
        self.pos = 0  # next byte to hand to the line
        self.end = 0  # end of the encoded bytes
        self._crc = 0
        self._crcb = bytearray(CRC_LEN)

    def idle(self):
        return self.pos >= self.end

    def begin(self):
        self.buf[0] = FLAG
        self.pos = 0
        self.end = 1
        self._crc = 0

    def add(self, src, start, end):
        if end > start:
            self._crc = crc32(memoryview(src)[start:end], self._crc)
            self.end = stuff(src, start, end, self.mv, self.end)

    def finish(self):
        c = self._crc
        b = self._crcb
        b[0] = c & 0xFF
        b[1] = (c >> 8) & 0xFF
        b[2] = (c >> 16) & 0xFF
        b[3] = (c >> 24) & 0xFF
        self.end = stuff(b, 0, CRC_LEN, self.mv, self.end)
        self.buf[self.end] = FLAG
        self.end += 1

    def pending(self):
        return self.mv[self.pos : self.end]

    def consume(self, n):
        self.pos += n
        if self.pos >= self.end:
            self.pos = self.end
            return True
        return False

    def abort(self):
        """Drop the rest of the current frame; -> True if it was cut mid-way."""
        pos = self.pos
        if pos >= self.end:
            return False
        if pos <= 1:  # at most the opening flag went out: nothing to undo
            self.pos = self.end = 0
            return False
        buf = self.buf
        if buf[pos - 1] == ESC:
            buf[0] = FLAG
            self.end = 1
        else:
            buf[0] = ESC
            buf[1] = FLAG
            self.end = 2
        self.pos = 0
        return True


class Deframer:
    """Splits the line byte stream into frame bodies and checks their CRC.

    feed(data, pos, end) consumes data up to and including the next FLAG and
    returns the position after it (or end); `result` then tells what closed:
    0 nothing, > 0 the length of a good body (header + payload, CRC
    stripped) now in `buf`, or ABORTED / BAD_FRAME / CRC_ERROR. The body
    stays valid until the next feed(). Memory is one preallocated buffer.
    """

    def __init__(self, max_body):
        self.buf = bytearray(max_body + CRC_LEN)
        self.mv = memoryview(self.buf)
        self.n = 0
        self.esc = False
        self.discard = False
        self.result = 0

    def feed(self, data, pos, end):
        self.result = 0
        j = data.find(_FLAG_B, pos, end)
        stop = end if j < 0 else j
        if stop > pos and not self.discard:
            self._absorb(data, pos, stop)
        if j < 0:
            return end
        self.result = self._close()
        return j + 1

    def _absorb(self, data, pos, stop):
        if self.esc:  # an ESC ended the previous chunk
            c = data[pos] ^ XOR
            if (c != FLAG and c != ESC) or self.n >= len(self.buf):
                self.discard = True
                return
            self.buf[self.n] = c
            self.n += 1
            self.esc = False
            pos += 1
            if pos == stop:
                return
        trailing = data[stop - 1] == ESC
        if trailing:
            stop -= 1
        r = unstuff(data, pos, stop, self.mv, self.n) if stop > pos else self.n
        if r < 0:
            self.discard = True
            return
        self.n = r
        self.esc = trailing

    def _close(self):
        n = self.n
        esc = self.esc
        bad = self.discard
        self.n = 0
        self.esc = False
        self.discard = False
        if bad:
            return BAD_FRAME
        if esc:
            return ABORTED
        if n == 0:
            return 0  # back-to-back flags
        if n < MIN_BODY + CRC_LEN:
            return BAD_FRAME
        if crc32(self.mv[:n]) != CRC_RESIDUE:
            return CRC_ERROR
        return n - CRC_LEN
