"""serial:// endpoints: a reliable Link on a UART, each channel carrying a
ZMTP connection (sockets) or a raw TCP relay (the gateway).

SerialDriver is the reactor handler for one serial device: it opens the
device (and reopens it every REOPEN_MS after it vanished: USB unplugged,
board reset), feeds what the UART delivers to the Link, writes the Link's
output as fast as the UART takes it, runs the Link's timers with
reactor.call_later, and hands the Link's events on, so this code exists once:

- to its user (one per driver): `channel_opened(ch)` (the peer opened a
  channel: own it or close it), `link_changed(up, reason)`, `say(msg, *args)`
  (the driver's news, `msg % args`: cannot open, device lost, device back);
- to the owner of each channel (`driver.own(owner)`, `owner.ch`):
  `on_channel()` after each turn that may have brought bytes or room, and
  `on_channel_closed()` when the peer or a link reset closed it. An owner
  that sends on its channel, or reads (credit), calls `driver.kick()`.

Two users exist. SerialSockets (below): the sockets of a context on one
device; its owners are ChannelStreams, virtual streams (no fd) that Engines
read and write. bind: channels the peer opens become accepted connections;
connect: a channel is opened while the link is up and again after the
connection on it dies, as TCP connecters redial. A link reset closes every
channel, so every ZMTP connection on the wire sees a disconnect and
re-greets. The gateway (cli/gateway.py) is the other user: its owners relay
one TCP connection each.

The port supplies the device: `opener()` -> an object with `pobj` (what the
poller polls), `read_into(buf) -> n` (n <= 0: nothing now; OSError: gone),
`write(view) -> n` and `close()`. Link parameters come from the endpoint's
query (`serial://dev?baud=115200&mtu=256&window=4&timeout_ms=3000`).
"""
from ... import constants as C
from ..._compat import ticks_diff, ticks_ms
from ...errors import ZMQError
from ..connecter import Redialer
from ..stream import Engine
from .channel import OPEN, LinkError
from .link import EV_CHANNEL_CLOSED, EV_CHANNEL_OPENED, EV_LINK_UP, Link

# endpoint query parameters passed to Link() (integers)
LINK_PARAMS = ("window", "mtu", "max_channels", "rx_buffer", "tx_buffer", "keepalive_ms",
               "timeout_ms", "hello_ms", "rto_ms", "rto_min_ms", "rto_max_ms", "max_retries")
REOPEN_MS = 500  # retry period while the device is missing
_READS = 8  # device reads per readiness event


def link_options(params):
    """Endpoint query -> Link() keyword arguments (EINVAL on a bad value)."""
    kw = {}
    try:
        for k in LINK_PARAMS:
            v = params.get(k)
            if v:
                kw[k] = int(v)
        b = params.get("baud")
        if b:
            kw["baud"] = int(b)
    except ValueError:
        raise ZMQError(C.EINVAL, "serial endpoint: bad number in %r" % (params,)) from None
    return kw


def attach(ctx, sock, ep, addr, binding, opener, link_kw=None):
    """Bind or connect `sock` on the serial device of `ep` (port.serial_attach).

    -> the bound address (bind) or a connecter (connect)."""
    links = getattr(ctx, "serial_links", None)
    if links is None:
        links = {}
        ctx.serial_links = links
    h = links.get(ep.path)
    address = "serial://" + ep.path
    if h is None or h.closed:
        if link_kw is None:
            link_kw = link_options(ep.params)
        h = SerialSockets(ctx, address, opener, link_kw)
        d = h.driver
        if binding:  # a bind fails at once on a missing device; a connect waits for it
            d.opens = -1
        err = d.start()
        if err is not None and binding:
            h.close()
            raise ZMQError(C.ENODEV, "cannot open %s: %s" % (address, err))
        d.opens = max(d.opens, 0)
        links[ep.path] = h
    elif h.closing:  # its last user left moments ago: keep it
        h.closing = False
        h.drain_deadline = 0
    if binding:
        if h.binder is not None:
            raise ZMQError(C.EADDRINUSE, "%s is already bound" % address)
        lis = SerialListener(sock, h, address)
        sock.listeners[address] = lis
        if isinstance(addr, bytes):
            addr = addr.decode()
        sock.listeners[addr] = lis
        return address
    return SerialConnecter(sock, h, address)


class SerialDriver:
    """Reactor handler for one serial device: the Link, its timers, and the
    events it hands to its user and to its channels' owners."""

    def __init__(self, reactor, opener, link_kw, user, rx_size=4096):
        self.reactor = reactor
        self.opener = opener
        self.user = user
        self._t = ticks_ms()
        self._ms = 0  # unwrapped milliseconds for the Link (ticks_ms wraps on devices)
        self.link = Link(0, **link_kw)
        self.buf = bytearray(rx_size)
        self.dev = None
        self.pobj = None  # what the poller polls: the device's
        self.active = False  # registered with the poller
        self.closed = False
        self.owners = []
        self.timer = None
        self._due = 0
        self._want_w = False
        self._busy = False
        self.reopen_timer = None
        self.opens = 0  # successful device opens (-1: the first, silent on failure)
        self.losses = 0  # times the open device failed
        self._told = False  # "cannot open" said for this outage

    def now(self):
        t = ticks_ms()
        d = ticks_diff(t, self._t)
        if d > 0:
            self._ms += d
            self._t = t
        return self._ms

    # -- device --------------------------------------------------------------
    def start(self):
        """Open the device; -> None, or the error (then retried every REOPEN_MS)."""
        self.reopen_timer = None
        if self.closed or self.dev is not None:
            return None
        try:
            dev = self.opener()
        except OSError as e:
            if not self._told and self.opens >= 0:
                self._told = True  # once per outage
                self.user.say("cannot open (%s); retrying", e)
            self.reopen_timer = self.reactor.call_later(REOPEN_MS, self.start)
            return e
        told, self._told = self._told, False
        self.dev = dev
        self.pobj = dev.pobj
        self._want_w = False
        self.reactor.add(self)
        self.active = True
        if self.opens > 0:
            self.user.say("device is back")
            self.link.reset("device reopened")
        elif told:
            self.user.say("device opened")  # it was said missing
        self.opens = self.opens + 1 if self.opens > 0 else 1
        self.service()
        return None

    def _lost(self, why):
        """The device failed (unplugged, board reset): reset and reopen later."""
        if self.dev is None:
            return
        self.user.say("device lost (%s); reopening", why)
        self.losses += 1
        self._told = True  # that says it
        self._drop_device()
        self.link.reset("device lost")
        self._events()
        if not self.closed:
            self.reopen_timer = self.reactor.call_later(REOPEN_MS, self.start)

    def _drop_device(self):
        if self.active:
            self.active = False
            try:
                self.reactor.remove(self)
            except (KeyError, ValueError, OSError):
                pass
        dev, self.dev = self.dev, None
        if dev is not None:
            try:
                dev.close()
            except OSError:
                pass

    # -- reactor callbacks -------------------------------------------------------
    def on_event(self, readable, writable, error):
        if readable or error:
            dev = self.dev
            buf = self.buf
            got = False
            st = self.link.stats
            seen = st["frames_rx"] + st["crc_errors"] + st["bad_frames"] + st["aborts_rx"]
            for _ in range(_READS):
                try:
                    n = dev.read_into(buf)
                except OSError as e:
                    self._lost(e)
                    return
                if n is None or n <= 0:
                    break
                got = True
                self.link.receive_data(buf, self.now(), n)
                if n < len(buf):
                    break
            if error and not got:
                self._lost("hang-up")
                return
            if got and not (writable or error) and seen == (st["frames_rx"] + st["crc_errors"] + st["bad_frames"]
                                                          + st["aborts_rx"]):
                # part of a frame: nothing for the link's owners yet (a UART
                # that hands over a byte or two per poll would pay a whole
                # turn each); the link's timers still run from the reactor
                return
        self.service()

    def _on_timer(self):
        self.timer = None
        if self.dev is not None:
            self.service()

    def kick(self):
        """A channel has bytes (or credit) to send: write what the UART takes."""
        if self.dev is not None and not self._busy:
            self._pump()
            self._arm()

    def service(self):
        """Events, owners, output, timer: after input, a timer, writability."""
        if self._busy:
            return
        self._busy = True
        try:
            for _ in range(4):
                self._pump()
                if not self._events():
                    break
            for o in tuple(self.owners):
                o.on_channel()
            self._pump()
            self._events()
        finally:
            self._busy = False
        if self.dev is not None:
            self._arm()

    def _pump(self):
        dev = self.dev
        if dev is None:
            return
        link = self.link
        now = self.now()
        want = False
        while True:
            v = link.pending_output(now)
            if not len(v):
                break
            try:
                n = dev.write(v)
            except OSError as e:
                self._lost(e)
                return
            if n is None or n <= 0:
                want = True
                break
            link.output_sent(n)
            if n < len(v):
                want = True
                break
        if want != self._want_w and self.active:
            self._want_w = want
            self.reactor.set_interest(self, True, want)

    def _arm(self):
        now = self._ms
        d = self.link.next_deadline() - now
        if d < 1:
            d = 20 if self._want_w else 1
        due = now + d
        t = self.timer
        if t is not None and t.live and self._due <= due:
            return
        if t is not None:
            t.cancel()
        self._due = due
        self.timer = self.reactor.call_later(d, self._on_timer)

    def _events(self):
        link = self.link
        any_ = False
        while True:
            ev = link.poll_event()
            if ev is None:
                return any_
            any_ = True
            kind, v = ev
            if kind == EV_CHANNEL_OPENED:
                self.user.channel_opened(v)
            elif kind == EV_CHANNEL_CLOSED:
                for o in self.owners:
                    if o.ch is v:
                        o.on_channel_closed()
                        break
            else:
                self.user.link_changed(kind == EV_LINK_UP, v)

    # -- channel owners ----------------------------------------------------------
    def own(self, owner):
        self.owners.append(owner)

    def disown(self, owner):
        if owner in self.owners:
            self.owners.remove(owner)
        self.kick()  # its CLOSE

    def close(self):
        if self.closed:
            return
        self.closed = True
        for t in (self.timer, self.reopen_timer):
            if t is not None:
                t.cancel()
        self._drop_device()
        self.link.reset("closed")
        self._events()


class ChannelStream:
    """A link channel as the stream an Engine reads and writes (no fd): the
    channel's owner on the socket side."""

    virtual = True  # Engine: do not register with the poller

    def __init__(self, sockets, ch):
        self.h = sockets
        self.d = sockets.driver
        self.ch = ch
        self.engine = None

    def fileno(self):
        return -1

    def recv_into(self, buf, nbytes=0):
        ch = self.ch
        if ch.rx_count:
            n = ch.recv_into(buf, nbytes)
            if ch.credit_pending:
                self.d.kick()  # credit back to the peer
            return n
        if ch.state != OPEN:
            return 0  # end of stream: closed by the peer or by a link reset
        return -1  # nothing yet

    readinto = recv_into  # the MicroPython port reads with readinto()

    def send(self, data):
        try:
            n = self.ch.send(data)
        except LinkError:
            raise OSError(C.EPIPE, "serial channel closed") from None
        if n:
            self.d.kick()
        return n

    write = send  # the MicroPython port writes with write()

    def close(self):
        if self.ch.state == OPEN:
            self.ch.close()  # queued bytes go first, then CLOSE
        self.h.forget(self)

    def on_channel(self):
        e = self.engine
        if e is None or not e.active:
            return
        ch = self.ch
        if ch.rx_count and e.reading:
            e.on_event(True, False, False)
        if e.active and e.has_output() and ch.writable:
            e.on_event(False, True, False)

    def on_channel_closed(self):
        """The peer or a link reset closed the channel: the connection ends."""
        e = self.engine
        if e is None or not e.active:
            return
        e.on_event(True, False, False)  # the rest of its bytes, then end of stream
        if e.active:  # paused at RCVHWM: it would not read to the end
            e.close("serial channel closed (%s)" % self.ch.reason, C.EVENT_DISCONNECTED)


class SerialSockets:
    """The sockets of one context on one serial device: the driver's user."""

    def __init__(self, ctx, address, opener, link_kw):
        self.ctx = ctx
        self.address = address
        port = ctx.port
        size = getattr(port, "serial_rx_size", 512 if port.name == "micropython" else 4096)
        self.driver = SerialDriver(ctx.reactor, opener, link_kw, self, size)
        self.link = self.driver.link
        self.closed = False
        self.closing = False
        self.binder = None
        self.connecters = []
        self.drain_deadline = 0

    def say(self, msg, *args):
        self.ctx.log(10, "%s: " + msg, self.address, *args)  # DEBUG: a library keeps quiet

    def channel_opened(self, ch):
        b = self.binder
        if b is None or self.closing:
            ch.close()
        else:
            b.accept(ch)

    def link_changed(self, up, reason):
        if up:
            self.say("link up")
            for c in list(self.connecters):
                c.link_up()
        else:
            self.say("link down (%s)", reason)

    def engine_on(self, sock, ch, origin, peer, session=None):
        """A ZMTP connection on channel ch (session: a connecter's, or a new one)."""
        s = ChannelStream(self, ch)
        self.driver.own(s)
        try:
            config = sock.connection_config()
            e = Engine(session or sock.new_session(peer), s, config, origin)
        except MemoryError:
            self.forget(s)
            ch.close()
            self.ctx.log(30, "%s: no memory for a connection: refused", self.address)  # WARNING
            return None
        s.engine = e
        return e

    def forget(self, s):
        self.driver.disown(s)
        if self.closing and self.drained():
            self.close()

    def release(self, user, linger=-1):
        """A listener or connecter is done; close the device when none is left
        (after up to `linger` ms, 5 s at most, for the peer to acknowledge
        what is queued)."""
        if user is self.binder:
            self.binder = None
        elif user in self.connecters:
            self.connecters.remove(user)
        if self.binder is not None or self.connecters or self.closed:
            return
        self.closing = True
        if linger == 0 or self.drained():
            self.close()
            return
        # lingering connections are flushed by ctx.term() (ctx.lingering)
        ms = 5000 if linger < 0 or linger > 5000 else linger
        self.drain_deadline = self.driver.now() + ms
        self.ctx.lingering.append(_Drain(self))
        self.ctx.reactor.call_later(ms, self._close_if_closing)

    def _close_if_closing(self):
        if self.closing:
            self.close()

    def drained(self):
        """Nothing more to deliver: no live connection, every byte acknowledged."""
        d = self.driver
        if d.dev is None or not self.link.established or d.now() >= self.drain_deadline > 0:
            return True
        for s in d.owners:
            if s.engine is not None and s.engine.active:
                return False
        for ch in self.link.channels.values():
            if ch.tx_unsent or ch.tx_unacked:
                return False
        return True

    def close(self):
        if self.closed:
            return
        self.closed = True
        self.driver.close()
        links = self.ctx.serial_links
        if links:
            for k in list(links):
                if links[k] is self:
                    del links[k]


class _Drain:
    """Lets ctx.term() wait (a bounded time) until a closing device delivered its bytes."""

    def __init__(self, sockets):
        self.h = sockets

    @property
    def active(self):
        return not self.h.closed

    def has_output(self):
        return self.h.closing and not self.h.drained()

    def close(self, reason=None):
        if self.h.closing:
            self.h.close()


class SerialListener:
    """bind(serial://...): every channel the peer opens is an accepted connection."""

    def __init__(self, sock, sockets, address):
        self.sock = sock
        self.h = sockets
        self.address = address
        self.active = True
        sockets.binder = self
        sock.monitor_event(C.EVENT_LISTENING, address, -1)

    def accept(self, ch):
        self.sock.monitor_event(C.EVENT_ACCEPTED, self.address, -1)
        self.h.engine_on(self.sock, ch, None, "%s#%d" % (self.address, ch.id & 0x7F))

    def close(self):
        if not self.active:
            return
        self.active = False
        self.h.release(self, self.sock.options.linger)
        self.sock.monitor_event(C.EVENT_CLOSED, self.address, -1)


class SerialConnecter(Redialer):
    """connect(serial://...): a channel while the link is up, reopened after a reset."""

    def __init__(self, sock, sockets, address):
        super().__init__(sock, address)
        self.h = sockets
        sockets.connecters.append(self)
        if sockets.link.established:
            self.dial()

    def link_up(self):
        if self.engine is None and self.timer is None:
            self.dial()

    def dial(self):
        if self.closed or self.engine is not None:
            return
        h = self.h
        if not h.link.established:
            return  # link_up() dials
        try:
            ch = h.link.open_channel()
        except LinkError as e:
            self.ctx.log(30, "%s: cannot open a channel: %s", self.address, e)  # WARNING
            self.retry()
            return
        self.engine = h.engine_on(self.sock, ch, self, self.address, self.session)
        if self.engine is None:
            self.retry()
            return
        self.sock.monitor_event(C.EVENT_CONNECTED, self.address, -1)
        h.driver.kick()

    def close(self):
        e = super().close()
        self.h.release(self, self.sock.options.linger)
        return e
