"""Hello World server (zguide hwserver.py): REP binds, answers N requests with World."""
import sys

import zmq

context = zmq.Context()
socket = context.socket(zmq.REP)
socket.bind(sys.argv[1])
print("BOUND", socket.getsockopt(zmq.LAST_ENDPOINT).decode(), flush=True)
for _ in range(int(sys.argv[2])):
    message = socket.recv()
    socket.send(b"World " + message)
socket.close()
context.term()
