"""The desktop side of `edgezmq demo` (pyzmq) and its console: who says what.

The same conversation runs whether the device is on TCP or behind the
gateway: readings on a SUB, commands on a REQ. Every reading carries a
sequence number, and every one received must follow the one before, so a
lost, duplicated or reordered reading fails the demo (DemoFailed).
"""
from __future__ import annotations

import json
import queue
import re
import threading  # port-ok: CPython-only front end
import time
from typing import Callable  # port-ok: CPython-only front end

_print_lock = threading.Lock()  # lines from the pump threads never interleave


def say(who: str, text: str) -> None:
    with _print_lock:
        print("%-18s %s" % (who, text), flush=True)


class DemoFailed(Exception):
    """A step of the demo did not do what it should."""


class Lines:
    """A child's output, line by line, on a queue (and `echo`ed live when given)."""

    def __init__(self, stream, echo: Callable[[str], None] | None = None):
        self.q: queue.Queue = queue.Queue()
        self.echo = echo
        self.done = threading.Event()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream) -> None:
        for line in stream:
            line = line.rstrip("\n")
            if self.echo is not None:
                self.echo(line)
            self.q.put(line)
        self.q.put(None)
        self.done.set()

    def wait_for(self, text: str, timeout: float = 5.0) -> str:
        """The next line containing `text`."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.q.get(timeout=max(left, 0.01))
            except queue.Empty:
                raise DemoFailed("no %r within %.0f s" % (text, timeout)) from None
            if line is None:
                raise DemoFailed("exited before saying %r" % text)
            if text in line:
                return line

    def endpoints(self) -> tuple[str, str]:
        """Wait for the device's hello line: -> (PUB endpoint, REP endpoint)."""
        hello = self.wait_for("device: PUB ", timeout=10.0)
        m = re.match(r"device: PUB (?:bound|connected) to (\S+), REP (?:bound|connected) to (\S+)", hello)
        if m is None:
            raise DemoFailed("cannot read the device's endpoints: %r" % hello)
        return m.group(1), m.group(2)

    def finished(self, timeout: float) -> None:
        """Give the pump up to `timeout` to echo the child's last lines."""
        self.done.wait(timeout)


class Desktop:
    """pyzmq's SUB (readings) and REQ (commands), and the checks on what they get."""

    def __init__(self, zmq, timeout_ms: int):
        self.zmq = zmq
        self.timeout_s = timeout_ms // 1000
        self.ctx = zmq.Context()
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.rcvtimeo = timeout_ms
        self.sub.linger = 0
        self.sub.subscribe(b"temp")
        self.req = self.ctx.socket(zmq.REQ)
        self.req.rcvtimeo = timeout_ms
        self.req.sndtimeo = timeout_ms
        self.req.linger = 0
        self.last_seq: int | None = None
        self.received = 0

    def reading(self, show: bool = True) -> dict:
        """The next reading; it must be the one after the last (nothing lost or corrupt)."""
        try:
            topic, body = self.sub.recv_multipart()
        except self.zmq.Again:
            raise DemoFailed("no reading within %d s" % self.timeout_s) from None
        try:
            r = json.loads(body)
            seq = r["seq"]
        except (ValueError, KeyError):
            raise DemoFailed("corrupt reading: %r" % body) from None
        if self.last_seq is not None and seq != self.last_seq + 1:
            raise DemoFailed("reading %d after %d: lost, duplicated or out of order" % (seq, self.last_seq))
        self.last_seq = seq
        self.received += 1
        if show:
            say("device -> desktop", "PUB %s %s" % (topic.decode(), body.decode()))
        return r

    def ask(self, text: str) -> dict:
        say("desktop -> device", "REQ %r" % text)
        try:
            self.req.send_string(text)
            reply = json.loads(self.req.recv())
        except self.zmq.Again:
            raise DemoFailed("no reply to %r within %d s" % (text, self.timeout_s)) from None
        say("device -> desktop", "REP %s" % json.dumps(reply))
        return reply

    def await_led(self, state: str) -> None:
        """A reading published after the command reports the new LED state."""
        for _ in range(50):
            r = self.reading(show=False)
            if r["led"] == state:
                say("device -> desktop", "PUB temp %s  <- the LED is %s" % (json.dumps(r), state))
                return
        raise DemoFailed("the LED state %r never showed in the readings" % state)

    def readings_and_commands(self, n: int) -> None:
        for _ in range(n):  # the first one also proves the subscription took effect
            self.reading()
        if self.ask("get config").get("name") != "sensor-1":
            raise DemoFailed("unexpected config")
        if self.ask("set led on") != {"led": "on"}:
            raise DemoFailed("the LED command failed")
        self.await_led("on")

    def through_noise(self, cable, to_device: int = 2, to_gateway: int = 3) -> None:
        """Bit flips on the line cost the link retries, never a reading or a command."""
        say("cable:", "noise: flipping a bit in the next %d data chunks to the gateway and %d to the device"
            % (to_gateway, to_device))
        first = self.received
        cable.flip_bits(to_device, to_gateway)
        self.ask("set led off")
        self.ask("get config")
        self.await_led("off")
        end = time.monotonic() + 2.0
        while time.monotonic() < end or self.received - first < 10:
            self.reading(show=False)
        cable.quiet()
        say("cable:", "bits flipped: %d chunks to the gateway, %d to the device"
            % (cable.flipped["to_gateway"], cable.flipped["to_device"]))
        say("desktop:", "%d readings through the noise, up to seq %s: none lost, none corrupt"
            % (self.received - first, self.last_seq))

    def stop_device(self, device) -> None:
        """Stop the device by command; `device.wait_stopped()` sees it end."""
        if "error" not in self.ask("reboot please"):
            raise DemoFailed("an unknown command was not refused")
        self.ask("stop")
        device.wait_stopped()

    def close(self) -> None:
        if not self.ctx.closed:
            self.ctx.destroy(linger=0)
