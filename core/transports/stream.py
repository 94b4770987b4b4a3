"""A ZMTP connection on a stream: moves bytes between a socket and Connection.

The engine owns one non-blocking stream (from the port), its Connection
state machine and, once the handshake finished, the Pipe that patterns see.
It reads while the socket's receive queue is under RCVHWM, writes whatever
the connection queued, and closes with a logged reason on any error.
"""
from .. import constants as C
from .._compat import const, ticks_ms
from ..errors import ProtocolError
from ..pipe import StreamPipe
from ..zmtp.connection import READY, Connection
from ..zmtp.frames import FLAG_MORE, header

_MAX_READS = const(16)  # reads per readiness event, so one busy peer cannot starve others
_COALESCE = const(16384)  # a batch of back-to-back messages is written once this big


class Engine:
    def __init__(self, sock, stream, opts, origin, peer_address):
        self.sock = sock  # the edgezmq Socket
        self.ctx = sock.ctx
        self.port = self.ctx.port
        self.reactor = self.ctx.reactor
        self.stream = stream
        self.origin = origin  # Listener or Connecter
        self.peer_address = peer_address
        self.active = True
        self.reading = True
        self.pipe = None
        self.rx = self.ctx.rx_buffer()
        self.fd = stream.fileno()
        self.pobj = stream
        # scatter/gather writes when the port has them and the stream is a socket
        self.writev = getattr(self.port, "writev", None) if hasattr(stream, "sendmsg") else None
        now = ticks_ms()
        self.conn = Connection(self, opts, now)
        self.handshake_timer = None
        if sock.options.handshake_ivl > 0:
            self.handshake_timer = self.reactor.call_later(sock.options.handshake_ivl, self._handshake_expired)
        self.hb_timer = None
        self._want_w = None
        self.dirty = False  # in ctx.dirty, with a batch to write
        self.flushed_turn = -1
        if not getattr(stream, "virtual", False):  # serial channels: the link handler signals readiness
            self.reactor.add(self, write=True)
        self.flush()

    def fileno(self):
        return self.fd

    # -- reactor callbacks -------------------------------------------------
    def on_event(self, readable, writable, error):
        if readable or error:
            self.read()
        if writable and self.active:
            self.flush()

    def read(self):
        port = self.port
        rx = self.rx
        conn = self.conn
        for _ in range(_MAX_READS):
            if not self.active or not self.reading:
                break
            # the rest of a big body is read straight into it, not through rx
            into = conn.decoder.body_view(len(rx)) or rx
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
            try:
                if into is rx:
                    conn.receive(rx, 0, n, ticks_ms())
                else:
                    conn.last_rx = ticks_ms()
                    conn.decoder.body_filled(n)
            except ProtocolError as e:
                self.flush()
                self.close("protocol error: %s" % e, C.EVENT_HANDSHAKE_FAILED_PROTOCOL)
                return
            except MemoryError:
                self.close("out of memory while receiving", C.EVENT_DISCONNECTED)
                return
            pipe = self.pipe
            if pipe is not None:
                pipe.check_hwm()  # per chunk: may stop reading at RCVHWM
            if n < len(into):
                break
        if conn.tx and self.active:
            self.flush()
        if self.hb_timer is None and self.active and conn.peer_ttl > 0:
            self._schedule_heartbeat()  # a PING announced the peer's TTL: watch it
        if self.pipe is not None and self.active:
            self.pipe.check_hwm()
            self.ctx.wake_waiters()  # once per read, not per message

    def flush_soon(self):
        """A message is queued. It is written at once, unless the application
        sends back to back on a context with an I/O thread: a second message
        in one reactor turn joins a batch, written when it reaches _COALESCE
        bytes or by the next turn (Context.flush_dirty): one syscall per
        batch instead of one per message, and no added latency for the first."""
        if self._want_w:
            return  # the socket is full: the reactor writes when it drains
        ctx = self.ctx
        if self.dirty:
            if len(self.conn.tx) >= _COALESCE:
                self.flush()
            return
        if ctx.io_thread is None or self.flushed_turn != ctx.turn:
            self.flushed_turn = ctx.turn
            self.flush()
            return
        self.dirty = True
        ctx.dirty.append(self)
        ctx.kick()

    def flush(self):
        """Write what the connection queued; watch for writability if some is left."""
        conn = self.conn
        if not self.active:
            return
        while conn.tx:
            try:
                n = self.port.write(self.stream, conn.tx)
            except OSError as e:
                self.close("write failed: %s" % e, C.EVENT_DISCONNECTED)
                return
            if n <= 0:
                break
            conn.sent(n, ticks_ms())
            if self.pipe is not None:
                self.pipe.on_sent(n)
        if not conn.tx and self.sock.closed and self.origin is None:
            self.close(None)  # a lingering connection has flushed
            return
        want = len(conn.tx) > 0
        if want != getattr(self, "_want_w", None):
            self._want_w = want
            self.reactor.set_interest(self, self.reading, want)

    def write_frame(self, data, more):
        """A big data frame, written at once from the caller's buffer after what tx
        holds (one sendmsg, no copy into tx); only what the socket did not take is
        queued. Tried even while waiting for writability: the socket may have
        drained since the reactor last looked (an I/O thread that could not get
        the lock while the application kept sending), and a refused try costs one
        syscall where queueing costs a copy of the frame. The pipe's accounting is
        done here. -> False when the frame must go through Connection.send_frame
        (no writev, CURVE boxes it)."""
        conn = self.conn
        if self.writev is None or not self.active or conn.mech.wraps:
            return False
        if memoryview(data).nbytes != len(data):  # port-ok: CPython only (writev needs socket.sendmsg)
            return False  # not a flat byte buffer
        hdr = header(more & FLAG_MORE, len(data))
        tx = conn.tx
        old = len(tx)
        try:
            n = self.writev(self.stream, (tx, hdr, data) if old else (hdr, data))
        except OSError:
            n = 0  # the next flush meets the error and closes
        now = ticks_ms()
        if n < old:
            if n:
                conn.sent(n, now)
            tx += hdr
            tx += data
        else:
            if old:
                conn.sent(old, now)
            k = n - old
            if k < len(hdr):
                tx += hdr[k:]
                tx += data
            elif k - len(hdr) < len(data):
                tx += memoryview(data)[k - len(hdr) :]
            conn.last_tx = now
        pipe = self.pipe
        pipe.queued += len(hdr) + len(data)
        if not more:
            pipe.ends.append(pipe.queued)
        if n:
            pipe.on_sent(n)
        want = len(tx) > 0
        if want != self._want_w:
            self._want_w = want
            self.reactor.set_interest(self, self.reading, want)
        return True

    def pause_reading(self, paused):
        """Flow control: stop reading while the receive queue is at RCVHWM."""
        if self.reading == (not paused) or not self.active:
            return
        self.reading = not paused
        self.reactor.set_interest(self, self.reading, len(self.conn.tx) > 0)
        if self.reading:
            self.read()

    # -- Connection owner callbacks ----------------------------------------------
    def alloc(self, n):
        buf = self.ctx.pool.take(n)
        if buf is None:
            raise ProtocolError("no buffer for a %d-byte frame" % n)
        return buf

    def on_oversize(self, n):
        return False

    def on_ready(self, conn):
        if self.handshake_timer is not None:
            self.handshake_timer.cancel()
            self.handshake_timer = None
        self.pipe = StreamPipe(self, conn)
        if getattr(self.port, "pool_small_frames", False) and not conn.mech.wraps:
            d = conn.decoder  # short frames into pool slots: no allocation per message
            d.pool = self.ctx.pool
            d.copy = self.port.copy
        if not self.sock.attach_pipe(self.pipe):
            self.pipe = None  # never attached: a failed handshake, not a disconnect
            raise ProtocolError("socket refused the peer (duplicate identity)")
        self.sock.monitor_event(C.EVENT_HANDSHAKE_SUCCEEDED, self.peer_address, self.fd)
        _count(self.sock, "connects", 1)
        if self.origin is not None:
            self.origin.on_connected()
        self._schedule_heartbeat()

    def on_frame(self, more, buf, n):
        if self.sock.closed:
            self.ctx.pool.give(buf)  # lingering after close: input is discarded
            return
        # StreamPipe.on_frame, inlined: this runs for every received frame
        self.sock.pattern.on_pipe_frame(self.pipe, more, buf, n)

    def on_subscription(self, topic, on):
        if self.pipe is not None:
            self.sock.pattern.on_subscription(self.pipe, topic, on)

    def on_zap_request(self, conn, frames):
        self.ctx.zap_request(self, frames)

    def zap_reply(self, frames):
        try:
            self.conn.zap_reply(frames)
        except ProtocolError as e:
            self.flush()
            self.close("authentication failed: %s" % e, C.EVENT_HANDSHAKE_FAILED_AUTH)
            return
        self.flush()

    # -- timers ------------------------------------------------------------
    def _handshake_expired(self):
        self.handshake_timer = None
        if self.active and self.conn.state != READY:
            self.close("handshake not finished within HANDSHAKE_IVL", C.EVENT_HANDSHAKE_FAILED_NO_DETAIL)

    def _schedule_heartbeat(self):
        d = self.conn.next_deadline()
        if d < 0:
            return
        if self.hb_timer is not None:
            self.hb_timer.cancel()
        now = ticks_ms()
        self.hb_timer = self.reactor.call_later(max(0, d - now), self._heartbeat)

    def _heartbeat(self):
        self.hb_timer = None
        if not self.active:
            return
        try:
            self.conn.tick(ticks_ms())
        except ProtocolError as e:
            _count(self.sock, "heartbeat_timeouts", 1)
            self.close(str(e), C.EVENT_DISCONNECTED)
            return
        self.flush()
        self._schedule_heartbeat()

    # -- teardown ----------------------------------------------------------
    def close(self, reason=None, event=C.EVENT_DISCONNECTED):
        if not self.active:
            return
        self.active = False
        if reason:
            self.ctx.log("edgezmq: %s: closing connection: %s" % (self.peer_address, reason))
        for t in (self.handshake_timer, self.hb_timer):
            if t is not None:
                t.cancel()
        try:
            self.reactor.remove(self)
        except (KeyError, ValueError, OSError):
            pass
        try:
            self.stream.close()
        except OSError:
            pass
        self.sock.engines.discard(self)
        self._account(event)
        if self.pipe is not None:
            self.sock.detach_pipe(self.pipe)
        if event != C.EVENT_DISCONNECTED or self.pipe is None:
            self.sock.monitor_event(event, self.peer_address, 0)
        if self.pipe is not None:
            self.sock.monitor_event(C.EVENT_DISCONNECTED, self.peer_address, self.fd)
        self.close_reason = reason
        if self.origin is not None:
            self.origin.on_engine_closed(self)

    def _account(self, event):
        """Count what dies with this connection (whole messages only)."""
        sock = self.sock
        if event == C.EVENT_HANDSHAKE_FAILED_PROTOCOL:
            _count(sock, "protocol_errors", 1)
        if self.pipe is None:
            if event != C.EVENT_DISCONNECTED:
                _count(sock, "handshake_failures", 1)
            return
        _count(sock, "disconnects", 1)
        lost = self.pipe.pending()  # queued for the peer, not fully written
        if lost:
            _count(sock, "dropped_linger" if sock.closed else "dropped_disconnect", lost)
        if self.pipe.inq.partial:
            _count(sock, "dropped_disconnect", 1)  # a message cut short by the peer


def _count(sock, key, n):
    st = sock.stats
    st[key] = st.get(key, 0) + n
