"""zmq.proxy: shuttle whole messages between two sockets (and copy to a capture)."""
from . import constants as C
from .poll import Poller


def _forward(src, dst, capture):
    parts = src.recv_multipart()
    if capture is not None:
        capture.send_multipart(parts)
    dst.send_multipart(parts)


def proxy(frontend, backend, capture=None, control=None):
    """Runs until a control socket says TERMINATE (or forever), as libzmq."""
    p = Poller()
    p.register(frontend, C.POLLIN)
    p.register(backend, C.POLLIN)
    if control is not None:
        p.register(control, C.POLLIN)
    paused = False
    while True:
        ready = dict(p.poll())
        if control is not None and control in ready:
            cmd = control.recv()
            if cmd == b"TERMINATE":
                return
            paused = cmd == b"PAUSE"
            continue
        if paused:
            continue
        if frontend in ready:
            _forward(frontend, backend, capture)
        if backend in ready:
            _forward(backend, frontend, capture)


def proxy_steerable(frontend, backend, capture=None, control=None):
    """zmq.proxy_steerable: proxy() with a control socket (PAUSE, RESUME, TERMINATE)."""
    return proxy(frontend, backend, capture, control)


def device(device_type, frontend, backend):
    """zmq.device, the old name of proxy (device_type is ignored, as libzmq)."""
    return proxy(frontend, backend)
