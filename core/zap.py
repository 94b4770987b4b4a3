"""The ZAP client (RFC 27): one DEALER per context, connected to the handler at
inproc://zeromq.zap.01; replies are matched to waiting handshakes by request id."""
from . import constants as C
from .patterns.simple import Dealer

ENDPOINT = "zeromq.zap.01"


class _ReplyPattern(Dealer):
    """Collects whole replies as they arrive and hands them to the client."""

    def __init__(self, sock, client):
        super().__init__(sock)
        self.client = client
        self.parts = []

    def on_pipe_frame(self, pipe, more, buf, n):
        self.parts.append(bytes(buf[:n]))
        if not more:
            parts = self.parts
            self.parts = []
            self.client.on_reply(parts)


class ZapClient:
    def __init__(self, ctx):
        from .socket import Socket

        self.ctx = ctx
        self.sock = Socket(ctx, C.DEALER)
        object.__setattr__(self.sock, "pattern", _ReplyPattern(self.sock, self))
        self.sock.options.sndhwm = 0
        ctx.inproc_connect(ENDPOINT, self.sock)
        self.pending = {}

    def request(self, engine, frames):
        """frames: [b"", b"1.0", request_id, domain, address, identity, mechanism, *credentials]."""
        self.pending[bytes(frames[2])] = engine
        last = len(frames) - 1
        for i, f in enumerate(frames):
            self.sock.pattern.send_frame(f, 1 if i < last else 0)

    def on_reply(self, parts):
        if parts and parts[0] == b"":
            parts = parts[1:]
        if len(parts) < 6:
            self.ctx.log("edgezmq: malformed ZAP reply ignored (%d frames)" % len(parts))
            return
        engine = self.pending.pop(parts[1], None)
        if engine is not None and engine.active:
            engine.zap_reply([b""] + parts)


def zap_client(ctx):
    if ctx.zap_client is None:
        ctx.zap_client = ZapClient(ctx)
    return ctx.zap_client
