# MicroPython side of the steady-state allocation figure (issue #3):
#   micropython mp_alloc.py PULL_FROM PUSH_TO [N] [POOL_COUNT]
# Connects a PULL to a peer that streams 100-byte messages and a PUSH to a
# peer that drains, warms up, then with gc disabled counts gc.mem_alloc()
# across N recv_into into a caller's buffer and N sends from a caller's
# buffer, and across 100 recv / recv_multipart (the convenience API).
# Prints "ALLOC <api> <messages> <bytes>" lines, then "DONE".
import gc
import sys

import edgezmq as zmq
from edgezmq.ports.micropython.port import MicroPythonPort


def window(label, fn, n):
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    for _ in range(n):
        fn()
    d = gc.mem_alloc() - a
    gc.enable()
    print("ALLOC %s %d %d" % (label, n, d))


def main():
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    pool_count = int(sys.argv[4]) if len(sys.argv) > 4 else 12
    # zero allocation needs a free pool slot for every frame in flight: the
    # RCVHWM queue plus what one 512-byte read can hold (docs/micropython.md)
    ctx = zmq.Context(port=MicroPythonPort(pool_count=pool_count))
    pull = ctx.socket(zmq.PULL)
    pull.rcvtimeo = 5000
    pull.rcvhwm = 4
    pull.connect(sys.argv[1])
    push = ctx.socket(zmq.PUSH)
    push.sndtimeo = 5000
    push.connect(sys.argv[2])
    buf = bytearray(256)
    out = bytearray(100)
    for _ in range(200):
        pull.recv_into(buf)
        push.send(out)
    window("recv_into", lambda: pull.recv_into(buf), n)
    window("send", lambda: push.send(out), n)
    window("recv", lambda: pull.recv(), 100)
    window("recv_multipart", lambda: pull.recv_multipart(), 100)
    push.close()
    pull.close()
    ctx.term()
    print("DONE")


main()
