"""zmq.backend: edgezmq has one backend, pure Python."""
from edgezmq import Context, Frame, Socket  # noqa: F401
