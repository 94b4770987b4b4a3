"""Connects PUSH, sends 100 messages and exits without closing: LINGER delivers."""
import sys

import zmq

ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
s.connect(sys.argv[1])
pad = b"x" * int(sys.argv[2]) if len(sys.argv) > 2 else b""
for i in range(100):
    s.send(b"msg %d" % i + pad)
print("SENT", flush=True)
