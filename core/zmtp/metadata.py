"""ZMTP metadata properties (READY, INITIATE): encode, and parse with bounds checks.

Property: 1-byte name length, name, 4-byte big-endian value length, value.
Every length is compared against what is left before anything is copied, and
leftover bytes are an error (CVE-2019-13132 class).
"""
from ..errors import ProtocolError

MAX_PROPERTIES = 64


def encode(props):
    """props: iterable of (name: bytes, value: bytes) -> bytes."""
    out = bytearray()
    for name, value in props:
        n = len(name)
        if not 0 < n < 256:
            raise ValueError("metadata name length")
        out.append(n)
        out += name
        out += len(value).to_bytes(4, "big")
        out += value
    return bytes(out)


def parse(data, start=0):
    """Parse properties from data[start:] -> dict with lower-cased names."""
    props = {}
    pos = start
    end = len(data)
    count = 0
    while pos < end:
        count += 1
        if count > MAX_PROPERTIES:
            raise ProtocolError("too many metadata properties")
        n = data[pos]
        pos += 1
        if n == 0 or n > end - pos:
            raise ProtocolError("malformed metadata name")
        name = bytes(data[pos : pos + n])
        pos += n
        if end - pos < 4:
            raise ProtocolError("malformed metadata value length")
        vlen = int.from_bytes(data[pos : pos + 4], "big")
        pos += 4
        if vlen > end - pos:
            raise ProtocolError("metadata value exceeds command")
        props[name.lower()] = bytes(data[pos : pos + vlen])
        pos += vlen
    return props
