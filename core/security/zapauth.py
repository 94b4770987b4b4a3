"""The server side's question to the ZAP handler (RFC 27), shared by the
mechanisms that authenticate: PLAIN, CURVE, and NULL on a socket with a ZAP
domain (libzmq asks the handler for NULL peers too, so address lists apply).

ZapServer._zap_ask() sets `zap_request`; the connection hands it to the
handler bound at inproc://zeromq.zap.01 (security/zap.py) and passes the
reply to on_zap_reply(). A 400 or 500 appends ERROR (the status code as its
reason, as libzmq sends) to `out` and raises ProtocolError; a 300 closes
quietly.
"""
from ..errors import ProtocolError
from ..zmtp import metadata
from .mechanism import Mechanism, command, split_command

_ZAP_VERSION = b"1.0"
_zap_counter = [0]


def as_bytes(v):
    """Option values may arrive as str, bytes, bytearray or None."""
    if v is None:
        return b""
    if isinstance(v, str):
        return v.encode("utf-8")
    return bytes(v)


def zap_address(peer):
    """RFC 27 / libzmq: the ZAP address is the peer's IP alone ("host:port" -> host),
    which is what allow()/deny() lists hold."""
    a = as_bytes(peer)
    if a[:1] == b"[":
        a = a[1:].split(b"]", 1)[0]
    elif a.count(b":") >= 1 and a[a.rfind(b":") + 1 :].isdigit():
        a = a[: a.rfind(b":")]
    return a


def error_command(reason):
    """ERROR command body: 1-byte reason length, reason (cut to 255)."""
    reason = as_bytes(reason)[:255]
    return command(b"ERROR", bytes((len(reason),)) + reason)


class ZapServer(Mechanism):
    """Server-side ZAP client shared by PLAIN and CURVE.

    _zap_ask() sets `zap_request`; the owner delivers it to the handler (and
    may reset the attribute to None) and calls on_zap_reply(frames).
    `status_code` keeps the handler's verdict (b"200", b"400", ...) so the
    owner can report EVENT_HANDSHAKE_FAILED_AUTH with it.
    """

    def __init__(self, config, as_server, local_meta, peer_address=b""):
        super().__init__(config, as_server, local_meta or [], peer_address)
        self.peer_address = peer_address  # ZAP's Address frame
        self.status_code = None
        self.zap_meta = None
        self._zap_id = None
        self._state = 0

    def _zap_ask(self, credentials):
        _zap_counter[0] += 1
        self._zap_id = str(_zap_counter[0]).encode()
        cfg = self.config
        self.zap_request = [
            b"",
            _ZAP_VERSION,
            self._zap_id,
            as_bytes(cfg.zap_domain),
            zap_address(self.peer_address),
            as_bytes(cfg.routing_id),
            self.name,
        ] + [as_bytes(c) for c in credentials]

    def on_zap_reply(self, frames):
        if self._zap_id is None:
            raise ProtocolError("unexpected ZAP reply")
        self.zap_request = None
        frames = [bytes(f) for f in frames]
        expected, self._zap_id = self._zap_id, None  # one reply per request
        # 7 frames: delimiter, version, request id, status, text, user id, metadata
        if len(frames) != 7 or frames[0] or frames[1] != _ZAP_VERSION or frames[2] != expected:
            raise ProtocolError("malformed ZAP reply")
        status = frames[3]
        if status not in (b"200", b"300", b"400", b"500"):
            raise ProtocolError("ZAP reply status %r" % status)
        self.status_code = status
        if status == b"200":
            self.zap_meta = metadata.parse(frames[6])
            self.user_id = frames[5]
            self._merge_zap_meta()
            self._zap_ok()
            return
        text = frames[4].decode("utf-8", "replace")
        if status == b"300":
            raise ProtocolError("ZAP temporary failure (300 %s)" % text)
        self.out.append(error_command(status))
        raise ProtocolError("ZAP refused (%s %s)" % (status.decode(), text))

    def _merge_zap_meta(self):
        # the handler is the authority: its properties override the peer's
        if self.zap_meta:
            for k in self.zap_meta:
                self.peer_meta[k] = self.zap_meta[k]

    def _zap_ok(self):
        raise NotImplementedError


# states
START = 0
WAIT_HELLO = 1
WAIT_ZAP = 2
WAIT_INITIATE = 3
WAIT_WELCOME = 4
WAIT_READY = 5
READY = 6
FAILED = 7


def zap_reply_in_state(self, frames):
    """on_zap_reply for the PLAIN and NULL servers: only while waiting for it."""
    if self._state != WAIT_ZAP:
        raise ProtocolError("unexpected ZAP reply")
    try:
        ZapServer.on_zap_reply(self, frames)
    except ProtocolError:
        self._state = FAILED
        raise


class NullZapMechanism(ZapServer):
    """NULL on a socket with a ZAP domain, when a handler is bound: libzmq
    asks the handler (mechanism "NULL", no credentials) before it sends READY,
    so allow()/deny() address lists apply to NULL peers too."""

    name = b"NULL"

    def __init__(self, config, as_server, local_meta, peer_address=b""):
        super().__init__(config, as_server, local_meta, peer_address)
        self._state = START
        self._peer_ready = None

    def start(self):
        if self._state != START:
            raise ProtocolError("NULL: started twice")
        self._state = WAIT_ZAP
        self._zap_ask(())

    def on_command(self, body):
        if self._state == FAILED:
            raise ProtocolError("NULL: handshake already failed")
        try:
            name, data = split_command(bytes(body))
            if name == b"ERROR":
                if len(data) < 1 or data[0] > len(data) - 1:
                    raise ProtocolError("malformed ERROR")
                self._peer_error(data)
            if name != b"READY" or self._peer_ready is not None or self.ready:
                raise ProtocolError("unexpected command %r during NULL handshake" % name)
            self._peer_ready = metadata.parse(data)
            self._maybe_ready()
        except ProtocolError:
            self._state = FAILED
            raise

    on_zap_reply = zap_reply_in_state

    def _zap_ok(self):
        self.out.append(command(b"READY", metadata.encode(self.local_meta)))
        self._state = WAIT_READY
        self._maybe_ready()

    def _maybe_ready(self):
        if self._state == WAIT_READY and self._peer_ready is not None:
            self.peer_meta = self._peer_ready
            self._merge_zap_meta()
            self._state = READY
            self.ready = True
