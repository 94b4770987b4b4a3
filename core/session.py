"""Sessions: one peer as a socket's pattern sees it (libzmq's session_base and pipe).

A Pipe has an inbound FrameQueue bounded by RCVHWM (whole messages) and an
outbound side bounded by SNDHWM. Patterns only call the methods of Pipe:
can_send, write, send_subscription, consumed, pending, close (and a
Session's fast_send from Socket.send when `fast_ok`).

A Session is the pipe of a stream peer (tcp, ipc, serial). It owns the pipe
across the connections that come and go under it: the engine of the
current connection only moves bytes between its stream and its Connection.
- A socket that connects gets its session at once when its type queues on
  connect (IMMEDIATE=0, libzmq's default): messages sent before the peer is
  there, or while it reconnects, wait in the session (up to SNDHWM) and go
  out when the next connection is ready. Other sessions (IMMEDIATE=1, an
  accepted connection) join the pattern when their handshake succeeds and
  leave it with their connection.
- Statistics and monitor events of its connections are counted here.

CONFLATE (DEALER, PULL, PUSH, PUB, SUB, as libzmq's ypipe_conflate): a pipe
keeps only the last frame that arrived and the last one sent while the
connection is busy or away; HWMs do not apply.
"""
from . import constants as C
from .pool import FrameQueue

GATHER = 65536  # data frames this big are written from the caller's buffer (Engine.write_frame)
_CONFLATES = 0x1A6  # a bit per socket type CONFLATE applies to: PUB 1, SUB 2, DEALER 5, PULL 7, PUSH 8


class Pipe:
    """What a pattern sees of one peer. Defaults are class attributes: an
    instance holds only what differs (each instance attribute costs heap on
    a device)."""

    connected = True  # a live transport under it (a session between connections is not)
    active = True  # attached to the pattern
    identity = b""
    peer_minor = 1
    peer_identity = b""
    user_id = b""
    peer_address = ""
    subs = None  # PUB/XPUB: this subscriber's topics
    peer_meta = None  # the peer's READY metadata (Frame.get)
    conflate = False  # CONFLATE: only the last frame waits (set when the socket's type takes it)
    fast_ok = False  # takes fast_send (a stream Session does)

    def __init__(self, sock):
        self.sock = sock
        if sock.options.conflate and (_CONFLATES >> sock.socket_type) & 1:
            self.conflate = True
        self.inq = FrameQueue()

    def replace_queued(self):
        """CONFLATE: a frame arrives, so what waits unread is dropped."""
        q = self.inq
        pool = self.sock.ctx.pool
        while q.count:
            pool.give(q.pop()[0])
        q.msgs = q.partial = 0


class Session(Pipe):
    outq = None  # frames sent while no connection is ready (a FrameQueue when used)
    out_more = False  # inside a multipart message being sent
    drop_rest = False  # the connection died mid-message: drop the tail
    held = False  # the message being sent goes to outq (no connection, or CONFLATE)
    fast_ok = True  # the socket's send fast path may write here (not with CONFLATE)

    def __init__(self, sock, address, persistent):
        super().__init__(sock)
        # every attribute a connection sets exists from here (and ends, head,
        # written: _reset_counts): the instance table reaches its size now,
        # where the caller handles a MemoryError (a refused connection), and
        # never grows mid-handshake on a short heap; engine and conn are the
        # current connection's, once READY
        self.connected = self.active = False
        self.engine = self.conn = self.peer_meta = None
        self.peer_address = address
        self.persistent = persistent  # outlives its connections (a connecter's, IMMEDIATE=0)
        if self.conflate:
            self.fast_ok = False
        # where the messages queued on the connection end, as byte offsets of
        # its output since it became ready (written + what is pending); the
        # ones before `head` are written (no list shifting per message)
        self.ends = []
        self._reset_counts()

    def _reset_counts(self):
        """Forget the last connection's counts, in place: a connection that
        ends on a device out of heap must not need any memory."""
        ends = self.ends
        while ends:
            try:
                ends.pop()
            except MemoryError:
                pass  # MicroPython, heap locked: the list could not shrink; the item is gone
        self.head = 0
        self.written = 0

    # -- the connection under it (called by the engine) ------------------------
    def connection_ready(self, engine, conn):
        """The handshake succeeded. -> False when the socket refuses this peer."""
        sock = self.sock
        self.engine = engine
        self.conn = conn
        # copied when they differ from what the session has (an instance
        # attribute costs heap on a device; most peers leave the defaults)
        if conn.peer_minor != self.peer_minor:
            self.peer_minor = conn.peer_minor
        if conn.peer_identity != self.peer_identity:
            self.peer_identity = conn.peer_identity
        if conn.mech.user_id != self.user_id:
            self.user_id = conn.mech.user_id
        self.peer_meta = conn.mech.peer_meta
        self._reset_counts()
        self.connected = True
        if not self.active:
            if sock.closed or not sock.pattern.attach(self):
                self.engine = self.conn = None
                self.connected = False
                return False
            self.active = True
            flush = False
        else:
            flush = True
        sock.monitor_event(C.EVENT_HANDSHAKE_SUCCEEDED, self.peer_address, engine.fd)
        _count(sock, "connects", 1)
        if flush:  # after the event: a write that fails here reports its disconnect second
            self._flush_outq()
            if self.conn is not None:
                sock.pattern.pipe_ready(self)
        sock.ctx.wake_waiters()
        return True

    def connection_lost(self, engine, event, reason):
        """The engine closed (event: the monitor event that says why)."""
        sock = self.sock
        if engine is not self.engine:  # never got to READY
            if event != C.EVENT_DISCONNECTED:
                _count(sock, "handshake_failures", 1)
            sock.monitor_event(event, self.peer_address, 0)
            return
        if event != C.EVENT_DISCONNECTED:
            sock.monitor_event(event, self.peer_address, 0)
        _count(sock, "disconnects", 1)
        lost = len(self.ends) - self.head  # queued for the peer, not fully written
        if lost:
            _count(sock, "dropped_linger" if sock.closed else "dropped_disconnect", lost)
        self.engine = self.conn = None
        self.connected = False
        self._reset_counts()
        if self.out_more and not self.held:
            self.drop_rest = True  # the rest of that message must not reach the next peer
        if self.inq.partial:
            _count(sock, "dropped_disconnect", 1)  # a message cut short by the peer
            self.inq.drop_partial(sock.ctx.pool)
        sock.monitor_event(C.EVENT_DISCONNECTED, self.peer_address, engine.fd)
        if not self.persistent or sock.closed:
            self._detach()
        else:
            sock.ctx.wake_waiters()

    def _detach(self):
        if self.active:
            self.active = False
            self.sock.pattern.detach(self)
            self.sock.ctx.wake_waiters()

    def on_data(self, buf, n, more):
        """A data frame from the connection (the hot path)."""
        sock = self.sock
        if sock.closed:
            sock.ctx.pool.give(buf)  # lingering after close: input is discarded
            return
        if self.conflate:
            self.replace_queued()
        pattern = sock.pattern
        if pattern.plain_in:
            self.inq.push(buf, n, more)
        else:
            pattern.on_pipe_frame(self, more, buf, n)

    def on_subscription(self, topic, on):
        if self.active:
            self.sock.pattern.on_subscription(self, topic, on)

    # -- flow control ------------------------------------------------------------
    def consumed(self):
        """The application took a message: resume a paused reader at half RCVHWM."""
        e = self.engine
        if e is not None and not e.reading:
            hwm = self.sock.options.rcvhwm
            if hwm <= 0 or self.inq.msgs <= hwm >> 1:
                e.pause_reading(False)

    def check_hwm(self):
        """Stop reading from the connection while RCVHWM messages wait."""
        e = self.engine
        if e is not None and not self.conflate:
            hwm = self.sock.options.rcvhwm
            paused = hwm > 0 and self.inq.msgs >= hwm
            if paused == e.reading:  # a change (the call only then: twice per read)
                e.pause_reading(paused)

    def can_send(self):
        if not self.active:
            return False
        hwm = self.sock.options.sndhwm
        if hwm <= 0 or self.conflate:
            return True
        if self.conn is not None:
            return len(self.ends) - self.head < hwm
        q = self.outq
        return q is None or q.msgs < hwm

    # -- sending ------------------------------------------------------------
    def write(self, data, more):
        if self.drop_rest:
            if not more:  # the message cut by a disconnect is lost, and counted
                self.drop_rest = self.out_more = False
                _count(self.sock, "dropped_disconnect", 1)
            return
        conn = self.conn
        if not self.out_more:  # a message starts: held until a connection is ready
            # (IMMEDIATE=0), or with CONFLATE while the connection has unsent messages
            self.held = conn is None or (self.conflate and len(self.ends) > 0)
        self.out_more = bool(more)
        if self.held:
            q = self.outq
            if q is None:
                q = self.outq = FrameQueue()
            elif self.conflate:
                q.clear()  # only the last frame waits, as libzmq's
            q.push(bytes(data), len(data), more)
            return
        self._send(conn, data, more)

    def fast_send(self, data):
        """A whole one-frame message from the socket's send fast path (the
        only peer of a load-balancing socket, no multipart under way).
        -> False when the general path must take it (no connection, SNDHWM,
        a big frame)."""
        conn = self.conn
        if conn is None or len(data) >= GATHER:
            return False
        hwm = self.sock.options.sndhwm
        ends = self.ends
        if 0 < hwm <= len(ends) - self.head:
            return False
        total = conn.send_frame(data, 0)
        ends.append(self.written + total)
        e = self.engine
        if not e.dirty or total >= e.ctx.batch:  # (else the batch it joins is already queued)
            e.output_queued(total)
        return True

    def _send(self, conn, data, more, write=True):
        """Hand a frame to the connection; write=False from inside the engine's
        write loop (on_sent), which then writes it."""
        if write and len(data) >= GATHER and self.engine.write_frame(data, more):
            return
        total = conn.send_frame(data, more)
        if not more:
            self.ends.append(self.written + total)
            if write:
                self.engine.output_queued(total)  # once per message: its frames go in one write

    def wrote_direct(self, more, n):
        """Engine.write_frame sent a frame, n bytes of it at once (the rest is pending)."""
        if not more:
            self.ends.append(self.written + n + len(self.conn.pending_output()))
        if n:
            self.on_sent(n)

    def _flush_outq(self):
        q = self.outq
        if q is None:
            return
        self.outq = None
        while q.count and self.conn is not None:
            buf, n, more = q.pop()
            self._send(self.conn, buf, more)
        if q.count:
            self.outq = q  # the connection died meanwhile: the rest waits for the next
        else:
            self.held = False  # the rest of a message begun in outq follows it
        e = self.engine
        if e is not None:  # (a write that failed closed it)
            e.flush()

    def send_subscription(self, topic, on):
        conn = self.conn
        if conn is None:
            return  # sent with the others when a connection is ready (Sub.attach)
        conn.send_subscription(topic, on)
        e = self.engine
        if e is not None:
            e.flush()

    def on_sent(self, n):
        """The engine wrote n more bytes of the connection's output."""
        w = self.written = self.written + n
        ends = self.ends
        h = self.head
        k = len(ends)
        while h < k and ends[h] <= w:
            h += 1
        if h == k and k or h > 64 and h > k >> 1:
            # all written: empty the list; or now and then, drop what was written
            # (a slice object on MicroPython). Out of heap (MicroPython's clear()
            # reallocates), the entries stay behind the head until the next time:
            # the bytes went out, so the send that wrote them must not fail
            try:
                if h == k:
                    ends.clear()
                else:
                    del ends[:h]
                h = 0
            except MemoryError:
                pass
        elif h == k:
            h = 0
        self.head = h
        q = self.outq
        if h == len(ends) and self.conflate and q is not None and q.msgs:
            # the connection is idle: the last message held goes (the engine's
            # write loop, or the writability it watches, sends it)
            self.outq = None
            self.held = False
            buf, n, more = q.pop()
            self._send(self.conn, buf, more, False)

    def pending(self):
        """Whole messages not yet written."""
        q = self.outq
        return len(self.ends) - self.head + (q.msgs if q is not None else 0)

    def close(self, reason=None):
        """Drop this peer: its connection ends and the pattern forgets it;
        messages still queued for it are counted as dropped."""
        self.persistent = False
        q = self.outq
        if q is not None and q.msgs:
            _count(self.sock, "dropped_linger" if self.sock.closed else "dropped_disconnect", q.msgs)
            self.outq = None
        e = self.engine
        if e is not None:
            e.close(reason)
        self._detach()


def _count(sock, key, n):
    """Add n to one of sock's delivery counters (docs/reliability.md); the
    engine counts through this one too."""
    st = sock.stats
    st[key] = st.get(key, 0) + n
