"""Lazy Pirate client (zguide lpclient.py): REQ with Poller timeouts and retries."""
import sys

import zmq

REQUEST_TIMEOUT = 300
REQUEST_RETRIES = 5
SERVER_ENDPOINT = sys.argv[1]

context = zmq.Context()
client = context.socket(zmq.REQ)
client.connect(SERVER_ENDPOINT)
poll = zmq.Poller()
poll.register(client, zmq.POLLIN)
for sequence in range(1, int(sys.argv[2]) + 1):
    request = str(sequence).encode()
    client.send(request)
    retries_left = REQUEST_RETRIES
    while True:
        socks = dict(poll.poll(REQUEST_TIMEOUT))
        if socks.get(client) == zmq.POLLIN:
            reply = client.recv()
            if int(reply) == sequence:
                print("OK", reply.decode(), flush=True)
                break
            print("MALFORMED", reply, flush=True)
            continue
        retries_left -= 1
        print("RETRY", sequence, flush=True)
        client.setsockopt(zmq.LINGER, 0)
        client.close()
        poll.unregister(client)
        if retries_left == 0:
            print("ABANDON", flush=True)
            sys.exit(1)
        client = context.socket(zmq.REQ)
        client.connect(SERVER_ENDPOINT)
        poll.register(client, zmq.POLLIN)
        client.send(request)
client.close()  # term() waits for open sockets (pyzmq hangs without this)
context.term()
