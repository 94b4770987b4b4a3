"""PLAIN (RFC 24): username/password in clear, checked by a ZAP handler.

Client: HELLO(username, password) -> WELCOME -> INITIATE(metadata) -> READY.
The server asks the ZAP handler (RFC 27) bound at inproc://zeromq.zap.01 and
refuses every client when none is bound, as libzmq 4.3 does (it closes the
connection without ERROR): PLAIN without a handler would let anyone in. This module also holds the ZAP
request/reply logic that CURVE's server reuses (ZapServer).

Refusals: when the ZAP handler answers 400 or 500 the server appends an
ERROR command (reason = the status code, as libzmq sends) to `out` and then
raises ProtocolError; the connection must send `out` before it closes. A 300
(temporary failure) closes quietly: ProtocolError with no ERROR, per RFC 27.
Any other violation raises ProtocolError without ERROR.
"""
from ..errors import ProtocolError
from ..zmtp import metadata
from .mechanism import Mechanism, command, split_command

_ZAP_VERSION = b"1.0"
# libzmq 4.x PLAIN servers write their ERROR name as C "\x05ERROR", which the
# compiler reads as 0x5E + "RROR" (plain_common.hpp): accept that spelling too
_LIBZMQ_ERROR = b"\x5eRROR"
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
_START = 0
_WAIT_HELLO = 1
_WAIT_ZAP = 2
_WAIT_INITIATE = 3
_WAIT_WELCOME = 4
_WAIT_READY = 5
_READY = 6
_FAILED = 7


def _zap_reply_in_state(self, frames):
    """on_zap_reply for the PLAIN and NULL servers: only while waiting for it."""
    if self._state != _WAIT_ZAP:
        raise ProtocolError("unexpected ZAP reply")
    try:
        ZapServer.on_zap_reply(self, frames)
    except ProtocolError:
        self._state = _FAILED
        raise


class PlainMechanism(ZapServer):
    """RFC 24 PLAIN, client or server (as_server) side."""

    name = b"PLAIN"

    def __init__(self, config, as_server, local_meta, peer_address=b""):
        super().__init__(config, as_server, local_meta, peer_address)
        self._state = _START
        self.username = b""  # what the client presented (server side)

    def start(self):
        if self._state != _START:
            raise ProtocolError("PLAIN: started twice")
        if not self.as_server:
            u = as_bytes(self.config.plain_username)
            p = as_bytes(self.config.plain_password)
            if len(u) > 255 or len(p) > 255:
                self._state = _FAILED
                raise ProtocolError("PLAIN: username/password over 255 bytes")
            self.out.append(command(b"HELLO", bytes((len(u),)) + u + bytes((len(p),)) + p))
            self._state = _WAIT_WELCOME
        else:
            self._state = _WAIT_HELLO

    def on_command(self, body):
        if self._state == _FAILED:
            raise ProtocolError("PLAIN: handshake already failed")
        try:
            self._on_command(bytes(body))
        except ProtocolError:
            self._state = _FAILED
            raise

    on_zap_reply = _zap_reply_in_state

    def _on_command(self, body):
        if body[:5] == _LIBZMQ_ERROR:
            body = b"\x05ERROR" + body[5:]
        name, data = split_command(body)
        if name == b"ERROR":
            if len(data) < 1 or data[0] > len(data) - 1:
                raise ProtocolError("malformed ERROR")
            self._peer_error(data)
        st = self._state
        if st == _WAIT_HELLO and name == b"HELLO":
            self._on_hello(data)
        elif st == _WAIT_INITIATE and name == b"INITIATE":
            self.peer_meta = metadata.parse(data)
            self._merge_zap_meta()
            self.out.append(command(b"READY", metadata.encode(self.local_meta)))
            self._state = _READY
            self.ready = True
        elif st == _WAIT_WELCOME and name == b"WELCOME":
            if data:
                raise ProtocolError("PLAIN: malformed WELCOME")
            self.out.append(command(b"INITIATE", metadata.encode(self.local_meta)))
            self._state = _WAIT_READY
        elif st == _WAIT_READY and name == b"READY":
            self.peer_meta = metadata.parse(data)
            self._state = _READY
            self.ready = True
        else:
            raise ProtocolError("PLAIN: unexpected %r" % name)

    def _on_hello(self, data):
        # 1-byte username length, username, 1-byte password length, password
        n = len(data)
        pos = 1 + data[0] if n else n + 1
        if pos >= n or data[pos] != n - pos - 1:
            raise ProtocolError("PLAIN: malformed HELLO")
        ulen = pos - 1
        pos += 1
        self.username = data[1 : 1 + ulen]
        if not self.config.zap_available:
            raise ProtocolError("PLAIN: no ZAP handler bound, client refused")
        self._state = _WAIT_ZAP
        self._zap_ask((self.username, data[pos:]))

    def _zap_ok(self):
        self.out.append(command(b"WELCOME"))
        self._state = _WAIT_INITIATE


class NullZapMechanism(ZapServer):
    """NULL on a socket with a ZAP domain, when a handler is bound: libzmq
    asks the handler (mechanism "NULL", no credentials) before it sends READY,
    so allow()/deny() address lists apply to NULL peers too."""

    name = b"NULL"

    def __init__(self, config, as_server, local_meta, peer_address=b""):
        super().__init__(config, as_server, local_meta, peer_address)
        self._state = _START
        self._peer_ready = None

    def start(self):
        if self._state != _START:
            raise ProtocolError("NULL: started twice")
        self._state = _WAIT_ZAP
        self._zap_ask(())

    def on_command(self, body):
        if self._state == _FAILED:
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
            self._state = _FAILED
            raise

    on_zap_reply = _zap_reply_in_state

    def _zap_ok(self):
        self.out.append(command(b"READY", metadata.encode(self.local_meta)))
        self._state = _WAIT_READY
        self._maybe_ready()

    def _maybe_ready(self):
        if self._state == _WAIT_READY and self._peer_ready is not None:
            self.peer_meta = self._peer_ready
            self._merge_zap_meta()
            self._state = _READY
            self.ready = True
