"""Platform ports: everything the core needs from the runtime sits behind one object."""
import sys

_port = None


def default_port():
    """The port for the running interpreter (created once)."""
    global _port
    if _port is None:
        if sys.implementation.name == "micropython":
            from .micropython.port import MicroPythonPort

            _port = MicroPythonPort()
        else:
            from .cpython.port import CPythonPort  # port-ok: CPython only

            _port = CPythonPort()
    return _port
