"""`edgezmq COMMAND ...`: each command is a module ports/cpython/cmd_<name>.py
with a `main(argv) -> int` and a one-line docstring, loaded only when used."""
from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "demo": "the end-to-end demo: a MicroPython sensor on a virtual UART, the gateway, pyzmq peers",
    "bench": "the benchmark suite, edgezmq beside pyzmq",
    "bundle": "write the MicroPython package (.py, and .mpy with --mpy) into a folder",
    "keygen": "write a CURVE certificate pair (public and secret files)",
    "gateway": "tunnel a serial link to TCP",
    "pub": "publish lines from stdin",
    "sub": "print messages from a publisher",
    "req": "send a request, print the reply",
    "rep": "answer requests (echo, or a fixed reply)",
}


def usage() -> str:
    lines = ["usage: edgezmq COMMAND [ARGS...]", "", "commands:"]
    for name, text in COMMANDS.items():
        lines.append("  %-8s %s" % (name, text))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name = argv[0]
    if name not in COMMANDS:
        print("edgezmq: unknown command %r\n\n%s" % (name, usage()), file=sys.stderr)
        return 2
    try:
        mod = importlib.import_module("edgezmq.ports.cpython.cmd_" + name)
    except ImportError as e:
        if ("cmd_" + name) in str(e):
            print("edgezmq: command %r is not available in this build" % name, file=sys.stderr)
            return 2
        raise
    return int(mod.main(argv[1:]) or 0)
