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
import logging  # port-ok: CPython-only front end
import signal
import socket
import sys
import time

from edgezmq import endpoint as E
from edgezmq.context import Context
from edgezmq.ports.cpython.serial_transport import install_fast, opener
from edgezmq.transports.serial.channel import OPEN, LinkError
from edgezmq.transports.serial.driver import SerialDriver, link_options

log = logging.getLogger("edgezmq.gateway")

STAT_KEYS = ("frames_tx", "frames_rx", "bytes_tx", "bytes_rx", "data_tx", "data_rx",
             "retransmits", "timeouts", "rej_tx", "rej_rx", "crc_errors", "bad_frames",
             "duplicates", "out_of_seq", "protocol_errors", "resets", "link_ups")


class Relay:
    """One TCP connection and one link channel, bytes moved both ways.

    A reactor handler for the TCP socket and the channel's owner for the
    serial driver. Flow control: TCP is read only while the channel's send
    ring has room; the channel is read only while TCP takes what it gave
    (the rest waits in `out`, the channel's ring fills, the device gets no
    credit and stops)."""

    def __init__(self, gw: Gateway, sock: socket.socket, ch, peer: str, connecting: bool = False):
        self.gw = gw
        self.sock = sock
        self.pobj = sock
        self.ch = ch
        self.peer = peer
        self.connecting = connecting
        self.out = b""  # channel bytes waiting for the TCP socket
        self.active = True
        self.interest = (True, connecting)  # (read, write) registered with the poller
        gw.relays[ch] = self
        gw.reactor.add(self, connecting)
        gw.driver.own(self)

    def on_event(self, readable: int, writable: int, error: int) -> None:
        if self.connecting:
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                log.info("gateway: dial %s failed: %s", self.peer, errno.errorcode.get(err, err))
                self.close()
                return
            self.connecting = False
            log.info("gateway: channel %d <-> %s", self.ch.id, self.peer)
        if readable or error:
            self.from_tcp()
        self.on_channel()

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
        self.gw.driver.kick()

    def on_channel(self) -> None:
        """Write what the channel holds to TCP, then watch what we may do next."""
        if not self.active or self.connecting:
            return
        ch = self.ch
        took = False
        while True:
            if not self.out:
                if not ch.rx_count:
                    break
                self.out = ch.recv(65536)
                took = True
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
        if took and ch.credit_pending:
            self.gw.driver.kick()  # credit back to the device
        if ch.state != OPEN and not ch.rx_count and not self.out:
            self.close()  # the device side closed (or the link reset): done
            return
        want = (ch.state == OPEN and ch.writable > 0, bool(self.out))
        if want != self.interest:
            r = self.gw.reactor
            if want == (False, False):  # not even an error event to wake us for
                r.remove(self)
            else:
                if self.interest == (False, False):
                    r.add(self)
                r.set_interest(self, *want)
            self.interest = want

    on_channel_closed = on_channel  # deliver the rest, then close

    def close(self) -> None:
        if not self.active:
            return
        self.active = False
        self.gw.reactor.remove(self)
        try:
            self.sock.close()
        except OSError:
            pass
        if self.ch.state == OPEN:
            self.ch.close()
        self.gw.relays.pop(self.ch, None)
        self.gw.driver.disown(self)
        log.info("gateway: channel %d closed (%s)", self.ch.id, self.peer)


class Gateway:
    """The serial driver's user: a channel per accepted TCP connection, a
    dialled TCP connection per channel the device opens."""

    def __init__(self, serial_ep: str, listen: str | None, dial: str | None, stats_s: float,
                 link_kw: dict | None = None):
        ep = E.parse(serial_ep, True)
        if ep.transport != "serial":
            raise ValueError("not a serial:// endpoint: %s" % serial_ep)
        self.path = ep.path
        self.baud = int(ep.params.get("baud") or 115200)
        kw = link_options(ep.params)
        kw.setdefault("baud", self.baud)
        kw.setdefault("max_channels", 8)
        if link_kw:
            kw.update(link_kw)
        self.dial_ep = E.parse(dial, False) if dial else None
        self.lsock = self.pobj = self.listen_address = None
        if listen:
            self._listen(E.parse(listen, True))
        self.ctx = Context(io_threads=0)
        self.reactor = self.ctx.reactor
        self.driver = SerialDriver(self.reactor, opener(ep), kw, self)
        self.link = self.driver.link
        self.relays: dict = {}
        self.tcp_accepted = self.tcp_dialed = self.tcp_bytes_in = self.tcp_bytes_out = 0
        self.stats_s = stats_s
        self.active = self.running = True
        self.closing = False

    # -- the driver's user -------------------------------------------------------
    def say(self, msg: str, *args) -> None:
        log.warning("gateway: %s: " + msg, self.path, *args)

    def link_changed(self, up: bool, reason: str | None) -> None:
        if self.closing:
            pass
        elif up:
            log.warning("gateway: link up (%s)", self.path)
        else:
            log.warning("gateway: link down (%s): %s", self.path, reason)

    def channel_opened(self, ch) -> None:
        """The device opened a channel: dial the desktop peer for it."""
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
        Relay(self, s, ch, E.format_endpoint(ep), connecting=True)

    # -- the listening socket (a reactor handler) ------------------------------------
    def _listen(self, ep) -> None:
        if ep.transport != "tcp":
            raise ValueError("the gateway listens on tcp:// endpoints")
        host = ep.host or "0.0.0.0"
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, ep.port))
        s.listen(16)
        s.setblocking(False)
        self.lsock = self.pobj = s
        h, p = s.getsockname()[:2]
        self.listen_address = "tcp://%s:%d" % (("[%s]" % h) if ":" in h else h, p)

    def on_event(self, readable: int, writable: int, error: int) -> None:
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
            except LinkError as e:  # the link is down, or no channel is free
                log.info("gateway: refusing %s: %s", peer, e)
                s.close()
                continue
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.tcp_accepted += 1
            Relay(self, s, ch, peer)
            self.driver.kick()  # the channel's OPEN
            log.info("gateway: %s <-> channel %d", peer, ch.id)

    # -- statistics ------------------------------------------------------------------
    def stats(self) -> dict:
        st = {k: self.link.stats.get(k, 0) for k in STAT_KEYS}
        st["up"] = int(self.link.established)
        st["channels"] = len(self.relays)
        st["tcp_accepted"] = self.tcp_accepted
        st["tcp_dialed"] = self.tcp_dialed
        st["tcp_bytes_in"] = self.tcp_bytes_in
        st["tcp_bytes_out"] = self.tcp_bytes_out
        st["device_losses"] = self.driver.losses
        return st

    def log_stats(self, final: bool = False) -> None:
        text = " ".join("%s=%d" % kv for kv in self.stats().items())
        log.warning("gateway: %sstats %s", "final " if final else "", text)

    def _stats_due(self) -> None:
        self.log_stats()
        self.reactor.call_later(int(self.stats_s * 1000), self._stats_due)

    # -- the loop --------------------------------------------------------------------
    def run(self) -> None:
        if self.driver.start() is None:
            log.info("gateway: opened %s at %d baud", self.path, self.baud)
        if self.lsock is not None:
            self.reactor.add(self)
        if self.stats_s > 0:
            self.reactor.call_later(int(self.stats_s * 1000), self._stats_due)
        while self.running:
            self.reactor.run_once(500)

    def stop(self) -> None:
        """From a signal handler: the loop ends after this turn."""
        self.running = False
        if self.ctx.waker is not None:
            self.ctx.waker.wake()

    def close(self) -> None:
        self.closing = True
        for r in list(self.relays.values()):
            r.close()
        if self.lsock is not None:
            self.reactor.remove(self)
            self.lsock.close()
        # tell the device we are gone: flush the CLOSE frames briefly
        d = self.driver
        end = time.monotonic() + 0.2
        while d.dev is not None and time.monotonic() < end and len(self.link.pending_output(d.now())):
            self.reactor.run_once(5)
        d.close()
        self.ctx.term()


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
        import serial  # noqa: F401  # port-ok: CPython only (without it the device never opens: say so and stop)
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
    signal.signal(signal.SIGTERM, lambda signum, frame: gw.stop())
    signal.signal(signal.SIGINT, lambda signum, frame: gw.stop())
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
