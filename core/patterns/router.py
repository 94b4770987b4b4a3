"""ROUTER: every message in is prefixed with its peer's routing id; out, the
first frame names the peer (ROUTER_MANDATORY turns unknown ids into EHOSTUNREACH)."""
from .. import constants as C
from ..errors import ZMQError
from .base import Pattern


class Router(Pattern):
    def __init__(self, sock):
        super().__init__(sock)
        self.by_id = {}
        self.next_id = 0x6B8B4567  # libzmq starts from a random-looking value
        self.prefix_done = False
        self.out_pipe = None
        self.out_started = False  # inside an outgoing message
        self.out_drop = False
        self.got = [b"", 0, 1]  # the identity frame recv_frame hands out (reused)

    def attach(self, pipe):
        ident = pipe.peer_identity
        if ident:
            if ident in self.by_id:
                return False
        else:
            ident = b"\x00" + self.next_id.to_bytes(4, "big")
            self.next_id = (self.next_id + 1) & 0xFFFFFFFF
        pipe.identity = ident
        self.by_id[ident] = pipe
        self.pipes.append(pipe)
        self.track(pipe)
        return True

    def detach(self, pipe):
        if self.by_id.get(pipe.identity) is pipe:
            del self.by_id[pipe.identity]
        if self.out_pipe is pipe:
            self.out_pipe = None
            if self.out_started and not self.out_drop:
                # a message half sent to it: the rest is dropped, and counted
                st = self.sock.stats
                st["dropped_disconnect"] = st.get("dropped_disconnect", 0) + 1
        super().detach(pipe)

    def recv_frame(self):
        if self.fq_current is None and not self.prefix_done:
            # the pipe the next message comes from (fq_recv takes the same): its id first
            p = self.fq_peek()
            if p is None:
                if self.prune_wanted:
                    self._prune()
                return None
            self.prefix_done = True
            self.last_pipe = p  # the message's connection (Frame metadata)
            got = self.got
            got[0] = ident = p.identity
            got[1] = len(ident)
            return got
        self.prefix_done = False
        return self.fq_recv()

    def readable(self):
        return self.prefix_done or self.fq_has()

    def send_frame(self, data, more):
        if not self.out_started:
            if not more:
                return True  # a lone id frame: nothing to route
            ident = bytes(data)
            p = self.by_id.get(ident)
            mandatory = self.sock.options.router_mandatory
            if p is None or not p.active:
                if mandatory:
                    raise ZMQError(C.EHOSTUNREACH)
                self.dropped += 1
                self.out_drop = True
            elif not p.can_send():
                if mandatory:
                    return False
                self.dropped += 1
                self.out_drop = True
            else:
                self.out_drop = False
            self.out_pipe = p
            self.out_started = True
            return True
        p = self.out_pipe
        if not self.out_drop and p is not None and p.active:
            p.write(data, more)
        if not more:
            self.out_started = False
            self.out_pipe = None
        return True

    def writable(self):
        return True
