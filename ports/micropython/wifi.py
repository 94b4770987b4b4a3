"""Wi-Fi for a board: wait for the link, rejoin after an outage, and bring
the context's connections back at once instead of after their backoff.

    from edgezmq.ports.micropython.wifi import WifiKeeper
    wifi = WifiKeeper(ctx, "my-ssid", "secret")  # network.WLAN(network.STA_IF)
    wifi.connect()            # blocks until the board has an address
    while True:
        wifi.check()          # cheap; call it from the main loop
        ...                   # (or: asyncio.create_task(wifi.run()))

After an outage, connections that may not have survived it (the address
changed, or the link was down for reset_after_ms or longer) are closed and
every connecter redials at once with its RECONNECT_IVL backoff reset; SUB
sockets resubscribe and REQ sockets recover as after any reconnect. Shorter
outages keep their TCP connections (heartbeats catch the ones that died).
Any object with active(), connect(ssid, key), isconnected() and ifconfig()
can stand in for network.WLAN (the tests use a scripted one).
"""
import time

from micropython import const

_DOWN = const(0)
_UP = const(1)


class WifiKeeper:
    def __init__(self, ctx, ssid, key=None, wlan=None, retry_ms=2000, reset_after_ms=5000):
        if wlan is None:
            import network  # port-ok: boards with Wi-Fi only (the unix port has none)

            wlan = network.WLAN(network.STA_IF)
        self.ctx = ctx
        self.ssid = ssid
        self.key = key
        self.wlan = wlan
        self.retry_ms = retry_ms
        self.reset_after_ms = reset_after_ms
        self.state = _DOWN
        self.address = None
        self.down_since = time.ticks_ms()
        self.next_try = self.down_since
        self.outages = 0  # link losses seen
        self.resets = 0  # times the connections were brought back

    def connect(self, timeout_ms=20000):
        """Join the network and wait for an address. -> the address."""
        w = self.wlan
        w.active(True)
        if not w.isconnected():
            w.connect(self.ssid, self.key)
        start = time.ticks_ms()
        while not w.isconnected():
            if time.ticks_diff(time.ticks_ms(), start) >= timeout_ms:
                raise OSError(110, "Wi-Fi: no connection to %s" % self.ssid)  # ETIMEDOUT
            self.ctx.reactor.run_once(100)  # sockets keep being served meanwhile
        self._up()
        return self.address

    def check(self):
        """Notice a lost or regained link. -> True while the link is up."""
        w = self.wlan
        now = time.ticks_ms()
        if w.isconnected():
            if self.state == _DOWN:
                long_down = time.ticks_diff(now, self.down_since) >= self.reset_after_ms
                old = self.address
                self._up()
                if long_down or old != self.address:
                    self.bring_back("Wi-Fi outage")
            return True
        if self.state == _UP:
            self.state = _DOWN
            self.down_since = now
            self.next_try = now
            self.outages += 1
        if time.ticks_diff(now, self.next_try) >= 0:
            self.next_try = time.ticks_add(now, self.retry_ms)
            try:
                w.connect(self.ssid, self.key)
            except OSError:
                pass  # still out of range: tried again after retry_ms
        return False

    async def run(self, period_ms=500):
        """check() forever, for programs built on asyncio."""
        import asyncio

        while True:
            self.check()
            await asyncio.sleep_ms(period_ms)

    def bring_back(self, reason):
        """Close the context's dialled connections and redial them now."""
        self.resets += 1
        for s in list(self.ctx.sockets):
            ivl = s.options.reconnect_ivl
            for c in list(s.connecters.values()):
                if c.closed:
                    continue
                c.ivl = ivl  # the outage's backoff is forgotten
                e = c.engine
                if e is not None and e.active:
                    e.close(reason)  # -> the connecter redials after RECONNECT_IVL
                elif c.timer is not None:
                    c.timer.cancel()
                    c.dial()

    def _up(self):
        self.state = _UP
        try:
            self.address = self.wlan.ifconfig()[0]
        except (OSError, AttributeError, IndexError):
            self.address = None
