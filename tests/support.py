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


# -- device-class MicroPython built by tools/mpbuild.py (make firmware) -----------------
MP_BUILD = os.path.join(ROOT, "build", "mp")
DEBIAN = {
    "unix32": "gcc-multilib",
    "unix32f": "gcc-multilib",
    "mpy-cross": "gcc",
    "qemu": "gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm",
}


def mp_build(name):
    """The product of an mpbuild target ('unix32', 'unix32f', 'mpy-cross',
    'qemu-32K', ...), or None when it was not built (no toolchain)."""
    sub = {"mpy-cross": "mpy-cross"}.get(name, "firmware.elf" if name.startswith("qemu") else "micropython")
    p = os.path.join(MP_BUILD, name, sub)
    return p if os.path.exists(p) and os.path.exists(os.path.join(MP_BUILD, name, "key")) else None


def mp_build_missing(name):
    """Why a build is missing, naming the Debian packages (a skip message)."""
    pkgs = DEBIAN["qemu" if name.startswith("qemu") else name]
    return ("%s not built: `make firmware` builds it (tools/mpbuild.py); it needs the Debian packages %s "
            "(apt-get install -y %s)" % (name, pkgs, pkgs))


def ensure_mp_builds(*names):
    """Run tools/mpbuild.py for these targets (a no-op when cached, ~1 s) so
    that a bare `pytest` never tests a stale firmware; -> {name: path or None}."""
    import subprocess
    import sys

    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "mpbuild.py")] + list(names), check=True)
    return {n: mp_build(n) for n in names}
