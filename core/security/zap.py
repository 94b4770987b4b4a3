"""ZAP (RFC 27), both ends, in one context.

The client: one DEALER per context, connected to the handler at
inproc://zeromq.zap.01; replies are matched to waiting handshakes by request id.

The handler side without threads: serve(ctx, handler) binds a socket at
inproc://zeromq.zap.01 whose requests are answered by the context's own
reactor (the I/O thread, or whichever call is driving a cooperative context),
so it runs the same on MicroPython:

    def handler(domain, address, mechanism, credentials):
        # domain, address, mechanism: str; credentials: list of bytes
        # (PLAIN: [username, password]; CURVE: [32-byte client public key])
        return 200, b"user-id"          # or (status, user_id, text, metadata)

    zap = edgezmq.security.zap.serve(ctx, handler)   # ... zap.close()

Status codes as libzmq acts on them: 200 lets the client in (user id and
metadata reach the connection), 300 closes the connection quietly, 400 and
500 send ERROR to the client and close. A handler that raises answers 500.
The handler runs inside the reactor with the context lock held: it must not
use the context's sockets.
"""
from .. import constants as C
from ..patterns.base import Pattern
from ..patterns.simple import Dealer

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
        from ..socket import Socket

        self.ctx = ctx
        self.sock = Socket(ctx, C.DEALER)
        object.__setattr__(self.sock, "pattern", _ReplyPattern(self.sock, self))
        self.sock.options.sndhwm = 0
        self.sock.options.immediate = 1  # requests go to a bound handler or nowhere
        self._connect()
        self.pending = {}

    def request(self, engine, frames):
        """frames: [b"", b"1.0", request_id, domain, address, identity, mechanism, *credentials]."""
        if not self.sock.pattern.lb_has():
            # the handler went away and another bound since: join the new one
            self._connect()
        self.pending[bytes(frames[2])] = engine
        last = len(frames) - 1
        for i, f in enumerate(frames):
            self.sock.pattern.send_frame(f, 1 if i < last else 0)

    def _connect(self):
        from ..endpoint import Endpoint
        from ..transports import inproc

        inproc.connect(self.sock, Endpoint("inproc", path=ENDPOINT), None)

    def on_reply(self, parts):
        if parts and parts[0] == b"":
            parts = parts[1:]
        if len(parts) < 6:
            self.ctx.log(30, "malformed ZAP reply ignored (%d frames)", len(parts))  # WARNING
            return
        engine = self.pending.pop(parts[1], None)
        if engine is not None and engine.active:
            engine.zap_reply([b""] + parts)


def zap_client(ctx):
    if ctx.zap_client is None:
        ctx.zap_client = ZapClient(ctx)
    return ctx.zap_client


_STATUS = (b"200", b"300", b"400", b"500")
_TEXT = {b"200": b"OK", b"300": b"Try later", b"400": b"Denied", b"500": b"Internal error"}


def _b(v):
    if v is None:
        return b""
    if isinstance(v, str):
        return v.encode()
    if isinstance(v, int):
        return str(v).encode()
    return bytes(v)


def _s(v):
    return bytes(v).decode("utf-8", "replace")


def answer(handler, parts, log=None):
    """One request (frames after the delimiter) -> reply frames (without the
    delimiter), or None when the request is too short to answer."""
    if len(parts) < 6:
        if len(parts) < 2:
            return None
        return [b"1.0", parts[1], b"400", b"Not enough frames", b"", b""]
    version, rid, domain, address, _identity, mechanism = parts[:6]
    if version != b"1.0":
        return [b"1.0", rid, b"400", b"Invalid version", b"", b""]
    try:
        r = handler(_s(domain), _s(address), _s(mechanism), parts[6:])
        if not isinstance(r, (tuple, list)):
            r = (r,)
        status = _b(r[0])
        if status not in _STATUS:
            raise ValueError("ZAP handler returned status %r" % status)
        user_id = _b(r[1]) if len(r) > 1 else b""
        text = _b(r[2]) if len(r) > 2 and r[2] is not None else _TEXT[status]
        meta = r[3] if len(r) > 3 and r[3] else b""
        if not isinstance(meta, (bytes, bytearray)):
            from ..zmtp import metadata

            items = meta.items() if hasattr(meta, "items") else meta
            meta = metadata.encode([(_b(k), _b(v)) for k, v in items])
    except Exception as e:  # the handler's bug must not take the context down
        if log is not None:
            log(30, "ZAP handler failed: %r", e)  # WARNING: a bug in the handler
        return [b"1.0", rid, b"500", b"Internal error", b"", b""]
    return [b"1.0", rid, status, text, user_id, bytes(meta)]


class _HandlerPattern(Pattern):
    """Requests arrive as whole messages; each is answered on a reactor timer
    (never inside the handshake step that asked, so the asking connection
    sees its reply exactly as it would from a handler in another thread)."""

    def __init__(self, sock, handler):
        super().__init__(sock)
        self.handler = handler
        self.parts = {}
        self.queue = []
        self.timer = None
        self.served = 0

    def on_pipe_frame(self, pipe, more, buf, n):
        key = id(pipe)
        parts = self.parts.get(key)
        if parts is None:
            parts = self.parts[key] = []
        parts.append(bytes(buf[:n]))
        if more:
            return
        del self.parts[key]
        self.queue.append((pipe, parts))
        if self.timer is None:
            self.timer = self.sock.ctx.reactor.call_later(0, self.drain)

    def drain(self):
        self.timer = None
        q = self.queue
        self.queue = []
        ctx = self.sock.ctx
        for pipe, parts in q:
            if parts and parts[0] == b"":
                parts = parts[1:]
            reply = answer(self.handler, parts, ctx.log)
            self.served += 1
            if reply is None or not pipe.active:
                continue
            pipe.write(b"", 1)
            last = len(reply) - 1
            for i, f in enumerate(reply):
                pipe.write(f, 1 if i < last else 0)

    def readable(self):
        return False

    def writable(self):
        return False


class ZapHandler:
    """What serve() returns: close() unbinds the handler."""

    def __init__(self, ctx, handler):
        self.ctx = ctx
        self.sock = ctx.socket(C.ROUTER)
        object.__setattr__(self.sock, "pattern", _HandlerPattern(self.sock, handler))
        object.__setattr__(self.sock, "_term_closes", True)  # the context's own: term() need not wait for it
        self.sock.linger = 0
        self.sock.bind("inproc://" + ENDPOINT)

    @property
    def served(self):
        return self.sock.pattern.served

    def close(self):
        if not self.sock.closed:
            self.sock.close(0)


def serve(ctx, handler):
    """Answer ZAP requests in ctx with handler(domain, address, mechanism,
    credentials) -> (status, user_id[, text[, metadata]]); no thread needed.
    -> ZapHandler (close() to stop). EADDRINUSE when a handler is bound."""
    return ZapHandler(ctx, handler)
