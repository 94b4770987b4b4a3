"""ZMTP frames: header encoding and a streaming decoder (sans-IO).

A frame is a flags byte (bit 0 MORE, bit 1 LONG, bit 2 COMMAND), a size
(1 byte, or 8 bytes big-endian when LONG) and a body. The decoder consumes
any chunk of the stream and never needs bytes to stay in the read buffer,
so the owner can always `readinto` its whole buffer. Sizes are checked
against the limit before a body buffer is taken (CVE-2019-6250 class).
"""
from .._compat import const
from ..errors import ProtocolError

FLAG_MORE = const(1)
FLAG_LONG = const(2)
FLAG_COMMAND = const(4)

_ST_FLAGS = const(0)
_ST_SIZE = const(1)
_ST_BODY = const(2)
_PREALLOC_MAX = const(1 << 20)


def header(flags, size):
    """Frame header bytes for a body of `size`."""
    if size < 256:
        return bytes((flags, size))
    return bytes((flags | FLAG_LONG,)) + size.to_bytes(8, "big")


_scan = None  # a port's batch frame scanner (ports/cpython/zmtpfast.py), or None


def install(scan_fn=None):
    """Use a port's scanner: scan_fn(decoder, data, pos, end) delivers the complete
    frames it finds at data[pos:] as feed() would and returns where it stopped."""
    global _scan
    _scan = scan_fn


class FrameDecoder:
    """Turns stream bytes into frames delivered to `sink`.

    sink.on_frame(flags, buf, n): a data or command frame whose body is
    buf[0:n]; buf comes from sink.alloc(n) (a pool slot or heap buffer) or
    is a fresh bytes object when the whole frame sat in the chunk.
    A frame bigger than the limits raises ProtocolError (libzmq closes the
    connection on a frame over MAXMSGSIZE).
    """

    def __init__(self, sink, limit=-1, command_limit=65536 + 64):
        self.sink = sink
        self.limit = limit  # MAXMSGSIZE for one frame, -1 = none
        self.command_limit = command_limit
        self.state = _ST_FLAGS
        self.flags = 0
        self.size = 0
        self.size_bytes = 0
        self.body = None
        self.grow = False
        self.got = 0
        # set by the engine on a device: short data frames are copied into a
        # free slot of this FramePool with copy(dst, doff, src, soff, n), so
        # the steady state allocates nothing (a bytes object per frame otherwise)
        self.pool = None
        self.copy = None

    def _check(self, flags, size):
        """Refuse a frame over the limits before anything is allocated for it."""
        if flags & FLAG_COMMAND:
            if size > self.command_limit:
                raise ProtocolError("command frame of %d bytes exceeds limit" % size)
        elif self.limit >= 0 and size > self.limit:
            raise ProtocolError("frame of %d bytes exceeds MAXMSGSIZE %d" % (size, self.limit))

    def feed(self, data, pos, end):
        """Consume data[pos:end]; frames go to the sink as they complete.
        -> where it stopped: `end`, or earlier on a device whose pool has no
        free slot for the next frame (the caller keeps the rest and feeds it
        again once a slot is back: no frame is ever taken from the heap)."""
        sink = self.sink
        scan = _scan
        if scan is not None and self.state == _ST_FLAGS:
            pos = scan(self, data, pos, end)
        pool = self.pool if self.copy is not None else None
        while pos < end:
            st = self.state
            if st == _ST_FLAGS:
                if pool is not None and not pool.nfree:
                    return pos
                flags = data[pos]
                if flags & 0xF8:
                    raise ProtocolError("reserved frame flag bits set (0x%02x)" % flags)
                pos += 1
                self.flags = flags
                if flags & FLAG_LONG:
                    self.size = 0
                    self.size_bytes = 8
                    self.state = _ST_SIZE
                    continue
                if pos >= end:
                    self.size_bytes = 1
                    self.size = 0
                    self.state = _ST_SIZE
                    return end
                size = data[pos]
                pos += 1
                # fast path: a short frame wholly inside this chunk
                if end - pos >= size:
                    self._check(flags, size)
                    sink.on_frame(flags, self._body(flags, data, pos, size), size)
                    pos += size
                    continue
                self._start_body(size)
            elif st == _ST_SIZE:
                if self.size_bytes == 8 and data[pos] & 0x80:
                    # as libzmq: a size above 2**63-1 is EMSGSIZE whatever MAXMSGSIZE says
                    raise ProtocolError("declared frame size exceeds 2**63-1")
                self.size = (self.size << 8) | data[pos]
                pos += 1
                self.size_bytes -= 1
                if self.size_bytes == 0:
                    size = self.size
                    # a long frame under 256 bytes is accepted, as libzmq does
                    if end - pos >= size:
                        self._check(self.flags, size)
                        sink.on_frame(self.flags, self._body(self.flags, data, pos, size), size)
                        pos += size
                        self.state = _ST_FLAGS
                        continue
                    self._start_body(size)
            else:  # _ST_BODY
                take = min(end - pos, self.size - self.got)
                if self.grow:
                    self.body += memoryview(data)[pos : pos + take]
                elif self.copy is not None:  # a device: no slice objects
                    self.copy(self.body, self.got, data, pos, take)
                else:  # (through body_view: a port may give the body as an unwritten bytes object)
                    self.body_view(0)[:take] = memoryview(data)[pos : pos + take]
                self.got += take
                pos += take
                if self.got == self.size:
                    body = self.body
                    self.body = None
                    self.state = _ST_FLAGS
                    sink.on_frame(self.flags, body, self.size)
                    if scan is not None:
                        pos = scan(self, data, pos, end)
        return end

    def _body(self, flags, data, pos, size):
        """A frame body that sat whole in the chunk: a pool slot when one is
        free (device), else one bytes copy (a bytearray slice copies twice)."""
        if size == 0:
            return b""  # no slot for an empty frame (a delimiter)
        pool = self.pool
        if pool is not None and pool.nfree and size <= pool.size and not flags & FLAG_COMMAND:
            buf = pool.take_slot()
            self.copy(buf, 0, data, pos, size)
            return buf
        return bytes(memoryview(data)[pos : pos + size])

    def body_view(self, least):
        """The unfilled rest of the body being received when it is `least` bytes or
        more, for the owner to read into directly (then body_filled); else None."""
        if self.state != _ST_BODY or self.grow or self.size - self.got < least:
            return None
        return memoryview(self.body)[self.got : self.size]

    def body_filled(self, n):
        """The owner read n bytes into body_view(): deliver the body once complete."""
        self.got += n
        if self.got == self.size:
            body = self.body
            self.body = None
            self.state = _ST_FLAGS
            self.sink.on_frame(self.flags, body, self.size)

    def _start_body(self, size):
        self.got = 0
        self.size = size
        self._check(self.flags, size)
        if size == 0:
            self.state = _ST_FLAGS
            self.sink.on_frame(self.flags, b"", 0)
            return
        # a huge declared size is not trusted with an allocation: the body
        # grows as bytes really arrive, so a lying peer costs only what it sends
        self.grow = size > _PREALLOC_MAX
        if self.grow:
            if size >> 47:  # beyond any address space: libzmq's allocation fails and it closes
                raise ProtocolError("frame of %d bytes cannot be allocated" % size)
            self.body = bytearray()
        elif self.flags & FLAG_COMMAND:
            self.body = bytearray(size)
        else:
            self.body = self.sink.alloc(size)
        self.state = _ST_BODY
