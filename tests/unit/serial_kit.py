"""Helpers for the serial link tests: decoding whole streams, stuffing by hand,
and Link endpoints paired on the simulated line (tests/linksim.py)."""

from linksim import Link, linkframe

F = linkframe


def stuffed(data):
    dst = bytearray(2 * len(data))
    n = F.stuff(data, 0, len(data), memoryview(dst), 0)
    return bytes(dst[:n])


# -- Link on a simulated line ---------------------------------------------------------


def make(**kw):
    kw.setdefault("baud", 115200)
    return Link(0, **kw)
