from edgezmq import Socket  # noqa: F401
