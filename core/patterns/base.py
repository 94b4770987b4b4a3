"""Shared pattern machinery: the pipe list, fair queueing and load balancing."""
from .. import constants as C
from ..errors import ZMQError


class Pattern:
    """Base policy. send_frame returns True when the frame was taken, False
    when it must wait (HWM, no peer); recv_frame returns (buf, n, more) or None
    (a tuple or a queue's reused list: unpack it at once)."""

    lb_fast = False  # load-balancing types: the socket's send fast path may use fast_out
    fq_fast = False  # fair-queueing types: the socket's recv fast path may use fast_in
    fast_out = None  # the only pipe, when lb_fast and it takes fast_send (Socket.send); a Pub itself
    fast_in = None  # the only pipe, when fq_fast and it is a stream session (Socket.recv)
    plain_in = True  # on_pipe_frame only queues the frame (a session then queues it itself)

    prune_wanted = False  # a detached pipe stayed for its unread messages (_prune)

    def __init__(self, sock):
        self.sock = sock
        self.pipes = []
        # the pipes that have a whole message, in the order they got one (their
        # queues append themselves: FrameQueue.push): fair queueing takes the
        # first and sends it to the back, without looking at idle pipes
        self.ready = []
        self.fq_current = None
        self.lb_next = 0
        self.lb_current = None
        self.dropped = 0

    # -- pipes ---------------------------------------------------------------
    def attach(self, pipe):
        self.pipes.append(pipe)
        self.track(pipe)
        self.pipes_changed()
        return True

    def track(self, pipe):
        """Join the pipe's queue to the ready list (every attach calls it)."""
        q = pipe.inq
        q.owner = pipe
        q.ready = self.ready
        q.listed = q.listed  # its own attribute from now on: FrameQueue.push sets it, maybe out of heap
        if q.msgs > 0 and not q.listed:
            q.listed = True
            self.ready.append(pipe)

    def pipes_changed(self):
        """Keep fast_out and fast_in right: the socket's send and recv fast paths use them directly."""
        pipes = self.pipes
        p = pipes[0] if len(pipes) == 1 and pipes[0].fast_ok else None
        if self.lb_fast:
            self.fast_out = p
        if self.fq_fast:
            self.fast_in = p

    def detach(self, pipe):
        pipe.inq.drop_partial(self.sock.ctx.pool)
        if self.lb_current is pipe:
            # a message half sent to this pipe: lb_send drops its remaining
            # frames (the pipe is inactive); they must never reach another peer
            st = self.sock.stats
            st["dropped_disconnect"] = st.get("dropped_disconnect", 0) + 1
        if pipe.inq.msgs == 0 and pipe in self.pipes:
            try:
                self.pipes.remove(pipe)
            except MemoryError:
                pass  # MicroPython, heap locked: the list could not shrink; the pipe is gone
        elif pipe in self.pipes:
            try:
                self.prune_wanted = True  # a pipe with whole messages left stays until they are read
            except MemoryError:
                pass  # (its first set takes heap: fq_recv still drops the pipe after its last message)
        self.pipes_changed()


    def pipe_ready(self, pipe):
        """A new connection is ready under an attached pipe (after a reconnect)."""

    def on_pipe_frame(self, pipe, more, buf, n):
        """(A pattern that overrides this sets plain_in = False.)"""
        pipe.inq.push(buf, n, more)

    def on_subscription(self, pipe, topic, on):
        pass

    # -- fair queue ----------------------------------------------------------
    def fq_peek(self):
        """The pipe fair queueing takes the next message from, or None (the
        ready list's first pipe that still has one; stale entries leave)."""
        ready = self.ready
        while ready:
            p = ready[0]
            if p.inq.msgs > 0:
                return p
            ready.pop(0)
            p.inq.listed = False
        return None

    def fq_recv(self):
        p = self.fq_current
        if p is None:
            p = self.fq_peek()
            if p is None:
                if self.prune_wanted:
                    self._prune()
                return None
        self.last_pipe = p  # (before the pop: its first set takes heap, which may be gone)
        got = p.inq.pop()
        if got[2]:
            self.fq_current = p
        else:
            self.fq_current = None
            ready = self.ready
            if ready and ready[0] is p:  # its turn is over: to the back, or out
                ready.pop(0)
                if p.inq.msgs > 0:
                    ready.append(p)
                else:
                    p.inq.listed = False
            if p.active:
                p.consumed()
            elif p.inq.msgs == 0 and p in self.pipes:
                self.pipes.remove(p)
                self.pipes_changed()
        return got

    def fq_has(self):
        if self.fq_current is not None:
            return True
        for p in self.ready:
            if p.inq.msgs > 0:
                return True
        return False

    def _prune(self):
        """Forget detached pipes whose messages were all read (in place: a
        device must not need memory to give memory back)."""
        self.prune_wanted = False
        pipes = self.pipes
        i = len(pipes)
        while i:
            i -= 1
            p = pipes[i]
            if not p.active:
                if p.inq.msgs == 0:
                    try:
                        pipes.pop(i)
                    except MemoryError:
                        pass  # MicroPython, heap locked: the list could not shrink; the pipe is gone
                    self.pipes_changed()
                else:
                    self.prune_wanted = True

    # -- load balance --------------------------------------------------------
    def lb_send(self, data, more):
        p = self.lb_current
        if p is None:
            pipes = self.pipes
            count = len(pipes)
            for k in range(count):
                i = (self.lb_next + k) % count
                q = pipes[i]
                if q.active and q.can_send():
                    p = q
                    self.lb_next = i + 1
                    break
            else:
                return False
        if p.active:
            p.write(data, more)
        self.lb_current = p if more else None
        return True

    def lb_has(self):
        if self.lb_current is not None:
            return True
        for p in self.pipes:
            if p.active and p.can_send():
                return True
        return False

    # -- the API -----------------------------------------------------------
    def send_frame(self, data, more):
        raise ZMQError(C.ENOTSUP, "this socket type cannot send")

    def recv_frame(self):
        raise ZMQError(C.ENOTSUP, "this socket type cannot receive")

    def readable(self):
        return False

    def writable(self):
        return False
