"""The 64-byte ZMTP greeting: build ours whole, parse the peer's as it trickles in.

libzmq sends its greeting in stages and waits for ours, so we always send the
whole greeting at once and decide about the peer's as soon as the bytes that
tell have arrived: byte 0 (a ZMTP 1.0 peer sends a length there), byte 9 bit 0,
then byte 10 (major version). Old peers are refused before they can wait.
"""
from ..errors import ProtocolError

SIZE = 64


def build(mechanism=b"NULL", as_server=False, major=3, minor=1):
    g = bytearray(SIZE)
    g[0] = 0xFF
    g[9] = 0x7F
    g[10] = major
    g[11] = minor
    g[12 : 12 + len(mechanism)] = mechanism
    g[32] = 1 if as_server else 0
    return bytes(g)


def feed(g, data, pos, end):
    """Copy the peer's greeting from data[pos:end] into g, a bytearray(SIZE + 1)
    whose last byte counts the greeting bytes in (a parser object would cost
    heap on a device, even frozen); return the new pos. Complete when
    g[SIZE] == SIZE. Raises ProtocolError for a peer older than ZMTP 3.0."""
    have = g[SIZE]
    while pos < end and have < SIZE:
        b = data[pos]
        g[have] = b
        if have == 0 and b != 0xFF:
            raise ProtocolError("ZMTP 1.0 peer refused (no greeting signature)")
        if have == 9 and not b & 1:
            raise ProtocolError("ZMTP 1.0 peer refused (bad greeting signature)")
        if have == 10 and b < 3:
            raise ProtocolError("ZMTP %s peer refused: only 3.x is spoken" % ("2.0" if b == 1 else "version %d" % b))
        have += 1
        pos += 1
    g[SIZE] = have
    return pos
