"""PUB, SUB, XPUB, XSUB: fan-out with prefix subscriptions.

Subscriptions are reference-counted topic sets (a topic subscribed twice needs
two cancels). Matching is a prefix test over the set; removal is iterative.
"""
from .. import constants as C
from ..errors import ZMQError
from .base import Pattern

_match = None  # a port's prefix matcher for many topics (ports/cpython/zmtpfast.py), or None
_MANY = 8  # topics from which the port's matcher pays for its call


def install(match_fn=None):
    """Use a port's matcher: match_fn(topics, data) -> Topics.match's answer, for
    sets of _MANY topics or more; it may cache in topics.table (reset on change)."""
    global _match
    _match = match_fn


class Topics:
    """A multiset of subscription prefixes."""

    def __init__(self):
        self.counts = {}
        self.table = None  # the port matcher's packed copy of the topics

    def add(self, topic):
        """-> True when the topic is new."""
        c = self.counts.get(topic, 0)
        self.counts[topic] = c + 1
        if c == 0:
            self.table = None
        return c == 0

    def remove(self, topic):
        """-> True when the last reference went away."""
        c = self.counts.get(topic, 0)
        if c == 0:
            return False
        if c == 1:
            del self.counts[topic]
            self.table = None
            return True
        self.counts[topic] = c - 1
        return False

    def match(self, data, n=-1):
        """Does data (or data[:n], a pool slot on a device) start with a topic?"""
        counts = self.counts
        if b"" in counts:
            return True
        if 0 <= n != len(data):  # compared in place: a slice would allocate
            for t in counts:
                if _starts(data, n, t):
                    return True
            return False
        if _match is not None and len(counts) >= _MANY:
            return _match(self, data)
        for t in counts:
            if data[: len(t)] == t:
                return True
        return False

    def __len__(self):
        return len(self.counts)


def _starts(data, n, t):
    k = len(t)
    if k > n:
        return False
    i = 0
    while i < k:
        if data[i] != t[i]:
            return False
        i += 1
    return True


class Pub(Pattern):
    plain_in = False  # on_pipe_frame: subscriptions of 3.0 peers and XSUB

    def __init__(self, sock):
        super().__init__(sock)
        self.targets = []  # the subscribers of the multipart message being sent (reused)
        self.in_msg = False
        self.fast_out = self  # Socket.send's fast path hands one-frame messages to fast_send

    def attach(self, pipe):
        pipe.subs = Topics()
        self.pipes.append(pipe)
        self.track(pipe)
        return True

    def detach(self, pipe):
        if pipe in self.pipes:
            self.pipes.remove(pipe)
        if pipe in self.targets:
            self.targets.remove(pipe)
        for t in list(pipe.subs.counts) if pipe.subs else ():
            self._changed(t, False, pipe.subs.counts[t])

    def _changed(self, topic, on, times=1):
        pass

    def on_pipe_frame(self, pipe, more, buf, n):
        # 3.0 peers (and XSUB) send subscriptions as data: \x01topic / \x00topic
        if n and not more and not getattr(pipe, "_cont", False):
            if buf[0] == 1:
                self.on_subscription(pipe, bytes(buf[1:n]), True)
            elif buf[0] == 0:
                self.on_subscription(pipe, bytes(buf[1:n]), False)
            else:
                self.on_other_message(pipe, bytes(buf[:n]))
        pipe._cont = more

    def on_other_message(self, pipe, data):
        pass

    def on_subscription(self, pipe, topic, on):
        """One subscriber's topics are a set, as libzmq's XPUB keeps them: its
        SUB sends SUBSCRIBE on every subscribe() but CANCEL only on the last
        unsubscribe(), so a repeated SUBSCRIBE changes nothing."""
        subs = pipe.subs
        if subs is None:
            return
        if on:
            if topic in subs.counts:
                self._repeated(topic)
                return
            subs.add(topic)
        elif topic in subs.counts:
            subs.remove(topic)
        else:
            return
        self._changed(topic, on)

    def _repeated(self, topic):
        """A subscriber subscribed again to a topic it has."""

    def fast_send(self, data):
        """A one-frame message to every subscriber of its topic (no list to
        keep: nothing allocated), from send_frame or Socket.send's fast path.
        -> True: a PUB never waits (at SNDHWM it drops)."""
        for p in self.pipes:
            if p.active:
                subs = p.subs
                if b"" in subs.counts or subs.match(data):  # (everything: no call)
                    if p.fast_ok and p.fast_send(data):
                        continue  # written to its connection's batch
                    if p.can_send():
                        p.write(data, 0)
                    else:
                        self.dropped += 1  # SNDHWM reached: PUB drops
        return True

    def send_frame(self, data, more):
        targets = self.targets
        if not self.in_msg:  # the first frame picks the subscribers
            if not more:
                return self.fast_send(data)
            for p in self.pipes:
                if p.active and p.subs.match(data):
                    if p.can_send():
                        targets.append(p)
                    else:
                        self.dropped += 1
            self.in_msg = True
        for p in targets:
            if p.active:
                p.write(data, more)
        if not more:
            self.in_msg = False
            while targets:
                targets.pop()
        return True

    def writable(self):
        return True


class XPub(Pub):
    def __init__(self, sock):
        super().__init__(sock)
        self.all_topics = Topics()
        self.pending = []  # subscription messages for the application
        self.manual = False

    def _repeated(self, topic):
        if self.sock.options.xpub_verbose:  # the application sees every SUBSCRIBE
            self.pending.append(b"\x01" + topic)
            self.sock.ctx.wake_waiters()

    def _changed(self, topic, on, times=1):
        verbose = self.sock.options.xpub_verbose
        for _ in range(times):
            if on:
                new = self.all_topics.add(topic)
            else:
                new = self.all_topics.remove(topic)
            if new or (on and verbose):
                msg = (b"\x01" if on else b"\x00") + topic
                self.pending.append(msg)
        self.sock.ctx.wake_waiters()

    def recv_frame(self):
        if not self.pending:
            return None
        m = self.pending.pop(0)
        return m, len(m), 0

    def readable(self):
        return len(self.pending) > 0


class Sub(Pattern):
    plain_in = False  # on_pipe_frame: filters
    fq_fast = True  # recv_frame is fq_recv: the socket's recv fast path applies

    def __init__(self, sock):
        super().__init__(sock)
        self.topics = Topics()
        self.skipping = False

    def attach(self, pipe):
        self.pipes.append(pipe)
        self.track(pipe)
        self.pipes_changed()
        self.pipe_ready(pipe)
        return True

    def pipe_ready(self, pipe):
        """A SUB sends all its subscriptions after every (re)connect."""
        for t, c in self.topics.counts.items():
            for _ in range(c):
                pipe.send_subscription(t, True)

    def subscribe(self, topic, on):
        changed = self.topics.add(topic) if on else self.topics.remove(topic)
        if changed or on:
            for p in self.pipes:
                if p.active:
                    p.send_subscription(topic, on)

    def on_pipe_frame(self, pipe, more, buf, n):
        # filter here too: the publisher may be an XPUB sending everything
        if not getattr(pipe, "_cont", False):
            pipe._skip = not self.topics.match(buf, n)
        pipe._cont = more
        if pipe._skip:
            if len(buf) == self.sock.ctx.pool.size:
                self.sock.ctx.pool.give(buf)
            return
        pipe.inq.push(buf, n, more)

    def recv_frame(self):
        return self.fq_recv()

    def readable(self):
        return self.fq_has()

    def send_frame(self, data, more):
        raise ZMQError(C.ENOTSUP)


class XSub(Sub):
    plain_in = True  # everything the publisher sends is queued (no filter)
    on_pipe_frame = Pattern.on_pipe_frame

    def __init__(self, sock):
        super().__init__(sock)
        self.out_more = False
        self.out_targets = None

    def send_frame(self, data, more):
        if not self.out_more and len(data) > 0 and data[0] in (0, 1) and not more:
            self.subscribe(bytes(data[1:]), data[0] == 1)
            return True
        # the peers of a message are fixed at its first frame: one that joins
        # mid-message must not get the tail as a message of its own
        targets = self.out_targets if self.out_more else [p for p in self.pipes if p.active]
        for p in targets:
            if p.active:
                p.write(data, more)
        self.out_more = more
        self.out_targets = targets if more else None
        return True

    def writable(self):
        return True
