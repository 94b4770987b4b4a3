"""zmq.sugar: pyzmq's Python layer over its backend."""
