"""Weather update client (zguide wuclient.py): SUB filters one zipcode."""
import sys

import zmq

context = zmq.Context()
socket = context.socket(zmq.SUB)
socket.connect(sys.argv[1])
zip_filter = sys.argv[2]
socket.setsockopt_string(zmq.SUBSCRIBE, zip_filter)
total_temp = 0
for _update_nbr in range(20):
    string = socket.recv_string()
    zipcode, temperature, relhumidity = string.split()
    assert zipcode == zip_filter, string
    total_temp += int(temperature)
print("AVG %s %.1f" % (zip_filter, total_temp / 20), flush=True)
socket.close()
context.term()
