"""CURVE (RFC 25 ZMTP-CURVE, RFC 26 CurveZMQ) as libzmq implements it.

Client                                  Server
HELLO    C', Box[64 zeros](C'->S)   ->
                                    <-  WELCOME  Box[S' + cookie](S->C')
INITIATE cookie, Box[C + vouch + metadata](C'->S')  ->
                                    <-  READY    Box[metadata](S'->C')
MESSAGE  Box[flags + data], both ways, with strictly increasing short nonces

The cookie is Secretbox[C' + s'] under a key the server draws per connection,
so the server keeps no per-client state it can be made to trust; the vouch
Box[C' + S](C->S') proves the client owns its long-term key C. All byte
offsets and sizes match libzmq (curve_client.cpp / curve_server.cpp):
HELLO is exactly 200 bytes, WELCOME 168, INITIATE >= 257, READY >= 30,
MESSAGE >= 33.

Refusals: when the ZAP handler answers 400 or 500 the server appends an
ERROR command (reason = the status code, as libzmq sends) to `out` and then
raises ProtocolError; the connection must send `out` before it closes. A ZAP
300 and every protocol or cryptographic violation raise ProtocolError
without ERROR (libzmq just closes).

Keys in config are 32 raw bytes; config.crypto is the port's crypto object
(ports/cpython/crypto.PyNaclCrypto, ports/micropython/nacl_pure.PureCrypto).
"""
from ..errors import ProtocolError
from ..zmtp import metadata
from .mechanism import split_command
from .zapauth import ZapServer

_HELLO = b"\x05HELLO"
_WELCOME = b"\x07WELCOME"
_INITIATE = b"\x08INITIATE"
_READY = b"\x05READY"
_MESSAGE = b"\x07MESSAGE"
_ERROR = b"\x05ERROR"

_NONCE_HELLO = b"CurveZMQHELLO---"
_NONCE_WELCOME = b"WELCOME-"
_NONCE_COOKIE = b"COOKIE--"
_NONCE_INITIATE = b"CurveZMQINITIATE"
_NONCE_VOUCH = b"VOUCH---"
_NONCE_READY = b"CurveZMQREADY---"
_NONCE_MESSAGE_C = b"CurveZMQMESSAGEC"  # client to server
_NONCE_MESSAGE_S = b"CurveZMQMESSAGES"  # server to client

_ZERO32 = bytes(32)
_ZERO64 = bytes(64)
_PADDING = bytes(72)
_NONCE_MAX = (1 << 64) - 1

# states
_ST_START = 0
_ST_WAIT_HELLO = 1
_ST_WAIT_INITIATE = 2
_ST_WAIT_ZAP = 3
_ST_WAIT_WELCOME = 4
_ST_WAIT_READY = 5
_ST_READY = 6
_ST_FAILED = 7


def _err(what):
    # one prefix, short reasons: every distinct string costs RAM on a device
    return ProtocolError("CURVE: " + what)


def _key(value, what):
    """A configured key: 32 bytes, not all zero (libzmq's unset value)."""
    if value is None or len(value) != 32 or bytes(value) == _ZERO32:
        raise _err("%s must be 32 bytes, not all zero" % what)
    return bytes(value)


def _check(body, name, size, exact):
    """Command name first, then its size (exact, or a minimum)."""
    if bytes(body[: len(name)]) != name:
        raise _err("expected " + name[1:].decode())
    if len(body) != size if exact else len(body) < size:
        raise _err("malformed %s (%d bytes)" % (name[1:].decode(), len(body)))


class CurveMechanism(ZapServer):
    """CURVE client or server (as_server); wraps traffic in MESSAGE commands."""

    name = b"CURVE"
    wraps = True

    def __init__(self, config, as_server, local_meta, peer_address=b""):
        super().__init__(config, as_server, local_meta, peer_address)
        # every attribute is created here, so the instance dict reaches its
        # final size now and never grows mid-handshake on a fragmented heap
        self._crypto = config.crypto
        self._state = _ST_START
        self._nonce = 1  # our next short nonce; libzmq starts at 1
        self._peer_nonce = 1  # MESSAGE nonces must exceed this
        self._k = None  # client: Box(C'->S) for HELLO/WELCOME; then Box(C'<->S') for the rest
        self._secret = None  # our long-term secret key
        self._public = None  # our long-term public key
        self._server_key = None  # client: the server's long-term key S
        self._cn_public = None  # our short-term key pair
        self._cn_secret = None
        self._cn_client = None  # server: the client's short-term key C'
        self._cookie_key = None  # server: the cookie's key, until INITIATE
        self.client_key = None  # server side: the client's long-term key C

    # --- helpers --------------------------------------------------------

    def _next_nonce(self):
        n = self._nonce
        if n >= _NONCE_MAX:
            raise _err("short nonce exhausted")
        self._nonce = n + 1
        return n.to_bytes(8, "big")

    def _beforenm(self, public, secret, what):
        try:
            return self._crypto.beforenm(public, secret)
        except ValueError:
            raise _err("unusable key: " + what) from None

    def _open(self, box, nonce, k, what):
        try:
            return self._crypto.open_afternm(box, nonce, k)
        except ValueError:
            raise _err("cannot open " + what) from None

    # --- interface ------------------------------------------------------

    def start(self):
        if self._state != _ST_START:
            raise _err("started twice")
        if self._crypto is None:
            self._state = _ST_FAILED
            raise _err("no crypto on this port")
        try:
            if self.as_server:
                self._start_server()
            else:
                self._start_client()
        except ProtocolError:
            self._state = _ST_FAILED
            raise

    def on_command(self, body):
        if self._state == _ST_FAILED:
            raise _err("handshake already failed")
        try:
            self._on_command(bytes(body))
        except ProtocolError:
            self._state = _ST_FAILED
            raise

    def on_zap_reply(self, frames):
        if self._state != _ST_WAIT_ZAP:
            raise _err("unexpected ZAP reply")
        try:
            ZapServer.on_zap_reply(self, frames)
        except ProtocolError:
            self._state = _ST_FAILED
            raise

    def encode(self, flags, data):
        """(flags, data) -> MESSAGE command body; flags 0x01 MORE, 0x02 COMMAND."""
        if self._state != _ST_READY:
            raise _err("traffic before READY")
        n = self._next_nonce()
        plain = bytearray(1 + len(data))
        plain[0] = flags & 3
        plain[1:] = data
        prefix = _NONCE_MESSAGE_S if self.as_server else _NONCE_MESSAGE_C
        return _MESSAGE + n + self._crypto.box_afternm(plain, prefix + n, self._k)

    def decode(self, body):
        """MESSAGE command body -> (flags, data); rejects replays and forgeries."""
        if self._state != _ST_READY:
            raise _err("traffic before READY")
        body = memoryview(body)
        _check(body, _MESSAGE, 33, False)
        n = bytes(body[8:16])
        nonce = int.from_bytes(n, "big")
        if nonce <= self._peer_nonce:
            raise _err("MESSAGE nonce not increasing (replay)")
        prefix = _NONCE_MESSAGE_C if self.as_server else _NONCE_MESSAGE_S
        plain = self._open(body[16:], prefix + n, self._k, "MESSAGE box")
        self._peer_nonce = nonce  # only once the box is authentic
        return plain[0] & 3, plain[1:]

    # --- dispatch -------------------------------------------------------

    def _on_command(self, body):
        st = self._state
        if len(body) >= 6 and body[:6] == _ERROR and st in (_ST_WAIT_WELCOME, _ST_WAIT_READY):
            _, data = split_command(body)
            if len(data) < 1 or data[0] > len(data) - 1:
                raise _err("malformed ERROR")
            self._peer_error(data)
        if st == _ST_WAIT_HELLO:
            self._on_hello(body)
        elif st == _ST_WAIT_INITIATE:
            self._on_initiate(body)
        elif st == _ST_WAIT_WELCOME:
            self._on_welcome(body)
        elif st == _ST_WAIT_READY:
            self._on_ready(body)
        elif st == _ST_WAIT_ZAP:
            raise _err("command during ZAP")
        else:
            raise _err("command after handshake")

    # --- client ---------------------------------------------------------

    def _start_client(self):
        cfg = self.config
        crypto = self._crypto
        self._server_key = _key(cfg.curve_serverkey, "curve_serverkey")
        self._secret = _key(cfg.curve_secretkey, "curve_secretkey")
        if cfg.curve_publickey is None:
            self._public = crypto.public(self._secret)
        else:
            self._public = _key(cfg.curve_publickey, "curve_publickey")
        self._cn_public, self._cn_secret = crypto.keypair()
        # Box(C'->S) key: seals HELLO, opens WELCOME
        self._k = self._beforenm(self._server_key, self._cn_secret, "curve_serverkey")
        n = self._next_nonce()
        box = crypto.box_afternm(_ZERO64, _NONCE_HELLO + n, self._k)
        self.out.append(_HELLO + b"\x01\x00" + _PADDING + self._cn_public + n + box)
        self._state = _ST_WAIT_WELCOME

    def _on_welcome(self, body):
        _check(body, _WELCOME, 168, True)
        plain = self._open(body[24:], _NONCE_WELCOME + body[8:24], self._k,
                           "WELCOME box (wrong server key?)")
        server_short = plain[:32]
        cookie = plain[32:128]
        self._k = self._beforenm(server_short, self._cn_secret, "server short-term key")
        crypto = self._crypto
        vn = crypto.random(16)
        try:
            vouch = crypto.box(self._cn_public + self._server_key, _NONCE_VOUCH + vn,
                               server_short, self._secret)
        except ValueError:
            raise _err("cannot build vouch") from None
        self._cn_secret = None  # the precomputed key is all we need now
        n = self._next_nonce()
        box = crypto.box_afternm(
            self._public + vn + vouch + metadata.encode(self.local_meta),
            _NONCE_INITIATE + n, self._k,
        )
        self.out.append(_INITIATE + cookie + n + box)
        self._state = _ST_WAIT_READY

    def _on_ready(self, body):
        _check(body, _READY, 30, False)
        n = body[6:14]
        plain = self._open(body[14:], _NONCE_READY + n, self._k, "READY box")
        self.peer_meta = metadata.parse(plain)
        self._peer_nonce = int.from_bytes(n, "big")
        self._state = _ST_READY
        self.ready = True

    # --- server ---------------------------------------------------------

    def _start_server(self):
        cfg = self.config
        self._secret = _key(cfg.curve_secretkey, "curve_secretkey")
        # the vouch names our public key: derived (one X25519, ~0.1 s on a
        # board) only when the socket was not given it
        if cfg.curve_publickey is None:
            self._public = self._crypto.public(self._secret)
        else:
            self._public = _key(cfg.curve_publickey, "curve_publickey")
        self._state = _ST_WAIT_HELLO

    def _on_hello(self, body):
        _check(body, _HELLO, 200, True)
        if body[6] != 1 or body[7] != 0:
            raise _err("HELLO version %d.%d" % (body[6], body[7]))
        if body[8:80] != _PADDING:
            raise _err("HELLO padding not zero")
        client_short = body[80:112]
        n = body[112:120]
        k = self._beforenm(client_short, self._secret, "client short-term key")
        plain = self._open(body[120:200], _NONCE_HELLO + n, k, "HELLO box (wrong server key?)")
        if plain != _ZERO64:
            raise _err("HELLO signature not zero")
        self._peer_nonce = int.from_bytes(n, "big")
        self._cn_client = client_short
        crypto = self._crypto
        self._cn_public, self._cn_secret = crypto.keypair()
        # cookie: Secretbox[C' + s'] under a key only this server instance holds
        self._cookie_key = crypto.random(32)
        cn = crypto.random(16)
        cookie = cn + crypto.secretbox(client_short + self._cn_secret, _NONCE_COOKIE + cn,
                                       self._cookie_key)
        wn = crypto.random(16)
        box = crypto.box_afternm(self._cn_public + cookie, _NONCE_WELCOME + wn, k)
        self.out.append(_WELCOME + wn + box)
        self._state = _ST_WAIT_INITIATE

    def _on_initiate(self, body):
        _check(body, _INITIATE, 257, False)
        crypto = self._crypto
        try:
            cookie = crypto.secretbox_open(body[25:105], _NONCE_COOKIE + body[9:25],
                                           self._cookie_key)
        except ValueError:
            raise _err("cannot open INITIATE cookie") from None
        if cookie != self._cn_client + self._cn_secret:
            raise _err("INITIATE cookie not ours")
        self._cookie_key = None
        n = body[105:113]
        self._k = self._beforenm(self._cn_client, self._cn_secret, "client short-term key")
        plain = self._open(body[113:], _NONCE_INITIATE + n, self._k, "INITIATE box")
        client_key = plain[:32]
        try:
            vouch = crypto.open(plain[48:128], _NONCE_VOUCH + plain[32:48],
                                client_key, self._cn_secret)
        except ValueError:
            raise _err("cannot open INITIATE vouch") from None
        if vouch != self._cn_client + self._public:
            raise _err("vouch does not match")
        self._cn_secret = None
        self.peer_meta = metadata.parse(plain, 128)
        self._peer_nonce = int.from_bytes(n, "big")
        self.client_key = client_key
        if self.config.zap_available:
            self._state = _ST_WAIT_ZAP
            self._zap_ask((client_key,))
        else:
            self._zap_ok()

    def _zap_ok(self):
        n = self._next_nonce()
        box = self._crypto.box_afternm(metadata.encode(self.local_meta), _NONCE_READY + n,
                                       self._k)
        self.out.append(_READY + n + box)
        self._state = _ST_READY
        self.ready = True
