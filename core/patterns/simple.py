"""PAIR, PUSH, PULL and DEALER: load balancing out, fair queueing in."""
from .base import Pattern


class Push(Pattern):
    lb_fast = True

    def send_frame(self, data, more):
        return self.lb_send(data, more)

    def writable(self):
        return self.lb_has()


class Pull(Pattern):
    fq_fast = True

    def recv_frame(self):
        return self.fq_recv()

    def readable(self):
        return self.fq_has()


class Dealer(Pattern):
    lb_fast = True
    fq_fast = True

    def send_frame(self, data, more):
        return self.lb_send(data, more)

    def writable(self):
        return self.lb_has()

    def recv_frame(self):
        return self.fq_recv()

    def readable(self):
        return self.fq_has()


class Pair(Dealer):
    """Exclusive: one peer at a time; later peers are turned away."""

    def attach(self, pipe):
        if any(p.active for p in self.pipes):
            return False
        return super().attach(pipe)
