"""The few names that differ between CPython and MicroPython, for core/ only."""
try:
    from micropython import const  # noqa: F401
except ImportError:  # CPython

    def const(x):
        return x


try:
    from time import ticks_add, ticks_diff, ticks_ms  # noqa: F401  # port-ok: MicroPython clock
except ImportError:  # CPython: plain integer milliseconds, no wrap-around
    from time import monotonic as _monotonic  # port-ok: CPython clock

    def ticks_ms():
        return int(_monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b

    def ticks_add(a, b):
        return a + b
