# The "sensor device" of `python -m edgezmq demo`, run by MicroPython:
#   micropython demo_device.py PUB_ENDPOINT REP_ENDPOINT [SECONDS]
# PUB publishes temperature readings as JSON with a sequence number; REP
# answers "get config", "set led on|off", "stop". One loop, no threads: the
# reactor runs while the device waits for the next reading or request.
# An endpoint is bound, or connected when written ">endpoint" (CZMQ's
# notation; "@endpoint" binds): over a serial link only one socket may bind,
# so the serial demo binds REP and connects PUB, both on the same UART.
# On serial://stdio (the console is the link: a board's USB cable, the
# Cortex-M3 of `edgezmq demo --device qemu-m3`) the device prints nothing.
import json
import sys

import edgezmq as zmq

try:
    from time import ticks_diff, ticks_ms
except ImportError:  # CPython, for trying the script on the desktop
    from edgezmq._compat import ticks_diff, ticks_ms


def attach(sock, spec):
    """Bind "@ep" or "ep", connect ">ep"; -> what to print."""
    if spec.startswith(">"):
        sock.connect(spec[1:])
        return "connected to " + spec[1:]
    sock.bind(spec.lstrip("@"))
    return "bound to " + sock.last_endpoint.decode()


def main():
    pub_ep = sys.argv[1] if len(sys.argv) > 1 else "tcp://0.0.0.0:5556"
    rep_ep = sys.argv[2] if len(sys.argv) > 2 else "tcp://0.0.0.0:5557"
    seconds = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    quiet = "serial://stdio" in pub_ep + rep_ep  # a print would be noise on the link
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.linger = 0
    rep = ctx.socket(zmq.REP)
    rep.linger = 500
    rep_at = attach(rep, rep_ep)  # first: a bind fails at once on a missing device
    pub_at = attach(pub, pub_ep)
    if not quiet:
        print("device: PUB %s, REP %s" % (pub_at, rep_at))
    led = "off"
    config = {"name": "sensor-1", "period_ms": 100, "unit": "C"}
    seq = 0
    temp = 21.0
    start = ticks_ms()
    next_pub = start
    running = True
    poller = zmq.Poller()
    poller.register(rep, zmq.POLLIN)
    while running and ticks_diff(ticks_ms(), start) < seconds * 1000:
        wait = ticks_diff(next_pub, ticks_ms())
        if wait <= 0:
            temp += 0.1 if seq % 10 < 5 else -0.1
            reading = {"seq": seq, "temp": round(temp, 1), "led": led}
            pub.send_multipart([b"temp", json.dumps(reading).encode()])
            seq += 1
            next_pub += config["period_ms"]
            continue
        if not poller.poll(wait):
            continue
        req = rep.recv().decode()
        if req == "get config":
            reply = json.dumps(config)
        elif req.startswith("set led "):
            led = req[8:]
            reply = json.dumps({"led": led})
        elif req == "stop":
            reply = json.dumps({"bye": seq})
            running = False
        else:
            reply = json.dumps({"error": "unknown request"})
        rep.send(reply.encode())
    ctx.destroy(500)
    if not quiet:
        print("device: stopped after %d readings" % seq)


main()
