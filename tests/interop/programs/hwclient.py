"""Hello World client (zguide hwclient.py): REQ connects, sends N requests."""
import sys

import zmq

context = zmq.Context()
socket = context.socket(zmq.REQ)
socket.connect(sys.argv[1])
for request in range(int(sys.argv[2])):
    socket.send(b"Hello %d" % request)
    message = socket.recv()
    print("Received reply %s" % message.decode(), flush=True)
socket.close()
context.term()
