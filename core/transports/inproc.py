"""inproc://name: two sockets of one context joined by a pair of pipes, no wire
format. Loaded on the first inproc bind or connect.

A connect() before the bind queues (IMMEDIATE=0): the connecting socket gets
its pipe at once and what it sends waits there until a socket binds the
name; then both ends are joined and the queue is delivered.
"""
from .. import constants as C
from ..endpoint import Endpoint
from ..errors import ZMQError
from ..patterns import info
from ..pool import FrameQueue
from ..session import Pipe


def parse(rest, binding):
    if not rest:
        raise ZMQError(C.EINVAL, "inproc endpoint needs a name")
    return Endpoint("inproc", path=rest)


class InprocPipe(Pipe):
    name = None  # the connecting end: the name it connected to (disconnect)
    detached = False  # disconnected before the bind: only delivers what it queued

    def __init__(self, sock):
        super().__init__(sock)
        self.active = False  # until the pattern takes it
        self.peer = None
        self.outq = None  # frames sent before the peer bound (connect before bind)

    def on_frame(self, more, buf, n, conflate=False):
        if conflate or self.conflate:  # CONFLATE at either end: only the last frame waits
            self.replace_queued()
        self.sock.pattern.on_pipe_frame(self, more, buf, n)
        if not more:
            self.sock.ctx.wake_leader()  # the sender may be another thread

    def consumed(self):
        """The application took a message (no reading to resume here)."""

    def check_hwm(self):
        pass

    def can_send(self):
        if not self.active:
            return False
        if self.conflate:
            return self.peer is None or self.peer.active
        hwm = self.sock.options.sndhwm
        p = self.peer
        if p is None:  # not bound yet: queue up to SNDHWM
            q = self.outq
            return hwm <= 0 or q is None or q.msgs < hwm
        if not p.active:
            return False
        rhwm = p.sock.options.rcvhwm
        if hwm <= 0 or rhwm <= 0:
            return True
        return p.inq.msgs < hwm + rhwm

    def write(self, data, more):
        p = self.peer
        if p is None:
            q = self.outq
            if q is None:
                q = self.outq = FrameQueue()
            elif self.conflate:
                q.clear()
            q.push(bytes(data), len(data), more)
        elif p.active:
            p.on_frame(more, bytes(data), len(data), self.conflate)

    def send_subscription(self, topic, on):
        p = self.peer
        if p is not None and p.active:
            p.sock.pattern.on_subscription(p, bytes(topic), on)
            p.sock.ctx.wake_leader()

    def pending(self):
        q = self.outq
        return q.msgs if q is not None else 0

    def close(self, reason=None):
        for p in (self, self.peer):
            if p is not None and p.active:
                p.active = False
                p.sock.pattern.detach(p)
                p.sock.ctx.wake_waiters()


def bind(sock, ep, addr):
    ctx = sock.ctx
    name = ep.path
    if name in ctx.inproc:
        raise ZMQError(C.EADDRINUSE, "inproc://%s is already bound" % name)
    ctx.inproc[name] = sock
    if not sock.inproc_names:
        object.__setattr__(sock, "inproc_names", [])
    sock.inproc_names.append(name)
    for pipe in ctx.inproc_pending.pop(name, ()):
        if not pipe.sock.closed:
            _join(pipe, sock)
    return "inproc://" + name


def connect(sock, ep, addr):
    ctx = sock.ctx
    binder = ctx.inproc.get(ep.path)
    pipe = InprocPipe(sock)
    pipe.name = ep.path
    if binder is not None:
        _join(pipe, binder)
    else:
        if not sock.options.immediate and info(sock.socket_type)[4]:
            # queue on connect: the pipe joins the pattern now, its peer later
            pipe.active = sock.pattern.attach(pipe)
        ctx.inproc_pending.setdefault(ep.path, []).append(pipe)
    return None


def _join(a, binder):
    """Join connecter pipe `a` (attached already when it queued) with a new
    pipe on the binding socket, then deliver what `a` queued."""
    b = InprocPipe(binder)
    a.peer = b
    b.peer = a
    a.peer_identity = binder.options.identity
    b.peer_identity = a.sock.options.identity
    if not binder.pattern.attach(b):
        a.close()
        return
    b.active = True
    if not a.active and not a.detached:  # IMMEDIATE=1 or a type that does not queue: attach now
        if not a.sock.pattern.attach(a):
            b.close()
            return
        a.active = True
    a.sock.ctx.wake_waiters()
    q, a.outq = a.outq, None
    if q is not None:
        while q.count:
            buf, n, more = q.pop()
            b.on_frame(more, buf, n)
    if a.detached:
        b.close()  # the binder reads what was queued, then the pipe is gone


def unbind(sock, name):
    ctx = sock.ctx
    if ctx.inproc.get(name) is sock:
        del ctx.inproc[name]


def disconnect(sock, name):
    """Undo sock's connects to inproc://name (libzmq: its pipes end; what the
    peer has received stays readable there). -> False when there were none."""
    found = False
    pending = sock.ctx.inproc_pending.get(name)
    if pending:
        for p in [p for p in pending if p.sock is sock and not p.detached]:
            found = True
            p.close()
            if p.outq is not None and p.outq.msgs:
                p.detached = True  # as libzmq: a later binder still gets what it queued
            else:
                pending.remove(p)
        if not pending:
            del sock.ctx.inproc_pending[name]
    for p in list(sock.pattern.pipes):
        if p.active and getattr(p, "name", None) == name and p.sock is sock:
            p.close()
            found = True
    return found
