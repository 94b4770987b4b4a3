"""What `edgezmq sub/pub/req/rep` share: their options, the socket they open
(bind or connect, CURVE keys), the frames they read from arguments and
stdin, and the exit codes a script can test.

Exit codes: 0 done (--count reached, input used up, replies received);
1 timed out (nothing within --timeout); 2 usage (a bad option or key);
3 a ZeroMQ error (bind or connect refused...); 130 interrupted (Ctrl-C).
"""
from __future__ import annotations

import argparse
import os  # port-ok: CPython-only front end
import sys
from typing import Callable, Iterator  # port-ok: CPython-only front end

from .show import FORMATS, Printer

EXIT_OK = 0
EXIT_TIMEOUT = 1
EXIT_USAGE = 2
EXIT_ERROR = 3
EXIT_INTERRUPTED = 130

LINGER_MS = 1000  # at exit, how long queued messages may take to go out (at least; or --timeout)

EXIT_CODES = """exit status: 0 done, 1 timed out (--timeout), 2 usage error,
3 ZeroMQ error (bind, connect), 130 interrupted"""


class UsageError(Exception):
    """A bad option value: exit 2 with the message."""


def parser(prog: str, doc: str, count_help: str) -> argparse.ArgumentParser:
    """The options every socket command has; the command adds its own."""
    head, _, rest = doc.strip().partition("\n")
    ap = argparse.ArgumentParser(prog=prog, description=head, epilog=rest.strip("\n") + "\n\n" + EXIT_CODES,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("endpoint", help="tcp://host:port, ipc:///path, serial:///dev/ttyUSB0?baud=115200 ...")
    ap.add_argument("--bind", action="store_true", help="bind the endpoint (default: connect to it)")
    ap.add_argument("-n", "--count", type=int, default=0, metavar="N", help=count_help)
    ap.add_argument("-t", "--timeout", type=int, default=-1, metavar="MS",
                    help="give up (exit 1) after MS milliseconds without a message (default: wait for ever)")
    ap.add_argument("-s", "--separator", metavar="SEP",
                    help="frames of one message: split each argument and input line at SEP, "
                         "and join printed frames with SEP (default: no split, printed with a space)")
    ap.add_argument("-f", "--format", choices=FORMATS, default="text",
                    help="text: readable (JSON indented, other bytes escaped; default); "
                         "line: one line per message (JSON compact); raw: the bytes as received")
    g = ap.add_argument_group("CURVE security", "a Z85 key may start with '-': give it as --curve-secretkey=KEY")
    g.add_argument("--curve-serverkey", metavar="KEY|FILE",
                   help="be a CURVE client of the server with this public key (Z85, or a certificate file)")
    g.add_argument("--curve-server", action="store_true",
                   help="be the CURVE server (needs --curve-secretkey or --curve-cert)")
    g.add_argument("--curve-publickey", metavar="KEY", help="this side's public key (Z85)")
    g.add_argument("--curve-secretkey", metavar="KEY", help="this side's secret key (Z85)")
    g.add_argument("--curve-cert", metavar="FILE",
                   help="this side's keypair from a certificate file (`edgezmq keygen`'s NAME.key_secret)")
    return ap


def run(prog: str, args: argparse.Namespace, socket_type: int, body: Callable) -> int:
    """Open the socket, run body(sock, printer) -> exit code, close; errors -> exit codes."""
    import edgezmq as zmq

    ctx = zmq.Context()
    linger = 0
    try:
        try:
            sock = open_socket(ctx, socket_type, args)
        except zmq.ZMQError as e:
            print("%s: %s %s: %s" % (prog, "bind" if args.bind else "connect", args.endpoint, e),
                  file=sys.stderr)
            return EXIT_ERROR
        code = body(sock, Printer(args.format, args.separator))
        linger = max(LINGER_MS, args.timeout)
        return code
    except UsageError as e:
        print("%s: %s" % (prog, e), file=sys.stderr)
        return EXIT_USAGE
    except zmq.Again:
        print("%s: timed out: nothing within %d ms" % (prog, args.timeout), file=sys.stderr)
        return EXIT_TIMEOUT
    except zmq.ZMQError as e:
        print("%s: %s" % (prog, e), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (| head): done
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - so the interpreter's final flush is quiet
        return EXIT_OK
    finally:
        ctx.destroy(linger=linger)


def open_socket(ctx, socket_type: int, args: argparse.Namespace):
    """A socket of this type with the CURVE keys and timeouts of `args`, bound or connected."""
    sock = ctx.socket(socket_type)
    sock.linger = 0
    sock.rcvtimeo = args.timeout
    sock.sndtimeo = args.timeout
    try:
        apply_curve(sock, args)
        (sock.bind if args.bind else sock.connect)(args.endpoint)
    except Exception:
        sock.close(0)
        raise
    return sock


def apply_curve(sock, args: argparse.Namespace) -> None:
    """Set the CURVE options asked for, after checking they make sense together."""
    import edgezmq as zmq

    own_public, own_secret = own_keypair(args)
    if args.curve_server:
        if args.curve_serverkey:
            raise UsageError("--curve-server and --curve-serverkey: one side is the server, the other the client")
        if own_secret is None:
            raise UsageError("--curve-server needs this side's keys: --curve-secretkey KEY or --curve-cert FILE")
        sock.curve_server = True
    elif args.curve_serverkey:
        sock.curve_serverkey = read_key(args.curve_serverkey, "--curve-serverkey")
        if own_secret is None:  # a client may use a throwaway keypair, as libzmq's clients often do
            own_public, own_secret = zmq.curve_keypair()
    elif own_secret is not None or own_public is not None:
        raise UsageError("CURVE keys given, but neither --curve-serverkey (client) nor --curve-server")
    else:
        return
    sock.curve_publickey = own_public
    sock.curve_secretkey = own_secret


def own_keypair(args: argparse.Namespace) -> tuple[bytes | None, bytes | None]:
    """(public, secret) Z85 from --curve-cert or --curve-publickey/--curve-secretkey."""
    import edgezmq as zmq

    if args.curve_cert:
        if args.curve_publickey or args.curve_secretkey:
            raise UsageError("--curve-cert or --curve-publickey/--curve-secretkey, not both")
        public, secret = load_cert(args.curve_cert)
        if secret is None:
            raise UsageError("%s holds no secret key (use NAME.key_secret)" % args.curve_cert)
        return public, secret
    public = read_key(args.curve_publickey, "--curve-publickey") if args.curve_publickey else None
    secret = read_key(args.curve_secretkey, "--curve-secretkey") if args.curve_secretkey else None
    if public is not None and secret is None:
        raise UsageError("--curve-publickey needs --curve-secretkey")
    if secret is not None:
        derived = zmq.curve_public(secret)
        if public is not None and public != derived:
            raise UsageError("--curve-publickey is not the public key of --curve-secretkey")
        public = derived
    return public, secret


def read_key(value: str, option: str) -> bytes:
    """A Z85 key (40 characters), or the public key of a certificate file."""
    from edgezmq import z85

    if len(value) == 40 and not os.path.exists(value):
        try:
            if len(z85.decode(value.encode())) == 32:
                return value.encode()
        except Exception:  # noqa: BLE001 - reported below, as any bad key
            pass
        raise UsageError("%s: not a Z85 key: %r" % (option, value))
    if not os.path.exists(value):
        raise UsageError("%s: neither a 40-character Z85 key nor a certificate file: %r" % (option, value))
    return load_cert(value)[0]


def load_cert(path: str) -> tuple[bytes, bytes | None]:
    from edgezmq.auth import load_certificate

    try:
        return load_certificate(path)
    except (OSError, ValueError) as e:
        raise UsageError("cannot read the certificate %s: %s" % (path, e)) from None


def frames_of(text: bytes, separator: bytes | None) -> list[bytes]:
    """One message's frames: the text, or its pieces between separators."""
    return text.split(separator) if separator else [text]


def separator_bytes(args: argparse.Namespace) -> bytes | None:
    return os.fsencode(args.separator) if args.separator else None


def message_from_args(parts: list[str], args: argparse.Namespace) -> list[bytes]:
    """The frames of the message given as arguments (each argument a frame, or split at --separator)."""
    sep = separator_bytes(args)
    out: list[bytes] = []
    for p in parts:
        out += frames_of(os.fsencode(p), sep)  # fsencode: the argument's own bytes, whatever they are
    return out


def messages_from_stdin(args: argparse.Namespace) -> Iterator[list[bytes]]:
    """One message per input line (without its line end), split at --separator."""
    sep = separator_bytes(args)
    for line in sys.stdin.buffer:
        if line.endswith(b"\n"):
            line = line[:-1]
            if line.endswith(b"\r"):
                line = line[:-1]
        yield frames_of(line, sep)


def messages(parts: list[str], args: argparse.Namespace) -> Iterator[list[bytes]]:
    """What to send: the arguments' message --count times (once by default), or
    stdin's lines (up to --count)."""
    if parts:
        msg = message_from_args(parts, args)
        for _ in range(max(args.count, 1)):
            yield msg
        return
    for n, msg in enumerate(messages_from_stdin(args), 1):
        yield msg
        if n == args.count:
            return
