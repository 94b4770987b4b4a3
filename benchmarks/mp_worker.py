# MicroPython side of benchmarks/mp_bench.py (run by the unix port):
#   micropython mp_worker.py mem TYPE ENDPOINT     heap figures for one socket, one connection
#   micropython mp_worker.py push ENDPOINT N SIZE  N messages of SIZE bytes to a PULL
#   micropython mp_worker.py req ENDPOINT N SIZE   N round trips to a REP: "RT_US median"
# Prints "KEY value" lines, then DONE.
import gc
import sys

import micropython

gc.collect()
BASE_LIVE = gc.mem_alloc()
BASE_PEAK = micropython.mem_peak()

import edgezmq as zmq  # noqa: E402 - measured from before this import

T = 10000


def live():
    gc.collect()
    return gc.mem_alloc() - BASE_LIVE


def attached(s):
    for _ in range(500):
        if [p for p in s.pattern.pipes if p.connected]:
            return
        s.ctx.reactor.run_once(10)
    raise OSError("no handshake")


def mem(kind, ep):
    print("IMPORT", live())
    ctx = zmq.Context()
    print("CTX", live())
    s = ctx.socket(getattr(zmq, kind))
    s.linger = 0
    if kind == "SUB":
        s.subscribe(b"")
    s.connect(ep)
    attached(s)
    print("LIVE", live())
    print("PEAK", micropython.mem_peak() - BASE_PEAK)
    s.close()
    ctx.term()


def push(ep, n, size):
    ctx = zmq.Context()
    s = ctx.socket(zmq.PUSH)
    s.sndtimeo = T
    s.connect(ep)
    attached(s)
    msg = bytearray(size)
    for _ in range(n):
        s.send(msg)
    s.linger = T
    s.close()
    ctx.term()


def req(ep, n, size):
    import time

    ctx = zmq.Context()
    s = ctx.socket(zmq.REQ)
    s.rcvtimeo = T
    s.connect(ep)
    attached(s)
    msg = bytearray(size)
    buf = bytearray(size + 16)
    times = []
    for i in range(n + n // 10):  # the first tenth warms up
        t = time.ticks_us()
        s.send(msg)
        s.recv_into(buf)
        if i >= n // 10:
            times.append(time.ticks_diff(time.ticks_us(), t))
    times.sort()
    print("RT_US", times[len(times) // 2])
    s.linger = 0
    s.close()
    ctx.term()


def main():
    role = sys.argv[1]
    if role == "mem":
        mem(sys.argv[2], sys.argv[3])
    elif role == "push":
        push(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif role == "req":
        req(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        raise ValueError(role)
    print("DONE")


main()
