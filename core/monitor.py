"""Socket monitor: events as two-frame messages on an inproc PAIR, as libzmq."""
import struct

from . import constants as C


class Monitor:
    def __init__(self, sock, addr, events):
        self.events = events
        from .endpoint import parse
        from .socket import Socket

        ep = parse(addr, True)
        if ep.transport != "inproc":
            from .errors import ZMQError

            raise ZMQError(C.EPROTONOSUPPORT, "monitor endpoints must be inproc://")
        self.pub = Socket(sock.ctx, C.PAIR)  # created under the caller's lock
        self.pub.options.sndhwm = 0
        from .transports import inproc

        inproc.bind(self.pub, ep, addr)
        self.live = True

    def emit(self, event, value, address):
        if not self.live or not event & self.events:
            return
        if isinstance(address, str):
            address = address.encode()
        elif address is None:
            address = b""
        try:
            self.pub.pattern.send_frame(struct.pack("<HI", event, value & 0xFFFFFFFF), 1)
            self.pub.pattern.send_frame(bytes(address), 0)
        except Exception:
            pass

    def stop(self):
        if self.live:
            self.emit(C.EVENT_MONITOR_STOPPED, 0, b"")
            self.live = False
            object.__setattr__(self.pub, "closed", True)
            from .transports import inproc

            for name in self.pub.inproc_names:
                inproc.unbind(self.pub, name)
