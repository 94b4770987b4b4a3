"""edgezmq.auth.certs, as pyzmq's zmq.auth.certs: CURVE certificates in the
zmq.auth format, so files written here load in pyzmq and the reverse."""
from __future__ import annotations

import datetime
import glob
import os  # port-ok: CPython only
from typing import Any  # port-ok: CPython only

from .. import z85

__all__ = ["create_certificates", "load_certificate", "load_certificates"]

_SECRET_BANNER = """#   ****  Generated on {0} by edgezmq  ****
#   ZeroMQ CURVE **Secret** Certificate
#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.

"""

_PUBLIC_BANNER = """#   ****  Generated on {0} by edgezmq  ****
#   ZeroMQ CURVE Public Certificate
#   Exchange securely, or use a secure mechanism to verify the contents
#   of this file after exchange. Store public certificates in your home
#   directory, in the .curve subdirectory.

"""


def _text(v: Any) -> str:
    return v.decode("utf-8") if isinstance(v, (bytes, bytearray)) else str(v)


def _write_key_file(path: str, banner: str, public_key, secret_key=None, metadata=None, mode=0o644) -> None:
    # created with its final mode: a secret key is never readable by others, not even briefly
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.chmod(path, mode)  # an existing file keeps its old mode through O_CREAT
    with os.fdopen(fd, "w", encoding="utf8") as f:
        f.write(banner.format(datetime.datetime.now()))
        f.write("metadata\n")
        for k, v in (metadata or {}).items():
            f.write("    %s = %s\n" % (_text(k), _text(v)))
        f.write("curve\n")
        f.write('    public-key = "%s"\n' % _text(public_key))
        if secret_key:
            f.write('    secret-key = "%s"\n' % _text(secret_key))


def create_certificates(key_dir, name: str, metadata: dict | None = None, keypair=None) -> tuple[str, str]:
    """Write key_dir/name.key (public, mode 0644) and name.key_secret (mode 0600).
    -> (public file, secret file). keypair: (public, secret) Z85, else a new one."""
    from ..security.keys import curve_keypair

    public_key, secret_key = keypair or curve_keypair()
    base = os.path.join(os.fspath(key_dir), name)
    public_file, secret_file = base + ".key", base + ".key_secret"
    _write_key_file(public_file, _PUBLIC_BANNER, public_key, mode=0o644)
    _write_key_file(secret_file, _SECRET_BANNER, public_key, secret_key, metadata, mode=0o600)
    return public_file, secret_file


def load_certificate(filename) -> tuple[bytes, bytes | None]:
    """-> (public_key, secret_key or None), Z85 bytes, from a zmq.auth certificate."""
    public_key = secret_key = None
    if not os.path.exists(filename):
        raise OSError("Invalid certificate file: %s" % (filename,))
    with open(filename, "rb") as f:
        for line in f:
            line = line.strip()
            if line.startswith(b"#"):
                continue
            if line.startswith(b"public-key"):
                public_key = line.split(b"=", 1)[1].strip(b" \t'\"")
            if line.startswith(b"secret-key"):
                secret_key = line.split(b"=", 1)[1].strip(b" \t'\"")
            if public_key and secret_key:
                break
    if public_key is None:
        raise ValueError("No public key found in %s" % (filename,))
    for k in (public_key, secret_key):
        if k is not None and len(z85.decode(k)) != 32:  # ValueError on bad Z85
            raise ValueError("%s: a CURVE key is 40 Z85 characters" % (filename,))
    return public_key, secret_key


def load_certificates(directory=".") -> dict[bytes, bool]:
    """{public_key: True} for every *.key certificate in directory."""
    if not os.path.isdir(directory):
        raise OSError("Invalid certificate directory: %s" % (directory,))
    certs = {}
    for path in glob.glob(os.path.join(os.fspath(directory), "*.key")):
        public_key, _ = load_certificate(path)
        if public_key:
            certs[public_key] = True
    return certs
