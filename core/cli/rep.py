"""answer requests: echo, or a fixed --reply (REP)

    edgezmq rep tcp://*:5555 --bind
    edgezmq rep tcp://*:5555 --bind --reply ok --count 1

Prints every request (JSON indented; see --format) and answers it with the
request itself, or with the --reply frames. Stops after --count requests, or
exits 1 when --timeout passes with no request.
"""
from __future__ import annotations

from . import peer

PROG = "edgezmq rep"


def main(argv: list[str]) -> int:
    ap = peer.parser(PROG, __doc__, "exit 0 after answering N requests (default: run until interrupted)")
    ap.add_argument("--reply", action="append", metavar="FRAME",
                    help="answer with this frame (repeatable: a multipart reply; split at --separator); "
                         "default: echo the request")
    args = ap.parse_args(argv)
    import edgezmq as zmq

    reply = peer.message_from_args(args.reply, args) if args.reply else None

    def body(sock, printer) -> int:
        answered = 0
        while not args.count or answered < args.count:
            request = sock.recv_multipart()
            printer.show(request)
            sock.send_multipart(reply if reply is not None else request)
            answered += 1
        return peer.EXIT_OK

    return peer.run(PROG, args, zmq.REP, body)
