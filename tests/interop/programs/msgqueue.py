"""Simple message queuing broker (zguide msgqueue.py): ROUTER/DEALER and zmq.proxy."""
import sys

import zmq

context = zmq.Context()
frontend = context.socket(zmq.ROUTER)
frontend.bind(sys.argv[1])
backend = context.socket(zmq.DEALER)
backend.bind(sys.argv[2])
print("BOUND", frontend.last_endpoint.decode(), backend.last_endpoint.decode(), flush=True)
zmq.proxy(frontend, backend)
