"""edgezmq.auth on CPython: ZAP (RFC 27) authentication as pyzmq's zmq.auth.

    from edgezmq.auth import ThreadAuthenticator, CURVE_ALLOW_ANY
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.allow("127.0.0.1")
    auth.configure_plain(domain="*", passwords={"admin": "secret"})
    auth.configure_curve(domain="*", location="public_keys/")  # or CURVE_ALLOW_ANY
    ...
    auth.stop()

The policy is pyzmq's (zmq/auth/base.py): allow() and deny() are exclusive
address lists; NULL passes unless the address is denied; PLAIN and CURVE must
authenticate even from an allowed address; replies are 200 (user id = PLAIN
username, or the Z85 client key for CURVE), 400 with pyzmq's reason texts,
and 500 when the policy itself fails.

Requests are answered by edgezmq.security.zap.serve() on the context's reactor, so
no thread is started: with an I/O thread the I/O thread answers, in a
cooperative context whichever call is driving the context does. The name
ThreadAuthenticator is kept so pyzmq programs run unchanged.

Certificates use the zmq.auth format (create_certificates, load_certificate,
load_certificates), so files written here load in pyzmq and the reverse.
"""
from __future__ import annotations

import datetime
import glob
import logging
import os
from typing import Any

from edgezmq import z85
from edgezmq.security import zap as _zap

CURVE_ALLOW_ANY = "*"
VERSION = b"1.0"

__all__ = [
    "Authenticator",
    "ThreadAuthenticator",
    "CURVE_ALLOW_ANY",
    "create_certificates",
    "load_certificate",
    "load_certificates",
]

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
    import edgezmq

    public_key, secret_key = keypair or edgezmq.curve_keypair()
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


class Authenticator:
    """The ZAP policy (pyzmq's), answering through edgezmq.security.zap.serve()."""

    def __init__(self, context=None, encoding: str = "utf-8", log: Any = None):
        import edgezmq

        self.context = context or edgezmq.Context.instance()
        self.encoding = encoding
        self.allow_any = False
        self.credentials_providers: dict[str, Any] = {}
        self.passwords: dict[str, dict[str, str]] = {}
        self.certs: dict[str, dict[bytes, Any]] = {}
        self._allowed: set[str] = set()
        self._denied: set[str] = set()
        self.log = log or logging.getLogger("edgezmq.auth")
        self.zap_handler = None
        self.requests = 0  # answered so far (tests and diagnostics)

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> None:
        """Bind the handler at inproc://zeromq.zap.01 (EADDRINUSE if one is bound)."""
        if self.zap_handler is None:
            self.zap_handler = _zap.serve(self.context, self._handle)

    def stop(self) -> None:
        if self.zap_handler is not None:
            self.zap_handler.close()
            self.zap_handler = None

    def is_alive(self) -> bool:
        return self.zap_handler is not None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- policy --------------------------------------------------------------
    def allow(self, *addresses: str) -> None:
        if self._denied:
            raise ValueError("Only use allow or deny, not both")
        self._allowed.update(addresses)

    def deny(self, *addresses: str) -> None:
        if self._allowed:
            raise ValueError("Only use a allow or deny, not both")
        self._denied.update(addresses)

    def configure_plain(self, domain: str = "*", passwords: dict | None = None) -> None:
        if passwords:
            self.passwords[domain] = {_text(k): _text(v) for k, v in passwords.items()}

    def configure_curve(self, domain: str = "*", location=".") -> None:
        """location: a directory of public certificates (*.key), or CURVE_ALLOW_ANY."""
        if location == CURVE_ALLOW_ANY:
            self.allow_any = True
            return
        self.allow_any = False
        try:
            self.certs[domain] = load_certificates(location)
        except Exception as e:
            self.log.error("Failed to load CURVE certs from %s: %s", location, e)

    def configure_curve_callback(self, domain: str = "*", credentials_provider: Any = None) -> None:
        """credentials_provider.callback(domain, key) -> bool decides for domain."""
        self.allow_any = False
        if credentials_provider is not None:
            self.credentials_providers[domain] = credentials_provider

    def configure_gssapi(self, domain: str = "*", location=None) -> None:
        """GSSAPI is not implemented by edgezmq; accepted for pyzmq compatibility."""

    def curve_user_id(self, client_public_key: bytes) -> str:
        return z85.encode(client_public_key).decode("ascii")

    # -- one request -----------------------------------------------------------
    def _handle(self, domain: str, address: str, mechanism: str, credentials: list) -> tuple:
        self.requests += 1
        allowed = denied = False
        reason = "NO ACCESS"
        if self._allowed:
            if address in self._allowed:
                allowed = True
            else:
                denied, reason = True, "Address not allowed"
        elif self._denied:
            if address in self._denied:
                denied, reason = True, "Address denied"
            else:
                allowed = True
        username = "anonymous"
        if not denied:
            if mechanism == "NULL" and not allowed:
                allowed = True
            elif mechanism == "PLAIN":
                if len(credentials) != 2:
                    return 400, b"", "Invalid credentials"
                username, password = (c.decode(self.encoding, "replace") for c in credentials)
                allowed, reason = self._authenticate_plain(domain, username, password)
            elif mechanism == "CURVE":
                if len(credentials) != 1:
                    return 400, b"", "Invalid credentials"
                key = credentials[0]
                allowed, reason = self._authenticate_curve(domain, key)
                if allowed:
                    username = self.curve_user_id(key)
            elif mechanism != "NULL":
                allowed, reason = False, "Unsupported mechanism"
        self.log.debug("ZAP %s %s %s -> %s", mechanism, domain, address, "OK" if allowed else reason)
        if allowed:
            return 200, username, "OK"
        return 400, b"", reason

    def _authenticate_plain(self, domain: str, username: str, password: str) -> tuple[bool, str]:
        if not self.passwords:
            return False, "No passwords defined"
        domain = domain or "*"
        if domain not in self.passwords:
            return False, "Invalid domain"
        users = self.passwords[domain]
        if username not in users:
            return False, "Invalid username"
        if password != users[username]:
            return False, "Invalid password"
        return True, "OK"

    def _authenticate_curve(self, domain: str, client_key: bytes) -> tuple[bool, str]:
        domain = domain or "*"
        if self.allow_any:
            return True, "OK"
        provider = self.credentials_providers.get(domain)
        if provider is not None:
            ok = bool(provider.callback(domain, client_key))
            return ok, "OK" if ok else "Unknown key"
        if domain in self.certs:
            if self.certs[domain].get(z85.encode(client_key)):
                return True, "OK"
            return False, "Unknown key"
        return False, "Unknown domain"


class ThreadAuthenticator(Authenticator):
    """pyzmq's name for the authenticator that runs beside the application;
    here it runs on the context's reactor (see the module docstring)."""

    thread = None
