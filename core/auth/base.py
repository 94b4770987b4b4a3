"""edgezmq.auth.base, as pyzmq's zmq.auth.base: the ZAP (RFC 27) policy.

The policy is pyzmq's: allow() and deny() are exclusive address lists; NULL
passes unless the address is denied; PLAIN and CURVE must authenticate even
from an allowed address; replies are 200 (user id = PLAIN username, or the
Z85 client key for CURVE), 400 with pyzmq's reason texts, and 500 when the
policy itself fails. Requests are answered by edgezmq.security.zap.serve()
on the context's reactor: no thread or task of its own (see thread.py).
"""
from __future__ import annotations

import logging  # port-ok: CPython only
from typing import Any  # port-ok: CPython only

from .. import z85
from ..security import zap as _zap
from .certs import _text, load_certificates

CURVE_ALLOW_ANY = "*"
VERSION = b"1.0"

__all__ = ["Authenticator", "CURVE_ALLOW_ANY"]


class Authenticator:
    """The ZAP policy (pyzmq's), answering through edgezmq.security.zap.serve()."""

    def __init__(self, context=None, encoding: str = "utf-8", log: Any = None):
        from ..context import Context

        self.context = context or Context.instance()
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
