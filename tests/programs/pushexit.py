"""Connects PUSH, sends 100 messages and exits without closing: LINGER delivers."""
import sys

import zmq

ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
s.connect(sys.argv[1])
for i in range(100):
    s.send(b"msg %d" % i)
print("SENT", flush=True)
