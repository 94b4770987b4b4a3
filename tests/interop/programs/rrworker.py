"""Request-reply worker (zguide rrworker.py): REP connects to the broker backend."""
import sys

import zmq

context = zmq.Context()
socket = context.socket(zmq.REP)
socket.connect(sys.argv[1])
name = sys.argv[2].encode()
while True:
    message = socket.recv()
    socket.send(b"World " + message + b" from " + name)
