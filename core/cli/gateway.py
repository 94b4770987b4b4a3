"""tunnel a serial link to TCP

    edgezmq gateway SERIAL_ENDPOINT TCP_ENDPOINT             # listen for desktop peers
    edgezmq gateway SERIAL_ENDPOINT TCP_ENDPOINT --connect   # dial a desktop peer instead
    edgezmq gateway SERIAL_ENDPOINT --listen tcp://*:5555 --dial tcp://pc:6000   # both

Every TCP connection accepted on the listening endpoint opens a link channel
to the device (where a socket bound to serial:// accepts it); every channel
the device opens (a socket connected to serial://) makes the gateway dial
the --connect/--dial endpoint. Bytes are relayed untouched, so ZMTP and
CURVE run end to end between the device and the desktop peer: the gateway
holds no keys and never sees plaintext.

A link reset (the device rebooted, the cable was pulled for longer than
timeout_ms, garbage) closes every channel and so every TCP connection on it;
the peers reconnect and re-greet. If the serial device disappears (USB
unplugged, a board with native USB resetting) the gateway reopens it every
half second until it is back. Link statistics (frames, retries, CRC errors,
resets) are logged every --stats seconds and at exit (SIGINT, SIGTERM).
"""
from __future__ import annotations

import argparse
import errno
import logging
import selectors
import signal
import socket
import sys
import time

from edgezmq import endpoint as E
from edgezmq.ports.cpython.serial_transport import PySerialDevice, install_fast
from edgezmq.transports.serial.channel import OPEN, LinkError
from edgezmq.transports.serial.driver import REOPEN_MS, link_options
from edgezmq.transports.serial.link import (
    EV_CHANNEL_CLOSED,
    EV_CHANNEL_OPENED,
    EV_LINK_DOWN,
    EV_LINK_UP,
    Link,
)

log = logging.getLogger("edgezmq.gateway")

STAT_KEYS = ("frames_tx", "frames_rx", "bytes_tx", "bytes_rx", "data_tx", "data_rx",
             "retransmits", "timeouts", "rej_tx", "rej_rx", "crc_errors", "bad_frames",
             "duplicates", "out_of_seq", "protocol_errors", "resets", "link_ups")


def _now() -> int:
    return int(time.monotonic() * 1000)


class Conn:
    """One TCP connection tied to one link channel."""

    def __init__(self, gw: Gateway, sock: socket.socket, ch, peer: str, connecting: bool = False):
        self.gw = gw
        self.sock = sock
        self.ch = ch
        self.peer = peer
        self.connecting = connecting
        self.out = b""  # channel bytes waiting for the TCP socket
        self.mask = 0
        self.closed = False
        gw.sel.register(sock, selectors.EVENT_WRITE if connecting else selectors.EVENT_READ, self)
        self.mask = selectors.EVENT_WRITE if connecting else selectors.EVENT_READ

    def on_event(self, mask: int) -> None:
        if self.connecting:
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                log.info("gateway: dial %s failed: %s", self.peer, errno.errorcode.get(err, err))
                self.close()
                return
            self.connecting = False
            log.info("gateway: channel %d <-> %s", self.ch.id, self.peer)
        if mask & selectors.EVENT_READ:
            self.from_tcp()
        if not self.closed and mask & selectors.EVENT_WRITE:
            self.to_tcp()

    def from_tcp(self) -> None:
        room = self.ch.writable
        if room <= 0:
            return
        try:
            data = self.sock.recv(min(room, 65536))
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            log.info("gateway: %s: %s", self.peer, e)
            self.close()
            return
        if not data:
            self.close()
            return
        self.gw.tcp_bytes_in += len(data)
        self.ch.send(data)

    def to_tcp(self) -> None:
        while True:
            if not self.out:
                if not self.ch.readable:
                    break
                self.out = self.ch.recv(65536)
            try:
                n = self.sock.send(self.out)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as e:
                log.info("gateway: %s: %s", self.peer, e)
                self.close()
                return
            self.gw.tcp_bytes_out += n
            self.out = self.out[n:]
            if self.out:
                break
        if self.ch.state != OPEN and not self.ch.readable and not self.out:
            self.close()  # the device side closed (or the link reset): done

    def update(self) -> None:
        """Watch what the channel lets us do: read TCP while it has room, write while we have bytes."""
        if self.closed or self.connecting:
            return
        if self.ch.readable or self.out:
            self.to_tcp()
            if self.closed:
                return
        want = 0
        if self.ch.state == OPEN and self.ch.writable > 0:
            want |= selectors.EVENT_READ
        if self.out:
            want |= selectors.EVENT_WRITE
        if want != self.mask:
            sel = self.gw.sel
            if not self.mask:
                sel.register(self.sock, want, self)
            elif want:
                sel.modify(self.sock, want, self)
            else:
                sel.unregister(self.sock)
            self.mask = want
        if not want and self.ch.state != OPEN:
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.mask:
            try:
                self.gw.sel.unregister(self.sock)
            except (KeyError, ValueError):
                pass
        self.mask = 0
        try:
            self.sock.close()
        except OSError:
            pass
        if self.ch.state == OPEN:
            self.ch.close()
        self.gw.conns.pop(self.ch, None)
        log.info("gateway: channel %d closed (%s)", self.ch.id, self.peer)


class Gateway:
    def __init__(self, serial_ep: str, listen: str | None, dial: str | None, stats_s: float,
                 link_kw: dict | None = None):
        ep = E.parse(serial_ep, True)
        if ep.transport != "serial":
            raise ValueError("not a serial:// endpoint: %s" % serial_ep)
        self.path = ep.path
        self.baud = int(ep.params.get("baud") or 115200)
        self.rtscts = ep.params.get("rtscts") in ("1", "true", "yes")
        kw = link_options(ep.params)
        kw.setdefault("baud", self.baud)
        kw.setdefault("max_channels", 8)
        if link_kw:
            kw.update(link_kw)
        self.link = Link(_now(), **kw)
        self.sel = selectors.DefaultSelector()
        self.dev = None
        self.reopen_at = 0
        self.dev_opens = 0
        self.dev_losses = 0
        self.conns: dict = {}
        self.tcp_accepted = 0
        self.tcp_dialed = 0
        self.tcp_bytes_in = 0
        self.tcp_bytes_out = 0
        self.dial_ep = E.parse(dial, False) if dial else None
        self.lsock = None
        self.listen_address = None
        if listen:
            self._listen(E.parse(listen, True))
        self.stats_s = stats_s
        self.stats_at = time.monotonic() + stats_s if stats_s > 0 else None
        self.running = True
        self.started = time.monotonic()

    # -- TCP ---------------------------------------------------------------------
    def _listen(self, ep) -> None:
        if ep.transport != "tcp":
            raise ValueError("the gateway listens on tcp:// endpoints")
        host = ep.host or "0.0.0.0"
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, ep.port))
        s.listen(16)
        s.setblocking(False)
        self.lsock = s
        h, p = s.getsockname()[:2]
        self.listen_address = "tcp://%s:%d" % (("[%s]" % h) if ":" in h else h, p)
        self.sel.register(s, selectors.EVENT_READ, "listen")

    def _accept(self) -> None:
        while True:
            try:
                s, addr = self.lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                log.warning("gateway: accept: %s", e)
                return
            peer = "%s:%d" % addr[:2]
            try:
                ch = self.link.open_channel()
            except LinkError as e:
                log.info("gateway: refusing %s: %s", peer, e)
                s.close()
                continue
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.tcp_accepted += 1
            self.conns[ch] = Conn(self, s, ch, peer)
            log.info("gateway: %s <-> channel %d", peer, ch.id)

    def _dial(self, ch) -> None:
        ep = self.dial_ep
        if ep is None:
            log.info("gateway: the device opened channel %d but no --connect endpoint is set", ch.id)
            ch.close()
            return
        try:
            fam, _, _, _, addr = socket.getaddrinfo(ep.host, ep.port, 0, socket.SOCK_STREAM)[0]
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            err = s.connect_ex(addr)
        except OSError as e:
            log.info("gateway: dial %s: %s", E.format_endpoint(ep), e)
            ch.close()
            return
        if err not in (0, errno.EINPROGRESS, errno.EAGAIN):
            log.info("gateway: dial %s: %s", E.format_endpoint(ep), errno.errorcode.get(err, err))
            s.close()
            ch.close()
            return
        self.tcp_dialed += 1
        self.conns[ch] = Conn(self, s, ch, E.format_endpoint(ep), connecting=True)

    # -- serial --------------------------------------------------------------------
    def _open_device(self) -> None:
        try:
            self.dev = PySerialDevice(self.path, self.baud, self.rtscts)
        except OSError as e:
            if self.dev_opens == 0 and self.reopen_at == 0:
                log.warning("gateway: cannot open %s (%s); retrying", self.path, e)
            self.reopen_at = time.monotonic() + REOPEN_MS / 1000.0
            return
        self.dev_opens += 1
        self.sel.register(self.dev.fd, selectors.EVENT_READ, "serial")
        self.dev_mask = selectors.EVENT_READ
        if self.dev_opens > 1:
            log.warning("gateway: %s is back; restarting the link", self.path)
            self.link.reset("device reopened")
        else:
            log.info("gateway: opened %s at %d baud", self.path, self.baud)

    def _device_lost(self, why) -> None:
        log.warning("gateway: serial device %s lost (%s); reopening", self.path, why)
        self.dev_losses += 1
        try:
            self.sel.unregister(self.dev.fd)
        except (KeyError, ValueError):
            pass
        self.dev.close()
        self.dev = None
        self.link.reset("device lost")
        self.reopen_at = time.monotonic() + REOPEN_MS / 1000.0

    def _serial_read(self) -> None:
        buf = self._buf
        for _ in range(8):
            try:
                n = self.dev.read_into(buf)
            except OSError as e:
                self._device_lost(e)
                return
            if n <= 0:
                return
            self.link.receive_data(buf, _now(), n)
            if n < len(buf):
                return

    def _serial_write(self) -> None:
        dev = self.dev
        if dev is None:
            return
        link = self.link
        want = 0
        while True:
            v = link.pending_output(_now())
            if not len(v):
                break
            try:
                n = dev.write(v)
            except OSError as e:
                self._device_lost(e)
                return
            if n <= 0:
                want = selectors.EVENT_WRITE
                break
            link.output_sent(n)
            if n < len(v):
                want = selectors.EVENT_WRITE
                break
        mask = selectors.EVENT_READ | want
        if mask != self.dev_mask:
            self.dev_mask = mask
            self.sel.modify(dev.fd, mask, "serial")

    def _events(self) -> None:
        while True:
            ev = self.link.poll_event()
            if ev is None:
                return
            kind, v = ev
            if kind == EV_LINK_UP:
                log.warning("gateway: link up (%s)", self.path)
            elif kind == EV_LINK_DOWN:
                log.warning("gateway: link down (%s): %s", self.path, v)
            elif kind == EV_CHANNEL_OPENED:
                self._dial(v)
            elif kind == EV_CHANNEL_CLOSED:
                c = self.conns.get(v)
                if c is not None:
                    c.update()

    # -- statistics ------------------------------------------------------------------
    def stats(self) -> dict:
        st = {k: self.link.stats.get(k, 0) for k in STAT_KEYS}
        st["up"] = int(self.link.established)
        st["channels"] = len(self.conns)
        st["tcp_accepted"] = self.tcp_accepted
        st["tcp_dialed"] = self.tcp_dialed
        st["tcp_bytes_in"] = self.tcp_bytes_in
        st["tcp_bytes_out"] = self.tcp_bytes_out
        st["device_losses"] = self.dev_losses
        return st

    def log_stats(self, final: bool = False) -> None:
        st = self.stats()
        text = " ".join("%s=%d" % kv for kv in st.items())
        log.warning("gateway: %sstats %s", "final " if final else "", text)

    # -- the loop --------------------------------------------------------------------
    def run(self) -> None:
        self._buf = bytearray(4096)
        self._open_device()
        while self.running:
            now = time.monotonic()
            if self.dev is None and now >= self.reopen_at:
                self._open_device()
            self._serial_write()
            self._events()
            for c in list(self.conns.values()):
                c.update()
            self._serial_write()
            timeout = 0.5
            if self.dev is not None:
                d = (self.link.next_deadline() - _now()) / 1000.0
                timeout = min(timeout, max(d, 0.001 if self.dev_mask == selectors.EVENT_READ else 0.02))
            else:
                timeout = max(0.0, min(timeout, self.reopen_at - now))
            if self.stats_at is not None:
                timeout = max(0.0, min(timeout, self.stats_at - now))
            for key, mask in self.sel.select(timeout):
                d = key.data
                if d == "serial":
                    if self.dev is None:
                        continue
                    if mask & selectors.EVENT_READ:
                        self._serial_read()
                elif d == "listen":
                    self._accept()
                elif isinstance(d, Conn) and not d.closed:
                    d.on_event(mask)
            self.link.tick(_now())
            if self.stats_at is not None and time.monotonic() >= self.stats_at:
                self.log_stats()
                self.stats_at = time.monotonic() + self.stats_s

    def close(self) -> None:
        for c in list(self.conns.values()):
            c.close()
        if self.dev is not None:
            # tell the device we are gone: flush the CLOSE frames briefly
            end = time.monotonic() + 0.2
            while time.monotonic() < end and self.dev is not None:
                self._serial_write()
                if not len(self.link.pending_output(_now())):
                    break
                time.sleep(0.005)
            if self.dev is not None:
                self.dev.close()
        if self.lsock is not None:
            self.lsock.close()
        self.sel.close()


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="edgezmq gateway", description=__doc__.splitlines()[0],
                                 epilog="Link options go in the serial endpoint's query: baud, mtu, window, "
                                        "timeout_ms, keepalive_ms, max_channels, rx_buffer, tx_buffer, rtscts=1.")
    ap.add_argument("serial", help="serial endpoint, e.g. serial:///dev/ttyUSB0?baud=115200")
    ap.add_argument("tcp", nargs="?", help="TCP endpoint: listened on (default) or dialled (--connect)")
    ap.add_argument("--connect", action="store_true", help="dial TCP_ENDPOINT for each channel the device opens")
    ap.add_argument("--listen", help="also listen on this TCP endpoint")
    ap.add_argument("--dial", help="also dial this TCP endpoint for channels the device opens")
    ap.add_argument("--stats", type=float, default=60.0, help="log link statistics every N seconds (0: only at exit)")
    ap.add_argument("-v", "--verbose", action="store_true", help="log every connection")
    a = ap.parse_args(argv)
    listen, dial = a.listen, a.dial
    if a.tcp:
        if a.connect:
            dial = dial or a.tcp
        else:
            listen = listen or a.tcp
    if not listen and not dial:
        ap.error("give a TCP endpoint (or --listen / --dial)")
    try:
        import serial  # noqa: F401  (without it the device never opens: say so and stop)
    except ImportError:
        print("edgezmq gateway: the serial line needs pyserial (pip install pyserial, or edgezmq[serial])",
              file=sys.stderr)
        return 2
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO if a.verbose else logging.WARNING,
                            format="%(asctime)s %(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO if a.verbose else logging.WARNING)
    try:
        gw = Gateway(a.serial, listen, dial, a.stats)
    except (ValueError, OSError) as e:
        print("edgezmq gateway: %s" % e, file=sys.stderr)
        return 2
    install_fast()

    def stop(signum, frame):
        gw.running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if gw.listen_address:
        log.warning("gateway: %s <-> listening on %s", a.serial, gw.listen_address)
    if gw.dial_ep is not None:
        log.warning("gateway: %s <-> dialling %s", a.serial, E.format_endpoint(gw.dial_ep))
    try:
        gw.run()
    finally:
        gw.log_stats(final=True)
        gw.close()
    return 0
