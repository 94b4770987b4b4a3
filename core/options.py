"""Socket options: defaults as libzmq's, validation, and pyzmq attribute names."""
from ._compat import const
from .errors import ZMQError

# NAMES: pyzmq attribute name -> option number | kind | minimum, one small
# int each (sock.linger = 0 -> setsockopt(LINGER, 0)). The kind says how
# Options.set checks a value; entries without one are handled by the Socket
# (subscriptions, HWM) or read-only. Defaults are the Options class
# attributes below. Numbers are libzmq's (core/constants.py).
_INT = const(0x100)  # an integer >= 0
_NEG = const(0x400)  # (with _INT) -1 allowed too
_BYTES = const(0x200)  # bytes, at most 255
_FLAG = const(0x300)  # 0 or 1
_KIND = const(0x300)
_PLAIN_SERVER = const(44)
_PLAIN_PASSWORD = const(46)
_CURVE_SERVER = const(47)
_CURVE_PUBLICKEY = const(48)
_CURVE_SERVERKEY = const(50)
_ROUTING_ID = const(5)
_EINVAL = const(22)
# libzmq's options that only some socket types take, all write-only:
# option -> a bit per socket type (REQ 3; ROUTER_MANDATORY: REP 4, ROUTER 6;
# XPUB_VERBOSE: PUB 1, XPUB 9)
_ONLY = {52: 1 << 3, 53: 1 << 3, 33: 1 << 4 | 1 << 6, 40: 1 << 1 | 1 << 9}

NAMES = {
    "identity": 5 | _BYTES,
    "sndbuf": 11 | _INT | _NEG,
    "rcvbuf": 12 | _INT | _NEG,
    "linger": 17 | _INT | _NEG,
    "reconnect_ivl": 18 | _INT | _NEG,
    "backlog": 19 | _INT,
    "reconnect_ivl_max": 21 | _INT,
    "maxmsgsize": 22 | _INT | _NEG,
    "sndhwm": 23 | _INT,
    "rcvhwm": 24 | _INT,
    "rcvtimeo": 27 | _INT | _NEG,
    "sndtimeo": 28 | _INT | _NEG,
    "router_mandatory": 33 | _FLAG,
    "tcp_keepalive": 34 | _FLAG | _NEG,  # -1 (the OS default), 0 or 1
    # (TCP_KEEPALIVE_CNT/IDLE/INTVL: the CPython port adds them, as ints >= -1
    # that default to -1; 3 more entries here cost a device ~2 KiB of heap at import)
    "immediate": 39 | _FLAG,
    "xpub_verbose": 40 | _FLAG,
    "ipv6": 42 | _FLAG,
    "plain_server": 44 | _FLAG,
    "plain_username": 45 | _BYTES,
    "plain_password": 46 | _BYTES,
    "curve_server": 47 | _FLAG,
    "curve_publickey": 48 | _BYTES,
    "curve_secretkey": 49 | _BYTES,
    "curve_serverkey": 50 | _BYTES,
    "req_correlate": 52 | _INT,  # libzmq takes any value >= 0 (0: off)
    "req_relaxed": 53 | _INT,
    "conflate": 54 | _FLAG,
    "zap_domain": 55 | _BYTES,
    "handshake_ivl": 66 | _INT,
    "heartbeat_ivl": 75 | _INT,
    "heartbeat_ttl": 76 | _INT,
    "heartbeat_timeout": 77 | _INT,  # reads -1 until set (libzmq: then HEARTBEAT_IVL)
    "connect_timeout": 79 | _INT,
    "routing_id": 5,  # stored as identity
    "subscribe": 6,
    "unsubscribe": 7,
    "rcvmore": 13,
    "fd": 14,
    "events": 15,
    "type": 16,
    "last_endpoint": 32,
    "mechanism": 43,
    "hwm": 201,
}


def _find(option):
    """-> (attribute, kind bits) of a settable option, or (None, 0)."""
    for name, code in NAMES.items():
        if code & 0xFF == option and code & _KIND:
            return name, code
    return None, 0


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
    mechanism = 0  # NULL; PLAIN 1, CURVE 2 (set by the PLAIN/CURVE options)

    def __init__(self, socket_type):
        self.socket_type = socket_type

    def set(self, option, value):
        """Type errors are TypeError and bad values EINVAL, as in pyzmq (a str
        is refused: setsockopt_string encodes it)."""
        name, code = _find(option)
        kind = code & _KIND
        if isinstance(value, str):
            raise TypeError("unicode not allowed, use setsockopt_string")
        if kind == _BYTES:
            ok = isinstance(value, (bytes, bytearray, memoryview))
        else:  # (MicroPython's bool is no int)
            ok = isinstance(value, int) or value is True or value is False
        if not ok:
            raise TypeError("expected %s, got: %r" % ("bytes" if kind == _BYTES else "int", value))
        # (unknown options pass as ints, as pyzmq's)
        if name is None or not _ONLY.get(option, -1) & (1 << self.socket_type):
            raise ZMQError(_EINVAL, "unknown or read-only option, or not for this socket type")
        if kind == _BYTES:
            value = bytes(value)
            if _CURVE_PUBLICKEY <= option <= _CURVE_SERVERKEY:
                value = _curve_key(value)
            elif option == _ROUTING_ID and (len(value) > 255 or (value and value[0] == 0)):
                raise ZMQError(_EINVAL, "routing id must be 1-255 bytes not starting with 0")
            elif len(value) > 255:
                raise ZMQError(_EINVAL, "option %s longer than 255 bytes" % name)
        else:
            value = int(value)  # a bool is an int
            if value < (-1 if code & _NEG else 0) or (kind == _FLAG and value > 1):
                raise ZMQError(_EINVAL, "invalid value %r for option %s" % (value, name))
        setattr(self, name, value)
        if _PLAIN_SERVER <= option <= _PLAIN_PASSWORD:
            self.mechanism = 1 if (self.plain_server or self.plain_username or self.plain_password) else 0
        elif option == _CURVE_SERVER or option == _CURVE_SERVERKEY:
            self.mechanism = 2 if (self.curve_server or self.curve_serverkey) else self.mechanism

    def get(self, option):
        name = _find(option)[0]
        if name is None or option in _ONLY:  # _ONLY's are write-only, as libzmq's
            raise ZMQError(_EINVAL, "unknown or write-only option %r" % (option,))
        v = getattr(self, name)
        if _CURVE_PUBLICKEY <= option <= _CURVE_SERVERKEY and v:
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
            raise ZMQError(_EINVAL, "invalid Z85 CURVE key") from None
    raise ZMQError(_EINVAL, "CURVE key must be 32 bytes or 40 Z85 characters")
