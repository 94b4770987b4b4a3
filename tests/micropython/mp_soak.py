# MicroPython side of tests/micropython/test_soak_micropython.py::test_micropython_soak:
#   micropython mp_soak.py PULL_FROM PUSH_TO REPORT_MS
# Echoes [seq, payload] messages at full rate until [b"end"]; every REPORT_MS
# prints "HEAP <echoed> <bytes live after gc.collect()>"; then COUNT and DONE.
import gc
import sys
import time

import edgezmq as zmq


def main():
    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    pull.rcvtimeo = 20000
    pull.rcvhwm = 16  # read no further ahead than this: TCP holds the rest of a burst
    pull.connect(sys.argv[1])
    push = ctx.socket(zmq.PUSH)
    push.sndtimeo = 20000
    push.connect(sys.argv[2])
    period = int(sys.argv[3])
    n = 0
    due = time.ticks_add(time.ticks_ms(), period)
    while True:
        m = pull.recv_multipart()
        if m == [b"end"]:
            break
        push.send_multipart(m)
        n += 1
        if time.ticks_diff(time.ticks_ms(), due) >= 0:
            m = None
            gc.collect()
            print("HEAP", n, gc.mem_alloc())
            due = time.ticks_add(time.ticks_ms(), period)
    print("COUNT", n)
    push.linger = 5000
    push.close()
    pull.close()
    ctx.term()
    print("DONE")


main()
