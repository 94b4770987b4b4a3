"""Pipes: a finished peer as the socket patterns see it.

A pipe has an inbound FrameQueue bounded by RCVHWM (in whole messages) and an
outbound side bounded by SNDHWM. StreamPipe sits on a ZMTP engine;
InprocPipe (core/inproc.py, loaded on first inproc use) pairs two sockets of
one context without any wire format.
"""
from .pool import FrameQueue

GATHER = 65536  # data frames this big are written by Engine.write_frame, from the caller's buffer


class Pipe:
    def __init__(self, sock):
        self.sock = sock
        self.inq = FrameQueue()
        self.identity = b""
        self.active = True
        self.peer_minor = 1
        self.peer_identity = b""
        self.user_id = b""
        self.peer_address = ""
        self.subs = None  # PUB/XPUB: this subscriber's topics
        self.dropped_in = 0


class StreamPipe(Pipe):
    def __init__(self, engine, conn):
        super().__init__(engine.sock)
        self.engine = engine
        self.conn = conn
        self.peer_minor = conn.peer_minor
        self.peer_identity = conn.peer_identity
        self.user_id = conn.mech.user_id
        self.peer_address = engine.peer_address
        self.ends = []  # absolute byte offsets where queued messages end
        self.queued = len(conn.tx)  # bytes queued since the pipe began (handshake leftovers too)
        self.written = 0

    def on_frame(self, more, buf, n):
        # RCVHWM and waking sleepers happen once per read, in Engine.read
        self.sock.pattern.on_pipe_frame(self, more, buf, n)

    def consumed(self):
        # only a paused reader has anything to do when the queue shrinks, and
        # it resumes at half RCVHWM, not at every message under the mark
        if not self.engine.reading:
            hwm = self.sock.options.rcvhwm
            if hwm <= 0 or self.inq.msgs <= hwm >> 1:
                self.engine.pause_reading(False)

    def check_hwm(self):
        hwm = self.sock.options.rcvhwm
        self.engine.pause_reading(hwm > 0 and self.inq.msgs >= hwm)

    def can_send(self):
        hwm = self.sock.options.sndhwm
        return self.active and (hwm <= 0 or len(self.ends) < hwm)

    def write(self, data, more):
        if len(data) >= GATHER and self.engine.write_frame(data, more):
            return
        conn = self.conn
        before = len(conn.tx)
        conn.send_frame(data, more)
        self.queued += len(conn.tx) - before
        if not more:
            self.ends.append(self.queued)
            self.engine.flush_soon()

    def send_subscription(self, topic, on):
        before = len(self.conn.tx)
        self.conn.send_subscription(topic, on)
        self.queued += len(self.conn.tx) - before
        self.engine.flush()

    def on_sent(self, n):
        self.written += n
        ends = self.ends
        while ends and ends[0] <= self.written:
            ends.pop(0)  # not `del ends[:k]`: a slice object per call on MicroPython

    def pending(self):
        return len(self.ends)

    def close(self, reason=None):
        self.engine.close(reason)
