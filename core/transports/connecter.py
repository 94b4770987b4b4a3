"""Stream transports (tcp, ipc): connecters that dial and redial with
RECONNECT_IVL backoff, and listeners that accept (core/listener.py, loaded on
the first bind). Each finished stream becomes an Engine."""
from .._compat import const
from ..endpoint import format_endpoint
from .stream import Engine

# monitor events (libzmq's numbers, core/constants.py)
_EVENT_CONNECTED = const(0x1)
_EVENT_CONNECT_DELAYED = const(0x2)
_EVENT_CONNECT_RETRIED = const(0x4)


class Connecter:
    """Dials an endpoint and keeps it connected until disconnect/close."""

    def __init__(self, sock, ep):
        self.sock = sock
        self.ctx = sock.ctx
        self.ep = ep
        self.address = format_endpoint(ep)
        self.active = True
        self.closed = False
        self.reading = False
        self.stream = None
        self.engine = None
        self.timer = None
        self.fd = -1
        self.ivl = sock.options.reconnect_ivl
        self.dial()

    def fileno(self):
        return self.fd

    def dial(self):
        self.timer = None
        if self.closed:
            return
        try:
            self.stream = self.ctx.port.connect(self.ep)
        except OSError as e:
            self.ctx.log("edgezmq: connect to %s failed: %s" % (self.address, e))
            self.retry()
            return
        self.fd = self.stream.fileno()
        self.pobj = self.stream
        self.active = True
        self.ctx.reactor.add(self, write=True)
        self.sock.monitor_event(_EVENT_CONNECT_DELAYED, self.address, 0)

    def on_event(self, readable, writable, error):
        err = self.ctx.port.connect_error(self.stream)
        self.ctx.reactor.remove(self)
        self.active = False
        if err:
            try:
                self.stream.close()
            except OSError:
                pass
            self.stream = None
            self.retry()
            return
        self.sock.monitor_event(_EVENT_CONNECTED, self.address, self.fd)
        try:
            opts = self.sock.connection_options(False, self.address)
            self.engine = Engine(self.sock, self.stream, opts, self, self.address)
        except MemoryError:
            self.stream, stream = None, self.stream
            _refuse(self.ctx, stream, "no memory for the connection to %s" % self.address)
            self.retry()
            return
        self.sock.engines.add(self.engine)
        self.stream = None

    def on_connected(self):
        self.ivl = self.sock.options.reconnect_ivl  # handshake done: reset backoff

    def on_engine_closed(self, engine):
        self.engine = None
        if not self.closed:
            self.retry()

    def retry(self):
        if self.closed:
            return
        ivl = self.sock.options.reconnect_ivl
        if ivl < 0:
            return  # reconnection disabled
        delay = self.ivl
        imax = self.sock.options.reconnect_ivl_max
        if imax > ivl:
            self.ivl = min(self.ivl * 2, imax)
        self.sock.monitor_event(_EVENT_CONNECT_RETRIED, self.address, delay)
        self.timer = self.ctx.reactor.call_later(delay, self.dial)

    def close(self):
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
        if self.active and self.stream is not None:
            self.active = False
            try:
                self.ctx.reactor.remove(self)
            except (KeyError, ValueError, OSError):
                pass
            try:
                self.stream.close()
            except OSError:
                pass
        if self.engine is not None:
            self.engine.origin = None
            return self.engine
        return None


def _refuse(ctx, stream, why):
    """Close a stream we could not afford an engine for, and say so if we can."""
    try:
        stream.close()
    except OSError:
        pass
    try:
        ctx.log("edgezmq: %s: refused" % why)
    except MemoryError:
        pass
