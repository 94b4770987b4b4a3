"""send requests, print the replies (REQ)

    edgezmq req tcp://pico.local:5555 'set led on'
    edgezmq req tcp://pico.local:5555 get config --timeout 2000
    printf 'get temp\nget config\n' | edgezmq req tcp://pico.local:5555

Each argument is one frame of a single request, sent --count times (once by
default); with no message arguments every stdin line is a request. Each
reply is printed as it comes (JSON indented; see --format). With --timeout,
a reply that does not come in time exits 1.
"""
from __future__ import annotations

from . import peer

PROG = "edgezmq req"


def main(argv: list[str]) -> int:
    ap = peer.parser(PROG, __doc__, "send the request N times, or at most N stdin lines")
    ap.add_argument("message", nargs="*", help="the frames of the request (default: stdin lines)")
    args = ap.parse_intermixed_args(argv)  # options may come after the message
    import edgezmq as zmq

    def body(sock, printer) -> int:
        for msg in peer.messages(args.message, args):
            sock.send_multipart(msg)
            printer.show(sock.recv_multipart())
        return peer.EXIT_OK

    return peer.run(PROG, args, zmq.REQ, body)
