"""The server side of the MicroPython port: listen (tcp, ipc), accept and
ipc file clean-up. MicroPythonPort loads this module the first time a
program binds, so a client's heap holds none of it; the functions become
the port's methods (`port.listen(ep, options)`).
"""
import errno
import os
import socket

from .port import _EAGAIN, _nodelay, _tcp_addr, _unix_addr

_AF_UNIX = getattr(socket, "AF_UNIX", None)


def listen(self, ep, options):
    # accept joins the class now, while binding: installed on the first
    # connection instead, it could need a bigger class dict just when the
    # heap is short, and that connection would wait unaccepted (core/_lazy.py)
    type(self).accept = accept
    if ep.transport == "ipc":
        return _listen_ipc(self, ep, options)
    host = ep.host or "0.0.0.0"
    if ":" in host:
        raise OSError(errno.EINVAL, "IPv6 endpoints are not supported on MicroPython")
    port = ep.port
    tries = 1 if port else 64
    for _ in range(tries):
        r = os.urandom(2)
        p = port or (49152 + (((r[0] << 8) | r[1]) % 16383))
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(_tcp_addr(host, p))
            s.listen(options.backlog or 4)
            s.setblocking(False)
        except OSError as e:
            s.close()
            if port or e.errno != errno.EADDRINUSE:
                raise
            continue
        return s, "tcp://%s:%d" % (host, p)
    raise OSError(errno.EADDRINUSE, "no free port")


def _listen_ipc(self, ep, options):
    if _AF_UNIX is None:
        raise OSError(errno.EOPNOTSUPP, "ipc needs AF_UNIX")
    path = ep.path
    if path == "*":
        path = "/tmp/edgezmq-%s.ipc" % "".join("%02x" % x for x in self.random(6))
    s = socket.socket(_AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            s.bind(_unix_addr(path))
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise
            # a stale file from a dead process, or a live listener?
            probe = socket.socket(_AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(_unix_addr(path))
                raise OSError(errno.EADDRINUSE, "ipc endpoint in use")
            except OSError as pe:
                if pe.errno == errno.EADDRINUSE:
                    raise
            finally:
                probe.close()
            os.remove(path)
            s.bind(_unix_addr(path))
        s.listen(options.backlog or 4)
        s.setblocking(False)
    except OSError:
        s.close()
        raise
    ep.path = path
    return s, "ipc://" + path


def unlink_ipc(self, ep):
    if ep.transport == "ipc":
        try:
            os.remove(ep.path)
        except OSError:
            pass


def accept(self, lsock):
    try:
        s, addr = lsock.accept()
    except OSError as e:
        if e.errno == _EAGAIN or e.errno == errno.ECONNABORTED:
            return None
        if e.errno in (errno.ENOMEM, errno.ENOBUFS, 23, 24):  # ENFILE, EMFILE
            self.log(30, "accept: %s", (e,))
            return None
        raise
    s.setblocking(False)
    peer = "ipc"
    if not isinstance(addr, tuple):
        try:
            addr = socket.sockaddr(addr)  # port-ok: unix port only
        except (AttributeError, ValueError, TypeError, OSError):
            addr = None
    if addr and len(addr) >= 3 and addr[0] == socket.AF_INET:
        _nodelay(s)
        peer = "%s:%d" % (_ntoa(addr[1]), addr[2])
    elif addr and len(addr) == 2 and isinstance(addr[1], int):  # boards: ("1.2.3.4", port)
        _nodelay(s)
        peer = "%s:%d" % (addr[0], addr[1])
    return s, peer


def _ntoa(b):
    if isinstance(b, str):
        return b
    try:
        return socket.inet_ntop(socket.AF_INET, b)  # port-ok: not on every board
    except (AttributeError, OSError, ValueError):
        return "%d.%d.%d.%d" % (b[0], b[1], b[2], b[3])


# the port's methods that live here (core/_lazy.py binds them on first use)
METHODS = {"listen": listen, "accept": accept, "unlink_ipc": unlink_ipc}
