"""zmq.utils.garbage: pyzmq's zero-copy send keeps a reference per frame
until libzmq is done with it. edgezmq copies, so there is never one."""


class _GC:
    refs: dict = {}


gc = _GC()
