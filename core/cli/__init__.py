"""`edgezmq COMMAND ...` (and `python -m edgezmq`): the command line.

CPython only: a device never gets this package (the bundle builder leaves
core/cli/ out), so its modules may import anything. Each command is a module
of this package with a `main(argv) -> int`, imported only when it is run.
"""
from __future__ import annotations

import importlib
import os  # port-ok: CPython-only front end
import sys

# name -> (module of this package, one line for --help); --help lists exactly these
COMMANDS = {
    "sub": ("sub", "print messages from a publisher (SUB)"),
    "pub": ("pub", "publish messages from the arguments or stdin lines (PUB)"),
    "req": ("req", "send requests, print the replies (REQ)"),
    "rep": ("rep", "answer requests: echo, or a fixed --reply (REP)"),
    "keygen": ("keygen", "write a CURVE certificate pair (public and secret files)"),
    "gateway": ("gateway", "tunnel a serial link to TCP"),
    "bundle": ("bundle", "write the MicroPython package (.py, and .mpy with --mpy) into a folder"),
    "demo": ("demo", "the end-to-end demo: a MicroPython sensor on a virtual UART, the gateway, pyzmq"),
    "bench": ("bench", "the benchmark suite, edgezmq beside pyzmq (needs the source tree)"),
}


def usage() -> str:
    lines = ["usage: edgezmq COMMAND [ARGS...]   (edgezmq COMMAND --help for its options)",
             "       edgezmq --version", "", "commands:"]
    for name, (_, text) in COMMANDS.items():
        lines.append("  %-8s %s" % (name, text))
    return "\n".join(lines)


def version() -> str:
    """The package version, the Python running it, and which fast paths are in use."""
    import platform

    import edgezmq
    from edgezmq.ports.cpython.port import CPythonPort

    if os.environ.get("EDGEZMQ_PURE") == "1":
        fast = "off (EDGEZMQ_PURE=1: the pure-Python fallback)"
    elif CPythonPort().fast:
        fast = "on (cffi extension loaded)"
    else:
        fast = "off (cffi extension not built or not loadable: the pure-Python fallback)"
    return "edgezmq %s\nPython %s (%s) %s\nfast paths: %s" % (
        edgezmq.__version__, platform.python_version(), platform.python_implementation(),
        sys.executable, fast)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if argv[0] in ("-V", "--version"):
        print(version())
        return 0
    name = argv[0]
    if name not in COMMANDS:
        print("edgezmq: unknown command %r\n\n%s" % (name, usage()), file=sys.stderr)
        return 2
    mod = importlib.import_module("." + COMMANDS[name][0], __name__)
    return int(mod.main(argv[1:]) or 0)
