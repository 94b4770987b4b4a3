"""Socket option cases with libzmq's answers, shared by unit/test_options.py
(core/options.py must give them) and interop/test_options_libzmq.py (pyzmq
must give them too, which proves the table is libzmq's).

A case marked DIVERGES is one where edgezmq answers differently today: the
unit test expects it to fail (strict xfail), so fixing core/options.py turns
it into a failure to remove the mark from.
"""
# A libzmq test key (tests/test_security_curve.cpp), 40 Z85 characters.
KEY_Z85 = b"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"

DIVERGES = {
    ("routing_id", b""): "edgezmq accepts an empty routing id; libzmq refuses it",
    ("routing_id", b"\x00abc"): "edgezmq refuses a routing id starting with 0; libzmq accepts it",
}


def _key_raw():
    from edgezmq import z85

    return z85.decode(KEY_Z85)


# (attribute, value, accepted): setsockopt either succeeds or raises EINVAL
SETS = [
    ("linger", -1, True),
    ("linger", -2, False),
    ("sndhwm", 0, True),
    ("sndhwm", -1, False),
    ("rcvtimeo", -1, True),
    ("maxmsgsize", -1, True),
    ("reconnect_ivl", -1, True),
    ("sndbuf", -1, True),
    ("sndbuf", -2, False),
    ("backlog", -1, False),
    ("connect_timeout", -1, False),
    ("reconnect_ivl_max", -1, False),
    ("handshake_ivl", -1, False),
    ("heartbeat_ivl", -1, False),
    ("heartbeat_timeout", -1, False),
    ("tcp_keepalive", 2, False),
    ("tcp_keepalive", 1, True),
    ("tcp_keepalive_cnt", -1, True),
    ("tcp_keepalive_cnt", -2, False),
    ("tcp_keepalive_idle", 0, True),
    ("tcp_keepalive_intvl", 30, True),
    ("connect_timeout", 0, True),
    ("req_relaxed", 2, True),  # (on a REQ: libzmq takes any value >= 0)
    ("req_correlate", -1, False),
    ("conflate", 1, True),
    ("immediate", 1, True),
    ("immediate", 2, False),
    ("ipv6", 2, False),
    ("conflate", 2, False),
    ("routing_id", b"x" * 255, True),
    ("routing_id", b"x" * 256, False),
    ("routing_id", b"", False),
    ("routing_id", b"\x00abc", True),
    ("zap_domain", b"x" * 255, True),
    ("zap_domain", b"x" * 256, False),
    ("plain_username", b"x" * 256, False),
    ("curve_serverkey", KEY_Z85, True),
    ("curve_serverkey", KEY_Z85 + b"\x00", True),
    ("curve_serverkey", "raw", True),  # the 32 raw bytes of KEY_Z85
    ("curve_serverkey", b"x" * 33, False),
    ("curve_serverkey", b"~" * 40, False),  # 40 characters, not Z85
]


def value_of(v):
    return _key_raw() if v == "raw" else v


def set_id(case):
    name, value, ok = case
    v = value if not isinstance(value, bytes) or len(value) < 12 else b"%d bytes" % len(value)
    return "%s=%r-%s" % (name, v, "ok" if ok else "einval")


# Settings in order -> the MECHANISM libzmq reports after them (0 NULL, 1 PLAIN, 2 CURVE)
MECHANISMS = [
    ((), 0),
    ((("curve_server", 1),), 2),
    ((("curve_server", 1), ("curve_server", 0)), 0),
    ((("plain_server", 1),), 1),
    ((("plain_server", 1), ("plain_server", 0)), 0),
    ((("plain_username", b"u"),), 1),
    ((("plain_password", b"p"),), 1),
    ((("curve_serverkey", KEY_Z85),), 2),
    ((("curve_server", 1), ("plain_server", 1)), 1),
    ((("plain_server", 1), ("curve_server", 1)), 2),
]
MECHANISM_DIVERGES = {
    2: "edgezmq keeps CURVE after curve_server=0; libzmq falls back to NULL",
}


def mechanism_id(case):
    steps, _ = case
    return ",".join("%s=%r" % s for s in steps) or "default"


# libzmq's defaults, read from a fresh socket (REQ)
DEFAULTS = {
    "sndhwm": 1000, "rcvhwm": 1000, "linger": -1, "rcvtimeo": -1, "sndtimeo": -1,
    "reconnect_ivl": 100, "reconnect_ivl_max": 0, "maxmsgsize": -1, "heartbeat_ivl": 0,
    "heartbeat_ttl": 0, "heartbeat_timeout": -1, "handshake_ivl": 30000, "backlog": 100,
    "immediate": 0, "ipv6": 0, "tcp_keepalive": -1, "sndbuf": -1, "rcvbuf": -1,
    "connect_timeout": 0, "conflate": 0, "mechanism": 0, "tcp_keepalive_cnt": -1,
    "tcp_keepalive_idle": -1, "tcp_keepalive_intvl": -1,
}
