"""publish messages from the arguments or stdin lines (PUB)

    edgezmq pub tcp://pico.local:5555 'set led on'
    edgezmq pub tcp://*:5556 --bind --topic temp --wait-sub < readings.txt
    edgezmq pub tcp://pico.local:5555 temp '{"c": 21.5}' --count 10 --interval 1000

Each argument is one frame of a single message, sent --count times (once by
default); with no message arguments every stdin line is a message. --topic
adds a first frame. A SUB only receives what is published after its
subscription has reached the publisher (the "slow joiner"), so pub first
waits --delay ms (500 by default) once connected or bound; --wait-sub
instead waits until a subscriber has subscribed (bounded by --timeout), which
is what to use when nothing may be missed. At exit, queued messages get
1 s (or --timeout) to go out.
"""
from __future__ import annotations

import os  # port-ok: CPython-only front end
import time

from . import peer

PROG = "edgezmq pub"
DELAY_MS = 500  # the slow-joiner pause: time for a connection and its SUBSCRIBE on a LAN


def main(argv: list[str]) -> int:
    ap = peer.parser(PROG, __doc__, "send the message N times, or at most N stdin lines")
    ap.add_argument("message", nargs="*", help="the frames of the message (default: stdin lines)")
    ap.add_argument("--topic", metavar="TOPIC", help="a first frame before each message's own")
    ap.add_argument("--delay", type=int, default=DELAY_MS, metavar="MS",
                    help="pause before the first message, for subscribers to join (default %d)" % DELAY_MS)
    ap.add_argument("--wait-sub", action="store_true",
                    help="wait for a subscription instead of --delay (an XPUB socket)")
    ap.add_argument("--interval", type=int, default=0, metavar="MS", help="pause between messages")
    args = ap.parse_intermixed_args(argv)  # options may come after the message
    import edgezmq as zmq

    def body(sock, printer) -> int:
        if args.wait_sub:
            sock.recv()  # the first subscription (b"\x01" + prefix); Again after --timeout
        elif args.delay > 0:
            time.sleep(args.delay / 1000.0)
        topic = [os.fsencode(args.topic)] if args.topic is not None else []
        for n, msg in enumerate(peer.messages(args.message, args)):
            if n and args.interval > 0:
                time.sleep(args.interval / 1000.0)
            sock.send_multipart(topic + msg)
        return peer.EXIT_OK

    return peer.run(PROG, args, zmq.XPUB if args.wait_sub else zmq.PUB, body)
