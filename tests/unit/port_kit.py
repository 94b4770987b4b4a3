"""A fake port for unit tests of sessions, patterns and engines: no sockets,
no threads, the test's clock.

- FakeStream: a non-blocking stream whose recv_into/send results are
  scripted (bytes, AGAIN, b"" for end of stream, an OSError to raise);
  what the engine wrote accumulates in `sent`.
- FakePoller: records the interest the reactor asks for; poll() returns
  the events a test queued (`script`).
- FakePort: the port contract the core uses (read_into: -1 when the stream
  would block, 0 at its end; write: 0 when it would block), with connect,
  accept and listen served from lists a test fills.
- make_context(): a real Context (io_threads=0, no waker) on a FakePort.
- Peer bytes: PEER_GREETING (libzmq 4.3's NULL greeting), ready_cmd(),
  msg() (a message's frames on the wire), and handshake_conn() / our_frames()
  to drive a real zmtp Connection from bytes.
"""
from edgezmq import constants as C
from edgezmq import patterns
from edgezmq.context import Context
from edgezmq.zmtp import metadata
from edgezmq.zmtp.connection import EV_READY, Connection
from edgezmq.zmtp.frames import header

AGAIN = object()  # a scripted "would block" (EAGAIN) for recv_into or send

# libzmq 4.3.5's greeting (NULL, not server)
PEER_GREETING = (b"\xff" + b"\x00" * 7 + b"\x01\x7f" + b"\x03\x01" + b"NULL" + b"\x00" * 16
                 + b"\x00" + b"\x00" * 31)


def ready_cmd(socket_type, **props):
    """The peer's READY command (a socket type's name in bytes, extra properties)."""
    body = b"\x05READY" + metadata.encode([(b"Socket-Type", socket_type)]
                                          + [(k.encode(), v) for k, v in props.items()])
    return header(4, len(body)) + body


def msg(*frames):
    """A message as a peer puts it on the wire (MORE on all frames but the last)."""
    out = b""
    for i, f in enumerate(frames):
        out += header(1 if i < len(frames) - 1 else 0, len(f)) + f
    return out


def parse_frames(data):
    """[(flags, body)] of a byte stream of frames (an independent decoder)."""
    out = []
    pos = 0
    while pos < len(data):
        flags = data[pos]
        if flags & 2:
            size = int.from_bytes(data[pos + 1:pos + 9], "big")
            pos += 9
        else:
            size = data[pos + 1]
            pos += 2
        out.append((flags, bytes(data[pos:pos + size])))
        pos += size
    return out


def data_frames(wire):
    """The data frames (flags, body) our side wrote, past greeting and commands."""
    assert wire[:1] == b"\xff", "the stream starts with our greeting"
    return [(f, b) for f, b in parse_frames(wire[64:]) if not f & 4]


class Clock:
    """The test's ticks_ms."""

    def __init__(self, now=100000):
        self.now = now

    def __call__(self):
        return self.now


class FakeStream:
    def __init__(self, fd=40, reads=None, sends=None):
        self.fd = fd
        self.reads = list(reads or [])  # bytes | AGAIN | b"" | an exception to raise; empty: AGAIN
        self.sends = list(sends or [])  # int (at most that many taken) | AGAIN | an OSError; empty: all
        self.sent = bytearray()
        self.closed = 0

    def fileno(self):
        return self.fd

    def recv_into(self, buf):
        if not self.reads:
            raise BlockingIOError()
        item = self.reads[0]
        if item is AGAIN:
            self.reads.pop(0)
            raise BlockingIOError()
        if isinstance(item, BaseException):  # an OSError, or a MemoryError (a device out of heap)
            self.reads.pop(0)
            raise item
        n = min(len(buf), len(item))
        buf[:n] = item[:n]
        if n == len(item):
            self.reads.pop(0)
        else:
            self.reads[0] = item[n:]
        return n

    def send(self, data):
        take = self.sends.pop(0) if self.sends else len(data)
        if take is AGAIN:
            raise BlockingIOError()
        if isinstance(take, OSError):
            raise take
        n = min(take, len(data))
        self.sent += bytes(data[:n])
        return n

    def pending_reads(self):
        return sum(len(x) for x in self.reads if isinstance(x, bytes))

    def close(self):
        self.closed += 1


class FakePoller:
    def __init__(self):
        self.interest = {}  # handler -> (read, write)
        self.calls = []
        self.script = []  # lists of (handler, r, w, e) for the next polls

    def register(self, h, read=True, write=False):
        self.calls.append(("register", h, read, write))
        self.interest[h] = (read, write)

    def modify(self, h, read=True, write=False):
        self.calls.append(("modify", h, read, write))
        self.interest[h] = (read, write)

    def unregister(self, h):
        self.calls.append(("unregister", h))
        del self.interest[h]

    def poll(self, timeout):
        return self.script.pop(0) if self.script else []


class FakePort:
    name = "fake"
    pool_count = 16
    pool_size = 256
    heap_ok = True
    rx_size = 4096
    default_io_threads = 0
    pool_small_frames = False
    batch_bytes = 0

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)
        self.logs = []
        self.connects = []  # what connect() returns next: a FakeStream or an OSError to raise
        self.connect_errors = {}  # stream -> SO_ERROR
        self.accepts = []  # what accept() returns next: (stream, peer) | None | an exception
        self.unlinked = []
        self._poller = FakePoller()

    # -- the reactor's pieces ------------------------------------------------------
    def poller(self):
        return self._poller

    def close_poller(self, p):
        pass

    def condition(self):
        return _NoLock()

    def waker(self):
        return None

    def start_io_thread(self, ctx):
        raise AssertionError("unit tests run no I/O thread")

    def log(self, level, msg, args=()):
        self.logs.append(msg % args if args else msg)

    # -- streams ------------------------------------------------------------------
    def read_into(self, s, buf):
        try:
            return s.recv_into(buf)
        except BlockingIOError:
            return -1

    def write(self, s, data):
        try:
            return s.send(data)
        except BlockingIOError:
            return 0

    def connect(self, ep):
        item = self.connects.pop(0)
        if isinstance(item, OSError):
            raise item
        return item

    def connect_error(self, s):
        return self.connect_errors.get(s, 0)

    def accept(self, lsock):
        if not self.accepts:
            return None
        item = self.accepts.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    def unlink_ipc(self, ep):
        self.unlinked.append(ep)

    @staticmethod
    def copy(dst, doff, src, soff, n):
        dst[doff:doff + n] = src[soff:soff + n]


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def notify_all(self):
        pass


def make_context(**port_kw):
    """A real Context on a FakePort: ctx.port.poller() is the FakePoller."""
    return Context(io_threads=0, port=FakePort(**port_kw))


class MonitorLog:
    """Stands in for a socket monitor: (event, value, address) as emitted."""

    def __init__(self, sock):
        self.events = []
        if not sock.monitors:  # a tuple until a first monitor
            object.__setattr__(sock, "monitors", [])
        sock.monitors.append(self)

    def emit(self, event, value, address):
        self.events.append((event, value, address))

    def stop(self):
        self.events.append(("stopped", 0, ""))

    def kinds(self):
        return [e for e, _, _ in self.events]


def handshake_conn(sock, sink, peer_type=None, **peer_props):
    """A real Connection of sock's, fed the peer's greeting and READY from
    bytes. -> conn; its pending output (our greeting and READY) is left in
    place, as an engine that had not written yet would have it."""
    conn = Connection(sock.connection_config(), 0, sink, "tcp://peer:1")
    if peer_type is None:
        peer_type = patterns.peer_names(sock.socket_type)[0]
    data = PEER_GREETING + ready_cmd(peer_type, **peer_props)
    conn.receive_data(data, len(data), 0)
    assert conn.next_event() == (EV_READY, None)
    return conn


__all__ = ["AGAIN", "C", "Clock", "FakePort", "FakeStream", "MonitorLog", "PEER_GREETING",
           "data_frames", "handshake_conn", "make_context", "msg", "parse_frames", "ready_cmd"]
