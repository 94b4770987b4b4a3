"""Stream transports (tcp, ipc): listeners that accept, connecters that dial
and redial with RECONNECT_IVL backoff. Each finished stream becomes an Engine."""
from . import constants as C
from .endpoint import format_endpoint
from .engine import Engine


class Listener:
    def __init__(self, sock, ep, lsock, address):
        self.sock = sock
        self.ctx = sock.ctx
        self.ep = ep
        self.lsock = lsock
        self.address = address  # the resolved endpoint string (LAST_ENDPOINT)
        self.active = True
        self.reading = True
        self.fd = lsock.fileno()
        self.pobj = lsock
        self.ctx.reactor.add(self)
        sock.monitor_event(C.EVENT_LISTENING, address, self.fd)

    def fileno(self):
        return self.fd

    def on_event(self, readable, writable, error):
        port = self.ctx.port
        for _ in range(64):
            try:
                got = port.accept(self.lsock)
            except OSError as e:
                self.sock.monitor_event(C.EVENT_ACCEPT_FAILED, self.address, 0)
                self.ctx.log("edgezmq: accept on %s failed: %s" % (self.address, e))
                return
            if got is None:
                return
            stream, peer = got
            self.sock.monitor_event(C.EVENT_ACCEPTED, self.address, stream.fileno())
            try:
                opts = self.sock.connection_options(True, peer)
                e = Engine(self.sock, stream, opts, None, peer)
            except MemoryError:
                # a device out of heap refuses this peer and keeps serving the others
                _refuse(self.ctx, stream, "no memory for a connection from %s" % peer)
                continue
            self.sock.engines.add(e)

    def close(self):
        if not self.active:
            return
        self.active = False
        self.ctx.reactor.remove(self)
        try:
            self.lsock.close()
        except OSError:
            pass
        self.ctx.port.unlink_ipc(self.ep)
        self.sock.monitor_event(C.EVENT_CLOSED, self.address, self.fd)


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
        self.sock.monitor_event(C.EVENT_CONNECT_DELAYED, self.address, 0)

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
        self.sock.monitor_event(C.EVENT_CONNECTED, self.address, self.fd)
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
        self.sock.monitor_event(C.EVENT_CONNECT_RETRIED, self.address, delay)
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
