"""Weather update server (zguide wuserver.py): PUB binds and publishes forever."""
import sys
from random import randrange

import zmq

context = zmq.Context()
socket = context.socket(zmq.PUB)
socket.bind(sys.argv[1])
print("BOUND", socket.last_endpoint.decode(), flush=True)
while True:
    zipcode = randrange(10000, 10010)
    temperature = randrange(-80, 135)
    relhumidity = randrange(10, 60)
    socket.send_string("%i %i %i" % (zipcode, temperature, relhumidity))
