# MicroPython side of tests/micropython/test_device_asyncio_wifi.py::test_wifi_keeper:
#   micropython mp_wifi.py PUSH_TO
# WifiKeeper with a scripted stand-in for network.WLAN (the unix port has no
# Wi-Fi): joins, sends, then lives through a short outage (connections kept),
# a long one (connections redialled) and an address change (redialled).
import sys
import time

import edgezmq as zmq
from edgezmq.ports.micropython.wifi import WifiKeeper


class ScriptedWlan:
    """An access point that is in range or not; a join takes three polls."""

    def __init__(self):
        self.in_range = True
        self.ip = "10.0.0.5"
        self.joins = 0
        self.polls = 0
        self.join_at = 0
        self.joined = False

    def active(self, on=None):
        return True

    def connect(self, ssid, key):
        self.joins += 1
        if self.in_range and not self.join_at:
            self.join_at = self.polls + 3

    def isconnected(self):
        self.polls += 1
        if not self.in_range:
            self.joined = False
            self.join_at = 0
        elif self.join_at and self.polls >= self.join_at:
            self.joined = True
        return self.joined

    def ifconfig(self):
        return (self.ip, "255.255.255.0", "10.0.0.1", "10.0.0.1")


def outage(wifi, wlan, ms, new_ip=None):
    """Out of range for ms, back (maybe with a new address): the keeper rejoins."""
    wlan.in_range = False
    start = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), start) < ms:
        wifi.check()
        wifi.ctx.reactor.run_once(20)
    if new_ip:
        wlan.ip = new_ip
    wlan.in_range = True
    while not wifi.check():
        wifi.ctx.reactor.run_once(20)


def main():
    ctx = zmq.Context()
    wlan = ScriptedWlan()
    # a short outage must stay under reset_after_ms even on a starved CPU
    # (its rejoin takes three polls): a wide margin; the long one is longer
    wifi = WifiKeeper(ctx, "lab", "secret", wlan=wlan, retry_ms=100, reset_after_ms=1000)
    print("UP", wifi.connect(timeout_ms=5000))
    s = ctx.socket(zmq.PUSH)
    s.sndtimeo = 5000
    s.linger = 2000
    s.connect(sys.argv[1])
    for tag, ms, ip in (("before", 0, None), ("short", 50, None), ("long", 1300, None), ("newip", 50, "10.0.0.9")):
        if ms:
            outage(wifi, wlan, ms, ip)
            print("RESETS", tag, wifi.resets)
        for i in range(3):
            s.send(b"%s-%d" % (tag.encode(), i))
    print("OUTAGES", wifi.outages, "JOINS", wlan.joins, "ADDRESS", wifi.address)
    s.close()
    ctx.term()
    print("DONE")


main()
