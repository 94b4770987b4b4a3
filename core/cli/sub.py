"""print messages from a publisher (SUB)

    edgezmq sub tcp://pico.local:5556 --topic temp
    edgezmq sub tcp://*:5556 --bind --count 10 --timeout 5000

Subscribes to each --topic (a prefix of the first frame; everything when
none is given) and prints every message, one per line (frames joined by a
space; JSON indented; see --format). Stops after --count messages, or exits
1 when --timeout passes with nothing received.
"""
from __future__ import annotations

import os  # port-ok: CPython-only front end

from . import peer

PROG = "edgezmq sub"


def main(argv: list[str]) -> int:
    ap = peer.parser(PROG, __doc__, "exit 0 after N messages (default: run until interrupted)")
    ap.add_argument("--topic", action="append", default=[], metavar="PREFIX",
                    help="subscribe to messages starting with PREFIX (repeatable; default: all)")
    args = ap.parse_args(argv)
    import edgezmq as zmq

    def body(sock, printer) -> int:
        for topic in args.topic or [""]:
            sock.subscribe(os.fsencode(topic))
        received = 0
        while not args.count or received < args.count:
            printer.show(sock.recv_multipart())
            received += 1
        return peer.EXIT_OK

    return peer.run(PROG, args, zmq.SUB, body)
