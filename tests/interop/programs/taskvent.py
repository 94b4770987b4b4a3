"""Task ventilator (zguide taskvent.py): PUSH binds, tells the sink to start, sends tasks."""
import sys

import zmq

context = zmq.Context()
sender = context.socket(zmq.PUSH)
sender.bind(sys.argv[1])
print("BOUND", sender.last_endpoint.decode(), flush=True)
sys.stdin.readline()  # "Press Enter when the workers are ready"
sink = context.socket(zmq.PUSH)
sink.connect(sys.argv[2])
sink.send(b"0")
total = 0
for task_nbr in range(100):
    workload = task_nbr % 7 + 1
    total += workload
    sender.send_string("%u" % workload)
print("TOTAL", total, flush=True)
sink.close()
sender.close()
context.term()
