"""Socket options: defaults as libzmq's, validation, and pyzmq attribute names."""
from . import constants as C
from ._compat import const
from .errors import ZMQError

_INT = const(0)
_BYTES = const(1)
_BOOL = const(2)

# option number -> (attribute, kind, minimum)
SPEC = {
    C.SNDHWM: ("sndhwm", _INT, 0),
    C.RCVHWM: ("rcvhwm", _INT, 0),
    C.LINGER: ("linger", _INT, -1),
    C.RCVTIMEO: ("rcvtimeo", _INT, -1),
    C.SNDTIMEO: ("sndtimeo", _INT, -1),
    C.ROUTING_ID: ("identity", _BYTES, 0),
    C.ROUTER_MANDATORY: ("router_mandatory", _BOOL, 0),
    C.RECONNECT_IVL: ("reconnect_ivl", _INT, -1),
    C.RECONNECT_IVL_MAX: ("reconnect_ivl_max", _INT, 0),
    C.MAXMSGSIZE: ("maxmsgsize", _INT, -1),
    C.HEARTBEAT_IVL: ("heartbeat_ivl", _INT, 0),
    C.HEARTBEAT_TTL: ("heartbeat_ttl", _INT, 0),
    C.HEARTBEAT_TIMEOUT: ("heartbeat_timeout", _INT, -1),
    C.HANDSHAKE_IVL: ("handshake_ivl", _INT, 0),
    C.BACKLOG: ("backlog", _INT, 0),
    C.IMMEDIATE: ("immediate", _BOOL, 0),
    C.IPV6: ("ipv6", _BOOL, 0),
    C.XPUB_VERBOSE: ("xpub_verbose", _BOOL, 0),
    C.TCP_KEEPALIVE: ("tcp_keepalive", _INT, -1),
    C.SNDBUF: ("sndbuf", _INT, -1),
    C.RCVBUF: ("rcvbuf", _INT, -1),
    C.CONNECT_TIMEOUT: ("connect_timeout", _INT, 0),
    C.PLAIN_SERVER: ("plain_server", _BOOL, 0),
    C.PLAIN_USERNAME: ("plain_username", _BYTES, 0),
    C.PLAIN_PASSWORD: ("plain_password", _BYTES, 0),
    C.CURVE_SERVER: ("curve_server", _BOOL, 0),
    C.CURVE_PUBLICKEY: ("curve_publickey", _BYTES, 0),
    C.CURVE_SECRETKEY: ("curve_secretkey", _BYTES, 0),
    C.CURVE_SERVERKEY: ("curve_serverkey", _BYTES, 0),
    C.ZAP_DOMAIN: ("zap_domain", _BYTES, 0),
    C.CONFLATE: ("conflate", _BOOL, 0),
    C.REQ_RELAXED: ("req_relaxed", _BOOL, 0),
    C.REQ_CORRELATE: ("req_correlate", _BOOL, 0),
}

# pyzmq attribute name -> option number (sock.linger = 0)
def _names():
    d = {}
    for num, spec in SPEC.items():
        d[spec[0]] = num
    d["routing_id"] = C.ROUTING_ID
    d["hwm"] = C.HWM
    for n in ("subscribe", "unsubscribe", "last_endpoint", "rcvmore", "type", "events", "mechanism", "fd"):
        d[n] = getattr(C, n.upper())
    return d


NAMES = _names()


class Options:
    # libzmq's defaults as class attributes: a socket stores only what it
    # changes (on MicroPython each instance attribute costs heap)
    sndhwm = 1000
    rcvhwm = 1000
    linger = -1
    rcvtimeo = -1
    sndtimeo = -1
    identity = b""
    router_mandatory = 0
    reconnect_ivl = 100
    reconnect_ivl_max = 0
    maxmsgsize = -1
    heartbeat_ivl = 0
    heartbeat_ttl = 0
    heartbeat_timeout = -1
    handshake_ivl = 30000
    backlog = 100
    immediate = 0
    ipv6 = 0
    xpub_verbose = 0
    tcp_keepalive = -1
    sndbuf = -1
    rcvbuf = -1
    connect_timeout = 0
    plain_server = 0
    plain_username = b""
    plain_password = b""
    curve_server = 0
    curve_publickey = b""
    curve_secretkey = b""
    curve_serverkey = b""
    zap_domain = b""
    conflate = 0
    req_relaxed = 0
    req_correlate = 0
    mechanism = C.NULL

    def __init__(self, socket_type):
        self.socket_type = socket_type

    def set(self, option, value):
        spec = SPEC.get(option)
        if spec is None:
            raise ZMQError(C.EINVAL, "unknown or read-only option %r" % (option,))
        name, kind, minimum = spec
        if kind == _BYTES:
            if isinstance(value, str):
                value = value.encode()
            if not isinstance(value, (bytes, bytearray, memoryview)):
                raise ZMQError(C.EINVAL, "option %s takes bytes" % name)
            value = bytes(value)
            if option in (C.CURVE_PUBLICKEY, C.CURVE_SECRETKEY, C.CURVE_SERVERKEY):
                value = _curve_key(value)
            elif option == C.ROUTING_ID and (len(value) > 255 or (value and value[0] == 0)):
                raise ZMQError(C.EINVAL, "routing id must be 1-255 bytes not starting with 0")
            elif len(value) > 255:
                raise ZMQError(C.EINVAL, "option %s longer than 255 bytes" % name)
        else:
            if isinstance(value, bool):
                value = int(value)
            if not isinstance(value, int):
                raise ZMQError(C.EINVAL, "option %s takes an integer" % name)
            if value < minimum or (kind == _BOOL and value > 1):
                raise ZMQError(C.EINVAL, "invalid value %r for option %s" % (value, name))
        setattr(self, name, value)
        if option in (C.PLAIN_SERVER, C.PLAIN_USERNAME, C.PLAIN_PASSWORD):
            self.mechanism = C.PLAIN if (self.plain_server or self.plain_username or self.plain_password) else C.NULL
        elif option in (C.CURVE_SERVER, C.CURVE_SERVERKEY):
            self.mechanism = C.CURVE if (self.curve_server or self.curve_serverkey) else self.mechanism

    def get(self, option):
        spec = SPEC.get(option)
        if spec is None:
            raise ZMQError(C.EINVAL, "unknown option %r" % (option,))
        v = getattr(self, spec[0])
        if option in (C.CURVE_PUBLICKEY, C.CURVE_SECRETKEY, C.CURVE_SERVERKEY) and v:
            from . import z85

            return z85.encode(v) + b"\x00"[:0]
        return v


def _curve_key(value):
    """CURVE keys: 32 raw bytes or 40 Z85 characters (41 with a trailing NUL)."""
    if len(value) == 41 and value[40] == 0:
        value = value[:40]
    if len(value) == 32:
        return value
    if len(value) == 40:
        from . import z85

        try:
            return z85.decode(value)
        except ValueError:
            raise ZMQError(C.EINVAL, "invalid Z85 CURVE key") from None
    raise ZMQError(C.EINVAL, "CURVE key must be 32 bytes or 40 Z85 characters")
