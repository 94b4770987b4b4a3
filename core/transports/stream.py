"""The stream engine: moves bytes between a non-blocking stream and its Connection.

One engine per connection (tcp, ipc, or a serial link channel). It reads
into the context's shared receive buffer while its session is under
RCVHWM, writes whatever the connection has to send, runs the connection's
timers (handshake deadline, heartbeats) and turns the connection's control
events into calls on its session. Delivery policy, statistics and monitor
events are the session's (core/session.py); the protocol is the
connection's (core/zmtp/connection.py).
"""
from .. import constants as C
from .._compat import const, ticks_ms
from ..session import _count
from ..zmtp.connection import Connection

# the connection's numbers (core/zmtp/connection.py; tests/unit/test_engine.py
# checks they match): private consts take no slot in this module's dict on a device
_READY = const(2)
_EV_READY = const(1)
_EV_SUBSCRIPTION = const(2)
_EV_ZAP_REQUEST = const(3)
_EV_ERROR = const(4)
_CAUSE_AUTH = const(2)
_CAUSE_HEARTBEAT = const(3)
_WARNING = const(30)  # logging's level numbers
# monitor events a close out of memory needs: constants.py would look a name
# up (and allocate) the first time it is used
_EVENT_DISCONNECTED = const(0x200)
_EVENT_HANDSHAKE_FAILED_NO_DETAIL = const(0x800)
_MAX_READS = const(16)  # reads per readiness event, so one busy peer cannot starve others


class Engine:
    # defaults as class attributes: an instance holds only what differs
    timer = None  # handshake deadline, then heartbeats
    _want_w = None
    # input the decoder could not take yet (a device's frame pool was out of
    # slots): kept in a buffer of this connection's, fed again when slots free
    held = None
    held_end = 0  # (held_pos, where to resume in it, is set with it by _hold: no default)
    dirty = False  # in ctx.dirty, with a batch to write
    reading = True
    active = True  # registered with the reactor, stream open
    writev = None  # scatter/gather writes, where the port has them and the stream is a socket

    def __init__(self, session, stream, config, origin):
        sock = session.sock
        ctx = sock.ctx
        self.session = session
        self.sock = sock
        self.ctx = ctx
        self.port = ctx.port
        self.reactor = ctx.reactor
        self.stream = stream
        self.origin = origin  # the Listener or Connecter that made it (None once orphaned)
        # set here, not left to the class: close() sets it, and a device out
        # of heap must be able to close (its first set could need heap)
        self.active = True
        self.fd = stream.fileno()
        self.pobj = stream
        if hasattr(stream, "sendmsg"):  # CPython: never on a device
            self.writev = getattr(self.port, "writev", None)
        self.conn = Connection(config, ticks_ms(), session, session.peer_address)
        try:
            if sock.options.handshake_ivl > 0:
                self.timer = self.reactor.call_later(sock.options.handshake_ivl, self._tick, self)
            sock.engines.add(self)
            if not getattr(stream, "virtual", False):  # serial channels: the driver signals readiness
                self.reactor.add(self, write=True)
        except MemoryError:  # half made: nothing of it may stay behind (the caller closes the stream)
            self.active = False
            if self.timer is not None:
                self.timer.cancel()
            sock.engines.discard(self)
            try:
                self.reactor.remove(self)
            except (KeyError, ValueError, OSError):
                pass
            raise
        self.flush()

    @property
    def ready(self):
        return self.conn.state == _READY

    def has_output(self):
        return len(self.conn.pending_output()) > 0

    # -- reactor callbacks -------------------------------------------------
    def on_event(self, readable, writable, error):
        if readable or error:
            self.read()
        if writable and self.active:
            self.flush()

    def read(self):
        port = self.port
        rx = self.ctx.rx
        conn = self.conn
        session = self.session
        if self.held_end and not self._feed_held():
            return
        for _ in range(_MAX_READS):
            if not self.active or not self.reading:
                break
            # the rest of a big body is read straight into it, not through rx
            view = conn.read_view(len(rx))
            into = rx if view is None else view
            try:
                n = port.read_into(self.stream, into)
            except OSError as e:
                self.close("read failed: %s" % e, C.EVENT_DISCONNECTED)
                return
            if n < 0:
                break
            if n == 0:
                self.close("peer closed the connection", C.EVENT_DISCONNECTED)
                return
            if view is None:
                k = conn.receive_data(rx, n, ticks_ms())
                if k < n:
                    self._hold(rx, k, n)
            else:
                conn.view_filled(n, ticks_ms())
            if conn.events is not None:
                self._events()
                if not self.active:
                    return
            if session.active:
                session.check_hwm()  # per chunk: may stop reading at RCVHWM
            if n < len(into):
                break
        if self.active:
            if self.timer is None and conn.peer_ttl > 0:
                self._schedule_timer()  # a PING announced the peer's TTL: watch it
            if conn.tx:
                self.flush()
            if session.active:
                session.check_hwm()
                self.ctx.wake_waiters()  # once per read, not per message

    def _hold(self, rx, k, n):
        """The pool ran out of slots at rx[k]: keep rx[k:n] (the shared buffer
        is the next reader's) and stop reading until a slot is back
        (Context.resume_stalled)."""
        held = self.held
        if held is None:
            held = self.held = bytearray(len(rx))  # once per connection, on its first stall
        self.port.copy(held, 0, rx, k, n - k)
        self.held_pos = 0
        self.held_end = n - k
        self.ctx.pool.stalled.append(self)
        self.pause_reading(True)

    def _feed_held(self):
        """Feed what was held back. -> True when all of it was taken."""
        end = self.held_end
        k = self.conn.receive_data(self.held, end, ticks_ms(), self.held_pos)
        if self.conn.events is not None:
            self._events()
        if k < end:
            self.held_pos = k
            if self.active and self not in self.ctx.pool.stalled:
                self.ctx.pool.stalled.append(self)
            return False
        self.held_pos = self.held_end = 0
        return self.active

    def _events(self):
        conn = self.conn
        while self.active:
            ev = conn.next_event()
            if ev is None:
                return
            kind, value = ev
            if kind == _EV_READY:
                self._ready()
            elif kind == _EV_SUBSCRIPTION:
                self.session.on_subscription(value[0], value[1])
            elif kind == _EV_ZAP_REQUEST:
                self.ctx.zap_request(self, value)
            elif kind == _EV_ERROR:
                cause, reason = value
                self.flush()  # an ERROR command may be waiting
                if cause == _CAUSE_HEARTBEAT:
                    _count(self.sock, "heartbeat_timeouts", 1)
                    self.close(reason, C.EVENT_DISCONNECTED)
                elif cause == _CAUSE_AUTH:
                    self.close("authentication failed: %s" % reason, C.EVENT_HANDSHAKE_FAILED_AUTH)
                else:
                    _count(self.sock, "protocol_errors", 1)
                    # after the handshake it is a broken stream, not a failed handshake
                    ev = C.EVENT_DISCONNECTED if conn.peer_type else C.EVENT_HANDSHAKE_FAILED_PROTOCOL
                    self.close("protocol error: %s" % reason, ev)

    def _ready(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if not self.session.connection_ready(self, self.conn):
            _count(self.sock, "protocol_errors", 1)
            self.close("socket refused the peer (duplicate identity)", C.EVENT_HANDSHAKE_FAILED_PROTOCOL)
            return
        if not self.active:
            return  # writing what was queued for the peer failed: closed already
        if self.origin is not None:
            self.origin.on_connected()
        self._schedule_timer()

    def zap_reply(self, frames):
        """The ZAP handler answered this connection's request."""
        if not self.active:
            return
        self.conn.zap_reply(frames)
        self.flush()
        if self.conn.events is not None:
            self._events()

    # -- writing ---------------------------------------------------------------
    def output_queued(self, total):
        """The session queued a message; `total` bytes now wait. With an I/O
        thread, back-to-back messages are written in batches of the port's
        batch_bytes (one syscall per batch, not per message); a smaller batch
        waits in ctx.dirty for the next reactor turn: the I/O thread's (woken
        here) or that of a thread about to block (Context.flush_dirty). A
        cooperative context writes at once (ctx.batch 0): no thread could
        write a burst's tail while the program does something else."""
        if total >= self.ctx.batch:
            if not self._want_w:  # else the reactor writes when the socket drains
                self.flush()
        elif not self.dirty:
            self.dirty = True
            ctx = self.ctx
            ctx.dirty.append(self)
            ctx.kick()

    def flush(self):
        """Write what the connection queued; watch for writability if some is left."""
        if not self.active:
            return
        conn = self.conn
        session = self.session
        out = conn.pending_output()
        while out:
            try:
                n = self.port.write(self.stream, out)
            except OSError as e:
                self.close("write failed: %s" % e, C.EVENT_DISCONNECTED)
                return
            if n <= 0:
                break
            conn.output_sent(n, ticks_ms())
            if session.conn is conn:
                session.on_sent(n)
        if not out and self.origin is None and self.sock.closed:
            self.close(None)  # a lingering connection has flushed
            return
        want = len(out) > 0
        if want != self._want_w:  # (a call only on a change: every write asks)
            self._watch_writable(want)

    def _watch_writable(self, want):
        if want != self._want_w:
            self._want_w = want
            self.reactor.set_interest(self, self.reading, want)

    def write_frame(self, data, more):
        """A big data frame, written at once from the caller's buffer after what
        the connection holds (one sendmsg, no copy); only what the socket did not
        take is queued. Tried even while waiting for writability: the socket may
        have drained since the reactor last looked, and a refused try costs one
        syscall where queueing costs a copy of the frame.
        -> False when the frame must be queued by the session (no writev, or the
        mechanism boxes it)."""
        if self.writev is None or not self.active:
            return False
        if memoryview(data).nbytes != len(data):  # port-ok: CPython only (writev needs socket.sendmsg)
            return False  # not a flat byte buffer
        conn = self.conn
        bufs = conn.gather(data, more)
        if bufs is None:
            return False
        try:
            n = self.writev(self.stream, bufs)
        except OSError:
            n = 0  # the next flush meets the error and closes
        old = len(bufs[0]) if len(bufs) == 3 else 0
        conn.gather_sent(n, bufs, ticks_ms())
        if old:
            self.session.on_sent(min(n, old))
            n = max(0, n - old)
        self.session.wrote_direct(more, n)
        self._watch_writable(len(conn.tx) > 0)
        return True

    def pause_reading(self, paused):
        """Flow control: stop reading while the receive queue is at RCVHWM."""
        if self.reading == (not paused) or not self.active:
            return
        if not paused and self.held_end and self in self.ctx.pool.stalled:
            return  # still waiting for a pool slot: Context.resume_stalled resumes it
        self.reading = not paused
        self.reactor.set_interest(self, self.reading, self.has_output())
        if self.reading:
            self.read()

    # -- timers ------------------------------------------------------------
    def _schedule_timer(self):
        d = self.conn.next_deadline()
        if d < 0:
            return
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.timer = self.reactor.call_later(max(0, d - ticks_ms()), self._tick, self)

    def _tick(self):
        """The timer: the handshake deadline until READY, then heartbeats."""
        self.timer = None
        if not self.active:
            return
        if self.conn.state < _READY:  # GREETING or HANDSHAKE: the deadline passed
            self.close("handshake not finished within HANDSHAKE_IVL", C.EVENT_HANDSHAKE_FAILED_NO_DETAIL)
            return
        self.conn.tick(ticks_ms())
        self.flush()
        if self.conn.events is not None:
            self._events()
        if self.active:
            self._schedule_timer()

    # -- teardown ----------------------------------------------------------
    def on_fault(self, exc):
        """A reactor callback of this connection raised (core/reactor.py): a
        MemoryError (a device out of heap) or a bug. Only this connection
        closes, counted; nothing here allocates for a MemoryError."""
        oom = isinstance(exc, MemoryError)
        if oom:
            _count(self.sock, "out_of_memory", 1)
        else:
            self.ctx.log(_WARNING, "%s: internal error, closing the connection: %r", self.session.peer_address, exc)
        ready = self.session.engine is self
        self.close("out of memory" if oom else "internal error",
                   _EVENT_DISCONNECTED if ready else _EVENT_HANDSHAKE_FAILED_NO_DETAIL)

    def close(self, reason=None, event=C.EVENT_DISCONNECTED):
        """Close the connection. Needs no memory (a device out of heap closes
        connections to get some back): the log line is skipped when it cannot
        be made."""
        if not self.active:
            return
        self.active = False
        if reason:
            try:
                self.ctx.log(10, "%s: closing connection: %s", self.session.peer_address, reason)  # DEBUG
            except MemoryError:
                pass
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.dirty:
            self.dirty = False
            if self in self.ctx.dirty:
                self.ctx.dirty.remove(self)
        stalled = self.ctx.pool.stalled
        if self in stalled:
            try:
                stalled.remove(self)
            except MemoryError:
                pass  # MicroPython, heap locked: the list could not shrink; self is gone all the same
        try:
            self.reactor.remove(self)
        except (KeyError, ValueError, OSError):
            pass
        try:
            self.stream.close()
        except OSError:
            pass
        self.conn.close()
        self.sock.engines.discard(self)
        try:
            self.session.connection_lost(self, event, reason)
        finally:  # the connecter redials even when the session could not finish (heap locked)
            if self.origin is not None:
                self.origin.on_engine_closed(self)


def refuse(sock, stream, what, peer):
    """Close a stream we could not afford an engine for (counted in
    out_of_memory), and say so if that is affordable."""
    try:
        stream.close()
    except OSError:
        pass
    _count(sock, "out_of_memory", 1)
    try:
        sock.ctx.log(_WARNING, "no memory for %s %s: refused", what, peer)
    except MemoryError:
        pass
