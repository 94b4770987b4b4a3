"""pyzmq internals that pyzmq's own tests reach into, mapped onto edgezmq.

Only for tests/pyzmq_suite: a user program does not import these (it gets
ImportError from edgezmq, as it should for a module edgezmq lacks).
"""
