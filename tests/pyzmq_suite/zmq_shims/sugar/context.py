from edgezmq import Context  # noqa: F401
