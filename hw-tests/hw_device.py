# The device side of the hw-tests, on MicroPython: the virtual device (unix
# port, its UART a pty) or a real board (copied with mpremote, started with
# `import hw_device; hw_device.main(ROLE, ENDPOINT, ...)`).
#
#   micropython -X heapsize=H hw_device.py ROLE ENDPOINT [ARGS...]
#
# Roles (every one serves until killed or reset):
#   pub ENDPOINT [bind|connect] [PERIOD_MS] [SIZE] [SECONDS]
#                                                    PUB: [b"seq", b"BOOT EPOCH SEQ", payload(SEQ)]
#   rep ENDPOINT                                     REP: replies b"re:" + each frame
#   curve_rep ENDPOINT SERVER_SECRET_Z85             REP as a CURVE server
#   req ENDPOINT N                                   REQ (connects out): N requests
#   heap ENDPOINT                                    MEM lines: heap cost of the serial path
#
# BOOT is random per start; EPOCH is the number of ZMTP handshakes the socket
# has completed (it changes when a link reset makes the peers re-greet), so a
# receiver can check that within one connection nothing is lost, duplicated
# or reordered. payload(SEQ) is derived from SEQ, so corruption shows.
# Lines on stdout: "READY", "MEM live=... free=...", "GOT ...", "DONE".
import gc
import os
import sys
import time

import edgezmq as zmq


def payload(seq, size):
    unit = b"%08d|" % seq
    return (unit * (size // len(unit) + 1))[:size]


def mem(tag):
    gc.collect()
    print("MEM %s live=%d free=%d" % (tag, gc.mem_alloc(), gc.mem_free()))


def pump(ctx, ms):
    """Run the reactor for about ms milliseconds."""
    end = time.ticks_add(time.ticks_ms(), ms)
    while True:
        left = time.ticks_diff(end, time.ticks_ms())
        if left <= 0:
            return
        ctx.reactor.run_once(left)


def run_pub(ctx, ep, how="bind", period=20, size=64, seconds=0):
    s = ctx.socket(zmq.PUB)
    # the heap bounds what waits while the line is slow or down: the
    # connection's send buffer is one bytearray that grows to HWM messages
    s.sndhwm = max(2, min(16, 4096 // (size + 32)))
    s.linger = 0
    (s.bind if how == "bind" else s.connect)(ep)
    boot = int.from_bytes(os.urandom(2), "big")
    print("READY boot=%d" % boot)
    seq = 0
    shown = -1
    start = time.ticks_ms()
    while not seconds or time.ticks_diff(time.ticks_ms(), start) < seconds * 1000:
        epoch = s.stats["connects"]
        if epoch != shown and epoch:
            shown = epoch
            mem("epoch%d" % epoch)
        s.send_multipart([b"seq", b"%d %d %d" % (boot, epoch, seq), payload(seq, size)])
        seq += 1
        pump(ctx, period)


def run_rep(ctx, ep, secret=None):
    s = ctx.socket(zmq.REP)
    s.linger = 0
    if secret:
        s.curve_server = True
        s.curve_secretkey = secret.encode()
        s.curve_publickey = zmq.curve_public(secret.encode())
    s.bind(ep)
    print("READY")
    n = 0
    while True:
        try:
            msg = s.recv_multipart()
        except zmq.Again:
            continue
        s.send_multipart([b"re:" + bytes(p) for p in msg])
        n += 1
        if n == 1:
            mem("first")


def run_req(ctx, ep, count):
    s = ctx.socket(zmq.REQ)
    s.rcvtimeo = 20000
    s.linger = 2000
    s.connect(ep)
    print("READY")
    for i in range(count):
        s.send_multipart([b"dev-q%d" % i, payload(i, 100)])
        print("GOT %r" % (s.recv_multipart()[0],))
        if i == 0:
            mem("first")
    s.close()
    print("DONE")


def main(role, ep, *args):
    if role == "heap":
        heap_profile(ep)
        return
    ctx = zmq.Context()
    if role == "pub":
        run_pub(ctx, ep, args[0] if args else "bind", int(args[1]) if len(args) > 1 else 20,
                int(args[2]) if len(args) > 2 else 64, int(args[3]) if len(args) > 3 else 0)
    elif role == "rep":
        run_rep(ctx, ep)
    elif role == "curve_rep":
        run_rep(ctx, ep, args[0])
    elif role == "req":
        run_req(ctx, ep, int(args[0]) if args else 3)
    else:
        raise ValueError(role)
    ctx.term()


if __name__ == "__main__" and len(sys.argv) > 2:
    main(*sys.argv[1:])


def heap_profile(ep):
    """MEM lines: what the serial path costs on the heap (virtual device)."""
    # what any connection loads, tcp too
    from edgezmq import errors, session  # noqa: F401
    from edgezmq.transports import connecter  # noqa: F401

    gc.collect()
    base = gc.mem_alloc()
    from edgezmq.ports.micropython import serial_transport  # noqa: F401
    from edgezmq.transports.serial import driver as serialtransport  # noqa: F401  (the link layer and the glue)

    gc.collect()
    print("MEM import_serial %d" % (gc.mem_alloc() - base))
    ctx = zmq.Context()
    s = ctx.socket(zmq.PUB)
    gc.collect()
    a = gc.mem_alloc()
    s.bind(ep)
    gc.collect()
    print("MEM bind_link %d" % (gc.mem_alloc() - a))
    a = gc.mem_alloc()
    while not [p for p in s.pattern.pipes if p.connected]:
        ctx.reactor.run_once(50)
    gc.collect()
    print("MEM connection %d" % (gc.mem_alloc() - a))
    print("DONE")
