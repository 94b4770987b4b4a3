"""Z85 (RFC 32): the text form of CURVE keys, as pyzmq's zmq.utils.z85.

encode() takes a multiple of 4 bytes, decode() a multiple of 5 characters
(bytes or str). Anything else, a character outside the alphabet, or a
5-character group worth more than 0xFFFFFFFF raises ValueError: a key that
does not decode cleanly must never become a key.
"""

ALPHABET = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"

# character -> value, 0xFF for characters outside the alphabet
_DECODE = bytearray(b"\xff" * 256)
for _i in range(85):
    _DECODE[ALPHABET[_i]] = _i
del _i


def encode(data):
    """bytes (length a multiple of 4) -> Z85 bytes (5 per 4)."""
    n = len(data)
    if n % 4:
        raise ValueError("Z85 encode: length %d is not a multiple of 4" % n)
    out = bytearray(n // 4 * 5)
    a = ALPHABET
    j = 0
    for i in range(0, n, 4):
        v = int.from_bytes(data[i : i + 4], "big")
        v, out[j + 4] = divmod(v, 85)
        v, out[j + 3] = divmod(v, 85)
        v, out[j + 2] = divmod(v, 85)
        v, out[j + 1] = divmod(v, 85)
        out[j] = v
        for k in range(j, j + 5):
            out[k] = a[out[k]]
        j += 5
    return bytes(out)


def decode(text):
    """Z85 bytes or str (length a multiple of 5) -> bytes (4 per 5)."""
    if isinstance(text, str):
        try:
            text = text.encode("ascii")
        except UnicodeError:
            raise ValueError("Z85 decode: non-ASCII character") from None
    n = len(text)
    if n % 5:
        raise ValueError("Z85 decode: length %d is not a multiple of 5" % n)
    table = _DECODE
    out = bytearray(n // 5 * 4)
    j = 0
    for i in range(0, n, 5):
        v = 0
        for k in range(i, i + 5):
            d = table[text[k]]
            if d == 0xFF:
                raise ValueError("Z85 decode: invalid character at offset %d" % k)
            v = v * 85 + d
        if v > 0xFFFFFFFF:
            raise ValueError("Z85 decode: group at offset %d exceeds 32 bits" % i)
        out[j : j + 4] = v.to_bytes(4, "big")
        j += 4
    return bytes(out)
