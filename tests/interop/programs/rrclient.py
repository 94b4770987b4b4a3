"""Request-reply client (zguide rrclient.py): REQ connects to the broker frontend."""
import sys

import zmq

context = zmq.Context()
socket = context.socket(zmq.REQ)
socket.connect(sys.argv[1])
for request in range(int(sys.argv[2])):
    socket.send(b"Hello %d" % request)
    message = socket.recv()
    print(message.decode(), flush=True)
