"""edgezmq.auth, as pyzmq's zmq.auth (CPython only): ZAP authentication
with pyzmq's policy and certificate files.

- base: Authenticator, CURVE_ALLOW_ANY
- certs: create_certificates, load_certificate, load_certificates
- thread: ThreadAuthenticator; asyncio: AsyncioAuthenticator

On MicroPython answer ZAP with edgezmq.security.zap.serve() (this package
is not in the device bundle).
"""
from .base import *  # noqa: F401,F403
from .base import CURVE_ALLOW_ANY, Authenticator  # noqa: F401
from .certs import *  # noqa: F401,F403
from .certs import create_certificates, load_certificate, load_certificates  # noqa: F401
from .thread import ThreadAuthenticator  # noqa: F401  (edgezmq.auth has it too, as before)
