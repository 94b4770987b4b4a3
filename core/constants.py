"""libzmq's numbers for socket types, options, flags, events and errno values.

Kept identical to libzmq so that pyzmq programs and wire peers agree.
"""
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


# socket types
PAIR = const(0)
PUB = const(1)
SUB = const(2)
REQ = const(3)
REP = const(4)
DEALER = const(5)
ROUTER = const(6)
PULL = const(7)
PUSH = const(8)
XPUB = const(9)
XSUB = const(10)

SOCKET_TYPE_NAMES = (b"PAIR", b"PUB", b"SUB", b"REQ", b"REP", b"DEALER",
                     b"ROUTER", b"PULL", b"PUSH", b"XPUB", b"XSUB")

# flags
DONTWAIT = const(1)
NOBLOCK = DONTWAIT
SNDMORE = const(2)

# poll events
POLLIN = const(1)
POLLOUT = const(2)
POLLERR = const(4)

# options (libzmq numbers)
ROUTING_ID = const(5)
IDENTITY = ROUTING_ID
SUBSCRIBE = const(6)
UNSUBSCRIBE = const(7)
SNDBUF = const(11)
RCVBUF = const(12)
RCVMORE = const(13)
FD = const(14)
EVENTS = const(15)
TYPE = const(16)
LINGER = const(17)
RECONNECT_IVL = const(18)
BACKLOG = const(19)
RECONNECT_IVL_MAX = const(21)
MAXMSGSIZE = const(22)
SNDHWM = const(23)
RCVHWM = const(24)
RCVTIMEO = const(27)
SNDTIMEO = const(28)
LAST_ENDPOINT = const(32)
ROUTER_MANDATORY = const(33)
TCP_KEEPALIVE = const(34)
IMMEDIATE = const(39)
XPUB_VERBOSE = const(40)
IPV6 = const(42)
MECHANISM = const(43)
PLAIN_SERVER = const(44)
PLAIN_USERNAME = const(45)
PLAIN_PASSWORD = const(46)
CURVE_SERVER = const(47)
CURVE_PUBLICKEY = const(48)
CURVE_SECRETKEY = const(49)
CURVE_SERVERKEY = const(50)
REQ_CORRELATE = const(52)
REQ_RELAXED = const(53)
CONFLATE = const(54)
ZAP_DOMAIN = const(55)
HANDSHAKE_IVL = const(66)
HEARTBEAT_IVL = const(75)
HEARTBEAT_TTL = const(76)
HEARTBEAT_TIMEOUT = const(77)
CONNECT_TIMEOUT = const(79)
HWM = const(201)  # pyzmq's pseudo-option: sets SNDHWM and RCVHWM

# mechanisms
NULL = const(0)
PLAIN = const(1)
CURVE = const(2)

# socket monitor events (libzmq values)
EVENT_CONNECTED = const(0x0001)
EVENT_CONNECT_DELAYED = const(0x0002)
EVENT_CONNECT_RETRIED = const(0x0004)
EVENT_LISTENING = const(0x0008)
EVENT_BIND_FAILED = const(0x0010)
EVENT_ACCEPTED = const(0x0020)
EVENT_ACCEPT_FAILED = const(0x0040)
EVENT_CLOSED = const(0x0080)
EVENT_DISCONNECTED = const(0x0200)
EVENT_MONITOR_STOPPED = const(0x0400)
EVENT_HANDSHAKE_FAILED_NO_DETAIL = const(0x0800)
EVENT_HANDSHAKE_SUCCEEDED = const(0x1000)
EVENT_HANDSHAKE_FAILED_PROTOCOL = const(0x2000)
EVENT_HANDSHAKE_FAILED_AUTH = const(0x4000)
EVENT_ALL = const(0xFFFF)

# errno values (Linux numbers, as pyzmq exposes them) and libzmq's own
ENOENT = const(2)
EAGAIN = const(11)
ENOMEM = const(12)
ENODEV = const(19)
EINVAL = const(22)
EPIPE = const(32)
EMSGSIZE = const(90)
EPROTONOSUPPORT = const(93)
ENOTSUP = const(95)
EADDRINUSE = const(98)
EADDRNOTAVAIL = const(99)
ENOTSOCK = const(88)
ENOTCONN = const(107)
ECONNREFUSED = const(111)
EHOSTUNREACH = const(113)
ETIMEDOUT = const(110)
EFSM = const(156384763)
ENOCOMPATPROTO = const(156384764)
ETERM = const(156384765)
EMTHREAD = const(156384766)

if __import__("sys").implementation.name != "micropython":
    from .constants_extra import *  # noqa: F401,F403,E402
