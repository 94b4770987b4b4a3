"""zmq.sugar.version: edgezmq's version as pyzmq lays it out."""
from edgezmq import __version__, pyzmq_version, pyzmq_version_info  # noqa: F401

VERSION_EXTRA = ""
