"""CURVE key helpers as pyzmq's zmq.curve_keypair / zmq.curve_public: Z85 text,
made by the port's crypto (pynacl on CPython, the pure or viper NaCl on MicroPython)."""


def curve_keypair():
    """-> (public, secret) as Z85 bytes."""
    from .. import z85
    from ..ports import default_port

    pk, sk = default_port().crypto().keypair()
    return z85.encode(pk), z85.encode(sk)


def curve_public(secret_key):
    """Z85 public key for a Z85 secret key."""
    from .. import z85
    from ..ports import default_port

    if isinstance(secret_key, str):
        secret_key = secret_key.encode()
    return z85.encode(default_port().crypto().public(z85.decode(secret_key)))
