"""Paths and runtime lookups shared by the tests (a plain module, so its name
never collides with hw-tests' conftest)."""
import os
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")


def micropython_binary():
    """Path of the MicroPython unix port, or None."""
    p = os.path.join(VENV_BIN, "micropython")
    if os.path.exists(p):
        return p
    return shutil.which("micropython")
