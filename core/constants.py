"""libzmq's numbers for socket types, options, flags, events and errno values.

Kept identical to libzmq so that pyzmq programs and wire peers agree.

One table of NAME=value pairs. CPython defines every name at import. On
MicroPython the module's __getattr__ finds a name in the table the first
time it is used and keeps it: each module global costs heap (a dict slot and
an interned name), and a program uses a few dozen of these ~140 numbers.
"""
_TABLE = (
    # socket types (in order: SOCKET_TYPE_NAMES is made from these eleven)
    " PAIR=0 PUB=1 SUB=2 REQ=3 REP=4 DEALER=5 ROUTER=6 PULL=7 PUSH=8 XPUB=9 XSUB=10"
    " XREQ=5 XREP=6"
    # flags and poll events
    " DONTWAIT=1 NOBLOCK=1 SNDMORE=2 MORE=1 POLLIN=1 POLLOUT=2 POLLERR=4 POLLPRI=8"
    # options (HWM is pyzmq's pseudo-option: SNDHWM and RCVHWM)
    " AFFINITY=4 ROUTING_ID=5 IDENTITY=5 SUBSCRIBE=6 UNSUBSCRIBE=7 RATE=8 SNDBUF=11"
    " RCVBUF=12 RCVMORE=13 FD=14 EVENTS=15 TYPE=16 LINGER=17 RECONNECT_IVL=18 BACKLOG=19"
    " RECONNECT_IVL_MAX=21 MAXMSGSIZE=22 SNDHWM=23 RCVHWM=24 MULTICAST_HOPS=25"
    " RCVTIMEO=27 SNDTIMEO=28 LAST_ENDPOINT=32 ROUTER_MANDATORY=33 TCP_KEEPALIVE=34"
    " TCP_KEEPALIVE_CNT=35 TCP_KEEPALIVE_IDLE=36 TCP_KEEPALIVE_INTVL=37"
    " IMMEDIATE=39 XPUB_VERBOSE=40 ROUTER_RAW=41 IPV6=42 MECHANISM=43 PLAIN_SERVER=44"
    " PLAIN_USERNAME=45 PLAIN_PASSWORD=46 CURVE_SERVER=47 CURVE_PUBLICKEY=48"
    " CURVE_SECRETKEY=49 CURVE_SERVERKEY=50 PROBE_ROUTER=51 REQ_CORRELATE=52"
    " REQ_RELAXED=53 CONFLATE=54 ZAP_DOMAIN=55 ROUTER_HANDOVER=56 IPC_FILTER_PID=58"
    " IPC_FILTER_UID=59 IPC_FILTER_GID=60 CONNECT_ROUTING_ID=61 HANDSHAKE_IVL=66"
    " XPUB_NODROP=69 XPUB_MANUAL=71 XPUB_WELCOME_MSG=72 INVERT_MATCHING=74"
    " HEARTBEAT_IVL=75 HEARTBEAT_TTL=76 HEARTBEAT_TIMEOUT=77 XPUB_VERBOSER=78"
    " CONNECT_TIMEOUT=79 HWM=201"
    # the longest ipc:// path (Linux sockaddr_un.sun_path, less its NUL)
    " IPC_PATH_MAX_LEN=107"
    # mechanisms (MECHANISM_NAMES in this order)
    " NULL=0 PLAIN=1 CURVE=2"
    # socket monitor events
    " EVENT_CONNECTED=1 EVENT_CONNECT_DELAYED=2 EVENT_CONNECT_RETRIED=4 EVENT_LISTENING=8"
    " EVENT_BIND_FAILED=16 EVENT_ACCEPTED=32 EVENT_ACCEPT_FAILED=64 EVENT_CLOSED=128"
    " EVENT_CLOSE_FAILED=256 EVENT_DISCONNECTED=512 EVENT_MONITOR_STOPPED=1024"
    " EVENT_HANDSHAKE_FAILED_NO_DETAIL=2048 EVENT_HANDSHAKE_SUCCEEDED=4096"
    " EVENT_HANDSHAKE_FAILED_PROTOCOL=8192 EVENT_HANDSHAKE_FAILED_AUTH=16384 EVENT_ALL=65535"
    # errno values (Linux numbers, as pyzmq exposes them) and libzmq's own
    " EPERM=1 ENOENT=2 EINTR=4 EBADF=9 EAGAIN=11 ENOMEM=12 EACCES=13 EFAULT=14 EBUSY=16"
    " EEXIST=17 ENODEV=19 EINVAL=22 EMFILE=24 ENOSPC=28 EPIPE=32 ENAMETOOLONG=36"
    " ENOSYS=38 ENOTSOCK=88 EMSGSIZE=90 EPROTONOSUPPORT=93 ENOTSUP=95 EAFNOSUPPORT=97"
    " EADDRINUSE=98 EADDRNOTAVAIL=99 ENETDOWN=100 ENETUNREACH=101 ECONNABORTED=103"
    " ECONNRESET=104 ENOBUFS=105 ENOTCONN=107 ETIMEDOUT=110 ECONNREFUSED=111"
    " EHOSTUNREACH=113 EINPROGRESS=115 ZMQ_HAUSNUMERO=156384712 EFSM=156384763"
    " ENOCOMPATPROTO=156384764 ETERM=156384765 EMTHREAD=156384766 "
)


def _names(first, n):
    """The table's names from `first` on, as bytes (SOCKET_TYPE_NAMES...)."""
    t = _TABLE[_TABLE.index(" " + first + "=") + 1 :].split()
    return tuple(p.split("=")[0].encode() for p in t[:n])


def __getattr__(name):
    if name == "SOCKET_TYPE_NAMES":
        v = _names("PAIR", 11)
    elif name == "MECHANISM_NAMES":
        v = _names("NULL", 3)
    else:
        i = _TABLE.find(" " + name + "=")
        if i < 0 or name[0] == "_":
            raise AttributeError(name)
        i += len(name) + 2
        v = int(_TABLE[i : _TABLE.index(" ", i)])
    globals()[name] = v
    return v


if __import__("sys").implementation.name != "micropython":
    for _p in _TABLE.split() + ["SOCKET_TYPE_NAMES=", "MECHANISM_NAMES="]:
        __getattr__(_p.split("=")[0])
    del _p
