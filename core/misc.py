"""pyzmq's module-level functions that a device seldom calls: versions,
has(), CURVE key helpers, proxy and device. The package exports them; on
MicroPython they load on first use (each name costs heap there)."""

_ZMTP_LIBZMQ = (4, 3, 5)  # the libzmq behaviour we follow


def zmq_version():
    return "%d.%d.%d" % _ZMTP_LIBZMQ


def zmq_version_info():
    return _ZMTP_LIBZMQ


def pyzmq_version():
    from . import __version__

    return __version__


def pyzmq_version_info():
    from . import VERSION

    return VERSION


def has(capability):
    """Capabilities, as zmq.has(): transports and mechanisms available here."""
    if capability in ("ipc", "curve", "plain"):
        return True
    if capability == "serial":
        return True
    return False


def curve_keypair():
    """-> (public, secret) as Z85 bytes."""
    from . import z85
    from .ports import default_port

    pk, sk = default_port().crypto().keypair()
    return z85.encode(pk), z85.encode(sk)


def curve_public(secret_key):
    """Z85 public key for a Z85 secret key."""
    from . import z85
    from .ports import default_port

    if isinstance(secret_key, str):
        secret_key = secret_key.encode()
    return z85.encode(default_port().crypto().public(z85.decode(secret_key)))


def proxy(frontend, backend, capture=None):
    from .proxy import proxy as _proxy

    return _proxy(frontend, backend, capture)


def proxy_steerable(frontend, backend, capture=None, control=None):
    from .proxy import proxy as _proxy

    return _proxy(frontend, backend, capture, control)


def device(device_type, frontend, backend):
    return proxy(frontend, backend)


Frame = bytes
Message = bytes
