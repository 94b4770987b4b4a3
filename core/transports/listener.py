"""The accepting side of the stream transports (tcp, ipc), loaded on the
first bind: a client's heap holds none of it (see core/transport.py)."""
from .. import constants as C
from .connecter import _refuse
from .stream import Engine


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
