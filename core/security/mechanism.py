"""Security mechanisms: the interface the ZMTP connection drives, and NULL.

A mechanism is a small sans-IO handshake state machine. The connection
creates one after both greetings named the same mechanism, calls start(),
then feeds every command frame to on_command() until `ready` is true. It
sends whatever the mechanism appends to `out` (complete command bodies:
name length, name, data). Mechanisms that protect traffic (CURVE) set
`wraps = True`; the connection then passes every frame through encode() and
every MESSAGE command through decode().

ZAP (RFC 27): a server mechanism that needs a verdict sets `zap_request`
to the request frames (a list of bytes, starting with the empty delimiter)
and waits; the owner sends them to the handler bound at
inproc://zeromq.zap.01 and passes the reply frames to on_zap_reply().
"""
from ..errors import ProtocolError
from ..zmtp import metadata


def command(name, data=b""):
    """A command body: 1-byte name length, name, data."""
    return bytes((len(name),)) + name + data


def split_command(body):
    """-> (name, data) of a command body, checking the name length."""
    if len(body) < 1 or body[0] == 0 or body[0] > len(body) - 1:
        raise ProtocolError("malformed command")
    n = body[0]
    return bytes(body[1 : 1 + n]), body[1 + n :]


class MechanismConfig:
    """What a mechanism may read from its socket: options and context (its
    role, server or client, is the mechanism's as_server). Defaults as class
    attributes: an instance holds only what is set (each attribute costs heap
    on a device; NULL sets none)."""

    plain_username = b""
    plain_password = b""
    curve_publickey = None  # 32 raw bytes
    curve_secretkey = None
    curve_serverkey = None
    zap_domain = b""
    zap_available = False  # a handler is bound at inproc://zeromq.zap.01
    routing_id = b""
    crypto = None  # the port's crypto (box/unbox, keys, random)


class Mechanism:
    """The base of every mechanism. A subclass defines start() and
    on_command(body), and encode(flags, data) / decode(body) when it sets
    `wraps` (no stubs here: each method costs heap on a device)."""

    name = b"NULL"
    wraps = False
    # set by few mechanisms, or late: an instance holds them only then
    user_id = b""
    zap_request = None
    error_reason = None  # set when the peer sent ERROR
    peer_address = b""  # kept by the mechanisms that ask ZAP (zapauth.ZapServer)

    def __init__(self, config, as_server, local_meta, peer_address=b""):
        self.config = config
        self.as_server = as_server
        self.local_meta = local_meta  # list of (name, value) to announce
        self.out = []
        self.ready = False
        self.peer_meta = {}

    def on_zap_reply(self, frames):
        raise ProtocolError("unexpected ZAP reply")

    def _peer_error(self, data):
        n = data[0] if len(data) else 0
        self.error_reason = bytes(data[1 : 1 + n]).decode("utf-8", "replace")
        raise ProtocolError("peer sent ERROR: %s" % self.error_reason)


class NullMechanism(Mechanism):
    """RFC 23 NULL: each side sends READY with its metadata."""

    name = b"NULL"

    def start(self):
        self.out.append(command(b"READY", metadata.encode(self.local_meta)))
        self.local_meta = None  # sent: not kept for the connection's lifetime

    def on_command(self, body):
        name, data = split_command(body)
        if name == b"READY" and not self.ready:
            self.peer_meta = metadata.parse(data)
            self.ready = True
        elif name == b"ERROR":
            self._peer_error(data)
        else:
            raise ProtocolError("unexpected command %r during NULL handshake" % name)


def null(config, as_server, local_meta, peer_address=b""):
    """NULL, or (libzmq) NULL that asks the ZAP handler when the socket has a ZAP domain."""
    if config.zap_domain and config.zap_available:
        from .zapauth import NullZapMechanism

        return NullZapMechanism(config, as_server, local_meta, peer_address)
    return NullMechanism(config, as_server, local_meta, peer_address)
