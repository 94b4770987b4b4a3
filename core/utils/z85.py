"""zmq.utils.z85 as pyzmq spells it: edgezmq.z85's encode and decode."""
from ..z85 import decode, encode  # noqa: F401
