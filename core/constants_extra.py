"""The libzmq numbers the core itself never uses (rare options, errno values,
aliases). CPython's `edgezmq.constants` includes them; on MicroPython they
stay out of the device's heap until a program asks for one (`zmq.EPERM`
loads this module through the package's __getattr__)."""
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


from .constants import DEALER, ROUTER  # noqa: E402

XREQ = DEALER
XREP = ROUTER
POLLPRI = const(8)
AFFINITY = const(4)
RATE = const(8)
MULTICAST_HOPS = const(25)
ROUTER_RAW = const(41)
PROBE_ROUTER = const(51)
ROUTER_HANDOVER = const(56)
IPC_FILTER_PID = const(58)
IPC_FILTER_UID = const(59)
IPC_FILTER_GID = const(60)
CONNECT_ROUTING_ID = const(61)
XPUB_NODROP = const(69)
XPUB_MANUAL = const(71)
XPUB_WELCOME_MSG = const(72)
INVERT_MATCHING = const(74)
XPUB_VERBOSER = const(78)
MECHANISM_NAMES = (b"NULL", b"PLAIN", b"CURVE")
MORE = const(1)
EVENT_CLOSE_FAILED = const(0x0100)
EPERM = const(1)
EINTR = const(4)
EBADF = const(9)
EACCES = const(13)
EFAULT = const(14)
EBUSY = const(16)
EEXIST = const(17)
EMFILE = const(24)
ENOSPC = const(28)
ENAMETOOLONG = const(36)
ENOSYS = const(38)
EAFNOSUPPORT = const(97)
ENETDOWN = const(100)
ENOBUFS = const(105)
EINPROGRESS = const(115)
ECONNABORTED = const(103)
ECONNRESET = const(104)
ENETUNREACH = const(101)
ZMQ_HAUSNUMERO = const(156384712)
