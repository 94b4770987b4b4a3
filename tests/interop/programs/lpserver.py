"""Lazy Pirate server (zguide lpserver.py), deterministic: every 3rd request it
"crashes" (rebinds without answering). Needs a fixed (ipc) endpoint."""
import sys

import zmq

context = zmq.Context()
server = context.socket(zmq.REP)
server.bind(sys.argv[1])
print("BOUND", server.last_endpoint.decode(), flush=True)
cycles = 0
while True:
    request = server.recv()
    cycles += 1
    if cycles % 3 == 0:
        # simulate a crash: drop the request by recreating the socket
        server.close(0)
        server = context.socket(zmq.REP)
        server.bind(sys.argv[1])
        continue
    server.send(request)
