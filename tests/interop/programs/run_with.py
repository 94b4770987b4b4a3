"""run_with.py LIB MODE PROGRAM ARGS...: run an unchanged pyzmq program (it says
`import zmq`) on pyzmq (LIB=pyzmq) or on edgezmq (LIB=edgezmq), whose contexts
default to the I/O thread (MODE=thread) or to cooperative mode (MODE=cooperative)."""
import runpy
import sys

lib, mode, prog = sys.argv[1:4]
if lib == "edgezmq":
    import edgezmq

    if mode == "cooperative":

        class CooperativeContext(edgezmq.Context):
            def __init__(self, io_threads=0, **kwargs):
                super().__init__(io_threads, **kwargs)

        edgezmq.Context = CooperativeContext
    sys.modules["zmq"] = edgezmq
sys.argv = [prog] + sys.argv[4:]
runpy.run_path(prog, run_name="__main__")
