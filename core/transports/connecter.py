"""connect() on a stream transport (tcp, ipc): dial, and redial with
RECONNECT_IVL backoff until disconnect() or close(). Each stream that opens
gets an Engine; every engine of this connecter feeds the same Session, so
what the socket sends while the peer is away waits for the next connection
(queue on connect, IMMEDIATE=0)."""
from .._compat import const
from ..endpoint import format_endpoint
from .stream import Engine, _count, refuse

# monitor events (libzmq's numbers, core/constants.py)
_EVENT_CONNECTED = const(0x1)
_EVENT_CONNECT_DELAYED = const(0x2)
_EVENT_CONNECT_RETRIED = const(0x4)
_DEBUG = const(10)  # log levels (logging's numbers)
_EVENT_CLOSED = const(0x80)


class Redialer:
    """The reconnect policy shared by every transport's connecter: RECONNECT_IVL,
    doubled up to RECONNECT_IVL_MAX, reset once a handshake succeeds. A
    subclass defines dial()."""

    failed = 0  # errno of the last dial that failed: logged once per cause

    def __init__(self, sock, address):
        self.sock = sock
        self.ctx = sock.ctx
        self.address = address
        self.closed = False
        self.lingering = False
        self.engine = None
        self.timer = None
        self.ivl = sock.options.reconnect_ivl
        # the session that outlives the connections (queue on connect), or None:
        # then each connection gets a session of its own, joining the pattern when ready
        self.session = sock.queue_on_connect(address)

    def on_connected(self):
        self.ivl = self.sock.options.reconnect_ivl  # handshake done: reset backoff
        self.failed = 0

    def on_engine_closed(self, engine):
        self.engine = None
        self.retry()

    def retry(self):
        if self.closed or self.timer is not None:
            return
        ivl = self.sock.options.reconnect_ivl
        if ivl < 0:  # reconnection disabled: the peer is gone for good
            if self.session is not None and self.session.conn is None:
                self.session.close()
            return
        delay = self.ivl
        imax = self.sock.options.reconnect_ivl_max
        if imax > ivl:
            self.ivl = min(self.ivl * 2, imax)
        self.sock.monitor_event(_EVENT_CONNECT_RETRIED, self.address, delay)
        try:
            self.timer = self.ctx.reactor.call_later(delay, self._redial, self)
        except MemoryError:  # no heap for a timer: retry() again on the next turns
            d = self.ctx.reactor.deferred
            if self not in d:
                d.append(self)

    def _redial(self):
        self.timer = None
        self.dial()

    def start_engine(self, stream, fd):
        """A stream is open: run ZMTP on it. -> the engine, or None (no memory)."""
        self.sock.monitor_event(_EVENT_CONNECTED, self.address, fd)
        try:
            config = self.sock.connection_config()
            session = self.session or self.sock.new_session(self.address)
            self.engine = Engine(session, stream, config, self)
        except MemoryError:
            refuse(self.sock, stream, "the connection to", self.address)
            self.retry()
            return None
        return self.engine

    def close_lingering(self, linger):
        """The socket closes: what still waits for a connection (queued on
        connect) is delivered within `linger` ms, as libzmq's LINGER, before
        this connecter stops. -> the live engine when there is nothing to wait
        for (the socket lingers or closes it), else None."""
        s = self.session
        if linger == 0 or s is None or s.outq is None or not s.outq.msgs:
            return self.close()
        from .lingering import Lingering  # loaded only when a close has to wait

        self.lingering = True  # its engines are its own until the queue is out
        item = Lingering(self)
        self.ctx.lingering.append(item)
        if linger > 0:
            self.ctx.reactor.call_later(linger, item.close)
        return None

    def close(self):
        """Stop redialing. -> the live engine, for the socket to linger or close."""
        self.closed = True
        s = self.session
        if s is not None:
            s.persistent = False  # leaves the pattern with its connection
            if s.conn is None:
                s.close()  # nothing to linger for: leave the pattern now
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        e, self.engine = self.engine, None
        if e is not None:
            e.origin = None
        return e


class Connecter(Redialer):
    """Dials a tcp or ipc endpoint: a non-blocking connect watched by the reactor."""

    def __init__(self, sock, ep):
        super().__init__(sock, format_endpoint(ep))
        self.ep = ep
        self.active = False  # registered with the reactor while a connect is in progress
        self.reading = False
        self.stream = None
        self.fd = -1
        self.ctimer = None  # CONNECT_TIMEOUT of the connect in progress
        self.dial()

    def dial(self):
        if self.closed:
            return
        port = self.ctx.port
        o = self.sock.options
        try:
            if o.sndbuf >= 0 or o.rcvbuf >= 0 or o.tcp_keepalive >= 0:
                # only set where the port has tunes_streams (Socket.setsockopt)
                self.stream = port.connect(self.ep, o)
            else:
                self.stream = port.connect(self.ep)
        except OSError as e:
            if e.errno != self.failed:  # once, not every RECONNECT_IVL
                self.failed = e.errno
                self.ctx.log(_DEBUG, "connect to %s failed: %s", self.address, e)
            self.retry()
            return
        # (a MemoryError goes up: from a redial timer to the reactor, whose
        # guard calls on_fault, which drops this attempt and dials again)
        self.fd = self.stream.fileno()
        self.pobj = self.stream
        self.active = True
        self.ctx.reactor.add(self, write=True)
        self.sock.monitor_event(_EVENT_CONNECT_DELAYED, self.address, 0)
        if o.connect_timeout > 0 and self.ep.transport == "tcp":  # as libzmq's tcp_connecter
            self.ctimer = self.ctx.reactor.call_later(o.connect_timeout, self._timed_out, self)

    def _timed_out(self):
        """CONNECT_TIMEOUT: this attempt is given up, as a failed one."""
        self.ctimer = None
        if self.active:
            self.on_event(None, 0, 0)

    def on_event(self, readable, writable, error):
        t = self.ctimer
        if t is not None:
            t.cancel()
            self.ctimer = None
        stream, self.stream = self.stream, None
        err = readable is None or self.ctx.port.connect_error(stream)
        self.ctx.reactor.remove(self)
        self.active = False
        if err:
            _close(stream)
            self.sock.monitor_event(_EVENT_CLOSED, self.address, self.fd)  # as libzmq
            self.retry()
            return
        self.start_engine(stream, self.fd)

    def on_fault(self, exc):
        """A callback of this connecter raised (core/reactor.py): a dial that
        found no heap (counted), or a bug (logged). The attempt is dropped and
        the peer dialled again later."""
        if isinstance(exc, MemoryError):
            _count(self.sock, "out_of_memory", 1)
        else:
            self.ctx.log(30, "connect to %s: internal error: %r", self.address, exc)  # WARNING
        if self.active:
            self.active = False
            try:
                self.ctx.reactor.remove(self)
            except (KeyError, ValueError, OSError):
                pass
            stream, self.stream = self.stream, None
            if stream is not None:
                _close(stream)
        if self.engine is None:
            self.retry()

    def close(self):
        if self.active and self.stream is not None:
            self.active = False  # (a CONNECT_TIMEOUT timer then does nothing)
            try:
                self.ctx.reactor.remove(self)
            except (KeyError, ValueError, OSError):
                pass
            _close(self.stream)
            self.stream = None
        return super().close()


def _close(stream):
    try:
        stream.close()
    except OSError:
        pass

