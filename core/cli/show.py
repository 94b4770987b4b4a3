"""How `edgezmq sub/req/rep` print a message, so a person can read what a
device sent: text as it is, JSON indented, any other byte escaped.

- text (default): frames joined by a space (or --separator); a frame holding
  a JSON object or array is indented over several lines; other frames are
  UTF-8 text with backslash, control and non-printable characters escaped
  (\\n, \\t, \\xNN, \\uNNNN) and bytes that are not UTF-8 as \\xNN.
- line: the same, but JSON compact on one line: one line per message.
- raw: the frames' bytes as received, joined by the separator, one newline
  after each message (for piping binary data on).
"""
from __future__ import annotations

import json
import os  # port-ok: CPython-only front end
import sys

FORMATS = ("text", "line", "raw")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def escape(data: bytes) -> str:
    """Printable text for any bytes: UTF-8 as it is, everything else escaped."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(_escape_char(chr(b)) if b < 0x80 else "\\x%02x" % b for b in data)
    return "".join(_escape_char(c) for c in text)


def _escape_char(c: str) -> str:
    if c in _NAMED:
        return _NAMED[c]
    if c.isprintable():
        return c
    o = ord(c)
    return "\\x%02x" % o if o < 0x100 else "\\u%04x" % o if o < 0x10000 else "\\U%08x" % o


def as_json(data: bytes):
    """The JSON object or array in the frame, or None (scalars stay text: `42` is just 42)."""
    head = data.lstrip()[:1]
    if head not in (b"{", b"["):
        return None
    try:
        return json.loads(data)
    except ValueError:  # UnicodeDecodeError included
        return None


def render_frame(data: bytes, fmt: str) -> str:
    obj = as_json(data)
    if obj is None:
        return escape(data)
    if fmt == "line":
        return json.dumps(obj, ensure_ascii=False)
    return json.dumps(obj, ensure_ascii=False, indent=2)


class Printer:
    """Writes each message to stdout as --format says, flushed at once (a pipe sees it live)."""

    def __init__(self, fmt: str = "text", separator: str | None = None):
        self.fmt = fmt
        self.separator = separator

    def render(self, frames: list[bytes]) -> bytes:
        """One message as the bytes to print, its newline included."""
        if self.fmt == "raw":
            sep = os.fsencode(self.separator) if self.separator is not None else b" "
            return sep.join(frames) + b"\n"
        sep = self.separator if self.separator is not None else " "
        return (sep.join(render_frame(f, self.fmt) for f in frames) + "\n").encode("utf-8")

    def show(self, frames: list[bytes]) -> None:
        out = sys.stdout.buffer
        out.write(self.render(frames))
        out.flush()
