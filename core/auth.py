"""edgezmq.auth, as pyzmq's zmq.auth: ThreadAuthenticator, CURVE_ALLOW_ANY,
create_certificates, load_certificate(s). The implementation is CPython's
(ports/cpython/auth.py); on MicroPython answer ZAP with edgezmq.security.zap.serve()."""
from .ports.cpython.auth import (  # noqa: F401
    CURVE_ALLOW_ANY,
    Authenticator,
    ThreadAuthenticator,
    create_certificates,
    load_certificate,
    load_certificates,
)
