"""PLAIN (RFC 24): username/password in clear, checked by a ZAP handler.

Client: HELLO(username, password) -> WELCOME -> INITIATE(metadata) -> READY.
The server asks the ZAP handler (RFC 27) bound at inproc://zeromq.zap.01 and
refuses every client when none is bound, as libzmq 4.3 does (it closes the
connection without ERROR): PLAIN without a handler would let anyone in. The
question to the handler is security/zapauth.py's ZapServer.

Refusals: when the ZAP handler answers 400 or 500 the server appends an
ERROR command (reason = the status code, as libzmq sends) to `out` and then
raises ProtocolError; the connection must send `out` before it closes. A 300
(temporary failure) closes quietly: ProtocolError with no ERROR, per RFC 27.
Any other violation raises ProtocolError without ERROR.
"""
from ..errors import ProtocolError
from ..zmtp import metadata
from .mechanism import command, split_command
from .zapauth import (
    FAILED,
    READY,
    START,
    WAIT_HELLO,
    WAIT_INITIATE,
    WAIT_READY,
    WAIT_WELCOME,
    WAIT_ZAP,
    ZapServer,
    as_bytes,
    zap_reply_in_state,
)

# libzmq 4.x PLAIN servers write their ERROR name as C "\x05ERROR", which the
# compiler reads as 0x5E + "RROR" (plain_common.hpp): accept that spelling too
_LIBZMQ_ERROR = b"\x5eRROR"

class PlainMechanism(ZapServer):
    """RFC 24 PLAIN, client or server (as_server) side."""

    name = b"PLAIN"

    def __init__(self, config, as_server, local_meta, peer_address=b""):
        super().__init__(config, as_server, local_meta, peer_address)
        self._state = START
        self.username = b""  # what the client presented (server side)

    def start(self):
        if self._state != START:
            raise ProtocolError("PLAIN: started twice")
        if not self.as_server:
            u = as_bytes(self.config.plain_username)
            p = as_bytes(self.config.plain_password)
            if len(u) > 255 or len(p) > 255:
                self._state = FAILED
                raise ProtocolError("PLAIN: username/password over 255 bytes")
            self.out.append(command(b"HELLO", bytes((len(u),)) + u + bytes((len(p),)) + p))
            self._state = WAIT_WELCOME
        else:
            self._state = WAIT_HELLO

    def on_command(self, body):
        if self._state == FAILED:
            raise ProtocolError("PLAIN: handshake already failed")
        try:
            self._on_command(bytes(body))
        except ProtocolError:
            self._state = FAILED
            raise

    on_zap_reply = zap_reply_in_state

    def _on_command(self, body):
        if body[:5] == _LIBZMQ_ERROR:
            body = b"\x05ERROR" + body[5:]
        name, data = split_command(body)
        if name == b"ERROR":
            if len(data) < 1 or data[0] > len(data) - 1:
                raise ProtocolError("malformed ERROR")
            self._peer_error(data)
        st = self._state
        if st == WAIT_HELLO and name == b"HELLO":
            self._on_hello(data)
        elif st == WAIT_INITIATE and name == b"INITIATE":
            self.peer_meta = metadata.parse(data)
            self._merge_zap_meta()
            self.out.append(command(b"READY", metadata.encode(self.local_meta)))
            self._state = READY
            self.ready = True
        elif st == WAIT_WELCOME and name == b"WELCOME":
            if data:
                raise ProtocolError("PLAIN: malformed WELCOME")
            self.out.append(command(b"INITIATE", metadata.encode(self.local_meta)))
            self._state = WAIT_READY
        elif st == WAIT_READY and name == b"READY":
            self.peer_meta = metadata.parse(data)
            self._state = READY
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
        self._state = WAIT_ZAP
        self._zap_ask((self.username, data[pos:]))

    def _zap_ok(self):
        self.out.append(command(b"WELCOME"))
        self._state = WAIT_INITIATE
