"""bind() on a stream transport (tcp, ipc): accept connections, each an Engine
with a session of its own. Loaded on the first bind: a client's heap holds
none of it."""
from .. import constants as C
from .._compat import const
from .stream import Engine, _count, refuse

_ACCEPTS = const(64)  # connections accepted per readiness event


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

    def on_event(self, readable, writable, error):
        port = self.ctx.port
        sock = self.sock
        for _ in range(_ACCEPTS):
            try:
                got = port.accept(self.lsock)
            except OSError as e:
                sock.monitor_event(C.EVENT_ACCEPT_FAILED, self.address, 0)
                self.ctx.log(30, "accept on %s failed: %s", self.address, e)  # WARNING
                return
            except MemoryError:
                # the port could not take the connection (MicroPython's accept()
                # may have taken it from the kernel before it failed to make
                # the socket object: that peer's handshake times out, and it
                # dials again); try again on the next readiness event
                _count(sock, "out_of_memory", 1)
                return
            if got is None:
                return
            stream, peer = got
            try:
                sock.monitor_event(C.EVENT_ACCEPTED, self.address, stream.fileno())
                Engine(sock.new_session(peer), stream, sock.connection_config(), None)
            except MemoryError:
                # a device out of heap refuses this peer and keeps serving the others
                refuse(sock, stream, "a connection from", peer)

    def on_fault(self, exc):
        """A callback raised (core/reactor.py): counted (or logged: a bug); the
        listener keeps listening."""
        if isinstance(exc, MemoryError):
            _count(self.sock, "out_of_memory", 1)
        else:
            self.ctx.log(30, "accept on %s: internal error: %r", self.address, exc)  # WARNING

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
