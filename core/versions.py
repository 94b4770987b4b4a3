"""pyzmq's version and capability functions (module-level names a device
seldom uses: on MicroPython the package loads them on first use)."""

_ZMTP_LIBZMQ = (4, 3, 5)  # the libzmq behaviour we follow


class ZMQVersionError(NotImplementedError):
    pass


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
