"""Build and load the CPython port's optional cffi extensions (_zmtpfast,
_linkfast): compiled out of line beside this file at install time, loaded if
present, and always with a pure-Python fallback when they are not."""
from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from types import ModuleType

HERE = os.path.dirname(os.path.abspath(__file__))


def build(name: str, cdef: str, source: str, dest_dir: str) -> str:
    """Compile `name` into dest_dir (the C file stays in a temporary folder); -> .so path."""
    from cffi import FFI

    ffi = FFI()
    ffi.cdef(cdef)
    ffi.set_source(name, source, extra_compile_args=["-O2", "-std=c99"])
    tmp = tempfile.mkdtemp(prefix=name.strip("_") + "-")
    try:
        so = ffi.compile(tmpdir=tmp, verbose=False)
        target = os.path.join(dest_dir, os.path.basename(so))
        shutil.copy(so, target)
        return target
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load(name: str, path: str | None = None) -> ModuleType | None:
    """The compiled module `name` (from path, or the first name.*.so here), or None."""
    if path is None:
        names = [n for n in os.listdir(HERE) if n.startswith(name + ".") and n.endswith(".so")]
        if not names:
            return None
        path = os.path.join(HERE, names[0])
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    except (ImportError, OSError):
        return None
    return mod
