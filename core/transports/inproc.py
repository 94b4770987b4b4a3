"""inproc:// pipes: two sockets of one context joined without any wire
format. Loaded on the first inproc bind or connect (Context.inproc_*)."""
from ..pipe import Pipe


class InprocPipe(Pipe):
    def __init__(self, sock):
        super().__init__(sock)
        self.peer = None

    def on_frame(self, more, buf, n):
        self.sock.pattern.on_pipe_frame(self, more, buf, n)
        if not more:
            self.sock.ctx.wake_waiters()

    def consumed(self):
        """The application took a message (no reading to resume here)."""

    def can_send(self):
        p = self.peer
        if not self.active or p is None or not p.active:
            return False
        hwm = self.sock.options.sndhwm
        rhwm = p.sock.options.rcvhwm
        if hwm <= 0 or rhwm <= 0:
            return True
        return p.inq.msgs < hwm + rhwm

    def write(self, data, more):
        p = self.peer
        if p is not None and p.active:
            p.on_frame(more, bytes(data), len(data))

    def send_subscription(self, topic, on):
        p = self.peer
        if p is not None and p.active:
            p.sock.pattern.on_subscription(p, bytes(topic), on)
            p.sock.ctx.wake_waiters()

    def pending(self):
        return 0

    def close(self, reason=None):
        for p in (self, self.peer):
            if p is not None and p.active:
                p.active = False
                p.sock.detach_pipe(p)


def inproc_pair(a_sock, b_sock):
    """Connect two sockets of one context; both sides are attached at once."""
    a = InprocPipe(a_sock)
    b = InprocPipe(b_sock)
    a.peer = b
    b.peer = a
    a.peer_identity = b_sock.options.identity
    b.peer_identity = a_sock.options.identity
    return a, b
