"""REQ and REP: strict send/receive alternation with the empty delimiter envelope."""
from .. import constants as C
from ..errors import ZMQError
from .base import Pattern


class Req(Pattern):
    plain_in = False  # on_pipe_frame: checks the reply's envelope
    """libzmq's req.cpp. REQ_RELAXED lets a new request abandon the one
    waiting for its reply; REQ_CORRELATE puts a request id (4 bytes) before
    the empty delimiter, and a reply must carry the id of the last request."""

    def __init__(self, sock):
        super().__init__(sock)
        self.sending = True  # waiting to send a request
        self.starting = True  # next frame sent starts a request
        self.reply_pipe = None
        self.in_reply = False
        self.request_id = None  # REQ_CORRELATE: the last request's id (4 bytes)

    def send_frame(self, data, more):
        o = self.sock.options
        if not self.sending:
            if not o.req_relaxed:
                raise ZMQError(C.EFSM)
            self.sending = True  # relaxed: the request waiting for a reply is abandoned
            self.starting = True
            self.in_reply = False
        if self.starting:
            if not self.lb_has():
                return False
            # pick the pipe, then send [request id,] the empty delimiter ahead of the body
            if o.req_correlate:
                n = int.from_bytes(self.request_id or self.sock.ctx.port.random(4), "little")
                self.request_id = ((n + 1) & 0xFFFFFFFF).to_bytes(4, "little")
                self.lb_send(self.request_id, True)
            else:
                self.request_id = None
            self.lb_send(b"", True)
            self.reply_pipe = self.lb_current
            self.starting = False
            self._drop_replies()  # what came before this request is no reply to it
        self.lb_send(data, more)
        if not more:
            self.sending = False
            self.starting = True
            self.in_reply = False
        return True

    def writable(self):
        return (self.sending or self.sock.options.req_relaxed) and (not self.starting or self.lb_has())

    def recv_frame(self):
        if self.sending:
            raise ZMQError(C.EFSM)
        p = self.reply_pipe
        if p is None or p.inq.msgs == 0 and not self.in_reply:
            return None
        if not self.in_reply:
            # on_pipe_frame let only [request id,] delimiter, body... through
            pool = self.sock.ctx.pool
            for _ in range(1 if self.request_id is None else 2):
                pool.give(p.inq.pop()[0])
            self.in_reply = True
        got = p.inq.pop()
        if not got[2]:
            self.in_reply = False
            self.sending = True
            p.consumed()
            got = (got[0], got[1], 0)  # (the queue's list is reused by the drops below)
            self._drop_replies()  # nothing else waiting is a reply (late ones, other peers)
        return got

    def _drop_replies(self):
        """Drop every message waiting (libzmq's REQ does so as a request starts):
        late replies to an abandoned request, replies from other peers."""
        pool = self.sock.ctx.pool
        for q in self.pipes:
            inq = q.inq
            if inq.msgs == 0:
                continue
            while inq.msgs > 0:
                pool.give(inq.pop()[0])
            if q.active:
                q.consumed()
        if self.prune_wanted:
            self._prune()

    def readable(self):
        p = self.reply_pipe
        return not self.sending and p is not None and (self.in_reply or p.inq.msgs > 0)

    def on_pipe_frame(self, pipe, more, buf, n):
        # a reply must start with [the request id,] the empty delimiter:
        # anything else is dropped here, so readable() (poll) never announces
        # a message recv would skip
        at = getattr(pipe, "_at", 0)  # frames of the arriving message so far; -1: dropping it
        if at >= 0:
            rid = self.request_id
            head = 1 if rid is None else 2
            if at < head and not (more and (n == 0 if at == head - 1 else n == 4 and bytes(buf[:4]) == rid)):
                pipe.inq.drop_partial(self.sock.ctx.pool)
                at = -1
        if at >= 0:
            pipe.inq.push(buf, n, more)
            at += 1
        else:
            self.sock.ctx.pool.give(buf)
        pipe._at = at if more else 0


class Rep(Pattern):
    plain_in = False  # on_pipe_frame: checks the request's envelope
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
