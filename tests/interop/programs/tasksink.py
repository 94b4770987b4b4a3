"""Task sink (zguide tasksink.py): PULL binds, waits for start, collects 100 results."""
import sys

import zmq

context = zmq.Context()
receiver = context.socket(zmq.PULL)
receiver.bind(sys.argv[1])
print("BOUND", receiver.last_endpoint.decode(), flush=True)
s = receiver.recv()
total = 0
for _task_nbr in range(100):
    s = receiver.recv()
    total += int(s.split()[1])
print("TOTAL", total, flush=True)
receiver.close()
context.term()
