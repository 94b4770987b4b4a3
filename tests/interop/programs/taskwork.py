"""Task worker (zguide taskwork.py): PULL tasks, PUSH results to the sink."""
import sys

import zmq

context = zmq.Context()
receiver = context.socket(zmq.PULL)
receiver.connect(sys.argv[1])
sender = context.socket(zmq.PUSH)
sender.connect(sys.argv[2])
while True:
    s = receiver.recv()
    sender.send(b"done " + s)
