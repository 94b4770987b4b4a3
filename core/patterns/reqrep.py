"""REQ and REP: strict send/receive alternation with the empty delimiter envelope."""
from .. import constants as C
from ..errors import ZMQError
from .base import Pattern


class Req(Pattern):
    def __init__(self, sock):
        super().__init__(sock)
        self.sending = True  # waiting to send a request
        self.starting = True  # next frame sent starts a request
        self.reply_pipe = None
        self.in_reply = False

    def send_frame(self, data, more):
        if not self.sending:
            raise ZMQError(C.EFSM)
        if self.starting:
            if not self.lb_has():
                return False
            # pick the pipe, then send the empty delimiter ahead of the body
            self.lb_send(b"", True)
            self.reply_pipe = self.lb_current
            self.starting = False
        self.lb_send(data, more)
        if not more:
            self.sending = False
            self.starting = True
            self.in_reply = False
        return True

    def writable(self):
        return self.sending and (not self.starting or self.lb_has())

    def recv_frame(self):
        if self.sending:
            raise ZMQError(C.EFSM)
        p = self.reply_pipe
        if p is None:
            return None
        if not self.in_reply:
            # skip anything that is not [empty delimiter, body...] from our peer
            pool = self.sock.ctx.pool
            while p.inq.msgs > 0:
                buf, n, more = p.inq.pop()
                if n == 0 and more:
                    self.in_reply = True
                    break
                pool.give(buf)
                while more:
                    buf, n, more = p.inq.pop()
                    pool.give(buf)
            else:
                self._drop_other_replies()
                return None
        got = p.inq.pop()
        if not got[2]:
            self.in_reply = False
            self.sending = True
            p.consumed()
            self._drop_other_replies()
        return got

    def _drop_other_replies(self):
        """Replies from other peers (late ones for an abandoned request) are dropped."""
        for q in self.pipes:
            if q is not self.reply_pipe:
                while q.inq.msgs > 0:
                    self.sock.ctx.pool.give(q.inq.pop()[0])  # its buffer back to the pool
                q.consumed() if q.active else None
        self._prune()

    def readable(self):
        p = self.reply_pipe
        return not self.sending and p is not None and p.inq.msgs > 0

    def on_pipe_frame(self, pipe, more, buf, n):
        # a reply must start with the empty delimiter: anything else is dropped
        # here, so readable() (poll) never announces a message recv would skip
        if not getattr(pipe, "_cont", False):
            pipe._delim = n == 0 and more
        pipe._cont = more
        if pipe._delim:
            pipe.inq.push(buf, n, more)


class Rep(Pattern):
    def __init__(self, sock):
        super().__init__(sock)
        self.receiving = True
        self.envelope = []  # the request's routing frames, to prefix the reply (reused)
        self.reply_pipe = None
        self.in_body = False
        self.reply_started = False

    def recv_frame(self):
        if not self.receiving:
            raise ZMQError(C.EFSM)
        if not self.in_body:
            while True:
                if not self.fq_has():
                    return None
                env = self.envelope
                while env:
                    env.pop()
                got = None
                pool = self.sock.ctx.pool
                while True:
                    buf, n, more = self.fq_recv()
                    if not more:
                        pool.give(buf)
                        break  # no delimiter: malformed, drop it
                    if n == 0:
                        got = self.last_pipe
                        break
                    env.append(buf if type(buf) is bytes and len(buf) == n else bytes(memoryview(buf)[:n]))
                    pool.give(buf)  # a pool slot goes back once copied
                if got is not None:
                    self.reply_pipe = got
                    self.in_body = True
                    break
        got = self.fq_recv()  # a reused list: no tuple per frame
        if not got[2]:
            self.in_body = False
            self.receiving = False
            self.reply_started = False
        return got

    def readable(self):
        return self.receiving and (self.in_body or self.fq_has())

    def on_pipe_frame(self, pipe, more, buf, n):
        # a request without the empty delimiter is dropped as it completes,
        # so readable() (poll) never announces a message recv would skip
        if not pipe.inq.partial:
            pipe._delim = False
        if n == 0 and more:
            pipe._delim = True
        if not more and not pipe._delim:
            pool = self.sock.ctx.pool
            pipe.inq.drop_partial(pool)
            pool.give(buf)
            return
        pipe.inq.push(buf, n, more)

    def send_frame(self, data, more):
        if self.receiving:
            raise ZMQError(C.EFSM)
        p = self.reply_pipe
        live = p is not None and p.active
        if not self.reply_started:
            self.reply_started = True
            if live:
                for e in self.envelope:
                    p.write(e, True)
                p.write(b"", True)
        if live:
            p.write(data, more)
        if not more:
            if not live:
                # the requester went away: the reply is dropped, and counted
                st = self.sock.stats
                st["dropped_disconnect"] = st.get("dropped_disconnect", 0) + 1
            self.receiving = True
            env = self.envelope
            while env:
                env.pop()
            self.reply_pipe = None
        return True

    def writable(self):
        return not self.receiving
