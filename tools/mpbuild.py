"""Build device-class MicroPython for edgezmq, cached by content under build/mp/.

    python tools/mpbuild.py [TARGET...]        (make firmware; default: every target)

Targets (each in build/mp/NAME/, rebuilt only when its key changes):
  mpy-cross  the tree's own compiler (emits the same .mpy version as the firmware)
  unix32     32-bit unix port, edgezmq NOT frozen (.mpy in RAM, for the figures)
  unix32f    32-bit unix port with edgezmq frozen (what a board with a frozen build holds)
  qemu-NNK   Cortex-M3 firmware (qemu mps2-an385) with edgezmq frozen, NN KiB heap

Why: the PyPI unix port is 64-bit and loads code into the heap; boards are
32-bit and keep frozen code in flash, so memory goals are judged here.

The source is MICROPY_SRC (a MicroPython tree or a .tar.gz), by default the
tarball ../shared/micropython/micropython-1.28.0-src.tar.gz beside the
checkout, else a clone of the public v1.28.0 tag. A target's key hashes the
source, the device bundle (`python -m edgezmq bundle`), the manifest, the
frozen test module and the make flags. A missing toolchain skips the target
with the Debian packages to install; a failed build exits 1.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "build", "mp")
TAG = "v1.28.0"
TARBALL = os.path.join(ROOT, "..", "shared", "micropython", "micropython-1.28.0-src.tar.gz")
REPO_URL = "https://github.com/micropython/micropython.git"
JOBS = os.environ.get("MPBUILD_JOBS", "2")
_VENV_PY = os.path.join(ROOT, ".venv", "bin", "python")
PY = _VENV_PY if os.path.exists(_VENV_PY) else sys.executable  # the one with edgezmq installed
# the qemu port fixes its heap at build time: one firmware per heap the tests use
QEMU_HEAPS_K = (32, 56, 96)  # 96: `edgezmq demo --device qemu-m3` (its program is compiled on the board)
TARGETS = ("mpy-cross", "unix32", "unix32f") + tuple("qemu-%dK" % h for h in QEMU_HEAPS_K)
# the parts of the tree these builds read (no git submodule among them)
SRC_DIRS = ("py", "extmod", "shared", "mpy-cross", "tools", "ports/unix", "ports/qemu", "lib/littlefs",
            "lib/oofatfs", "lib/uzlib", "lib/re1.5", "lib/crypto-algorithms", "lib/libm", "lib/libm_dbl")
# every option that would need a submodule or a system library, off
UNIX_FLAGS = ("MICROPY_FORCE_32BIT=1", "MICROPY_PY_FFI=0", "MICROPY_PY_BTREE=0", "MICROPY_PY_SSL=0",
              "MICROPY_SSL_MBEDTLS=0")
# TEST-ONLY device program frozen into the qemu firmware (never part of a bundle)
QEMU_TEST_MODULE = os.path.join(ROOT, "tests", "micropython", "qemu_device.py")
PROJECT_MANIFEST = os.path.join(ROOT, "ports", "micropython", "manifest.py")
NEEDS = {
    "unix": "gcc-multilib",
    "qemu": "gcc-arm-none-eabi libnewlib-arm-none-eabi",
    "qemu-run": "qemu-system-arm",
}


def log(msg):
    print("[mpbuild %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def path(name, *rest):
    """Where target `name` lives (tests look here through tests/support.py)."""
    return os.path.join(OUT, name, *rest)


def product(name):
    """The file a target makes."""
    if name == "mpy-cross":
        return path(name, "mpy-cross")
    if name.startswith("qemu"):
        return path(name, "firmware.elf")
    return path(name, "micropython")


def heap_bytes(name):
    return int(name.split("-")[1][:-1]) * 1024


def missing_toolchain(name):
    """-> the Debian packages a target needs and lacks, or ''."""
    if name.startswith("qemu"):
        gcc = shutil.which("arm-none-eabi-gcc")
        if gcc is None:
            return NEEDS["qemu"]
        libc = subprocess.run([gcc, "-print-file-name=libc.a"], capture_output=True, text=True).stdout.strip()
        return "" if os.path.isabs(libc) else "libnewlib-arm-none-eabi"
    if shutil.which("gcc") is None:
        return "gcc"
    if name.startswith("unix"):
        r = subprocess.run(["gcc", "-m32", "-x", "c", "-", "-o", os.devnull], input="int main(void){return 0;}",
                           capture_output=True, text=True)
        return "" if r.returncode == 0 else NEEDS["unix"]
    return ""


# -- the source ---------------------------------------------------------------
def tree_hash(top):
    h = hashlib.sha256()
    for d in SRC_DIRS:
        for dirpath, dirnames, files in os.walk(os.path.join(top, d)):
            dirnames[:] = sorted(x for x in dirnames if not x.startswith("build"))
            for f in sorted(files):
                p = os.path.join(dirpath, f)
                h.update(os.path.relpath(p, top).encode() + b"\0")
                with open(p, "rb") as fh:
                    h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()


def file_hash(p):
    with open(p, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def source():
    """-> (tree, source id). Only what we extract or clone is written to."""
    src = os.environ.get("MICROPY_SRC") or (TARBALL if os.path.exists(TARBALL) else "")
    if src and os.path.isdir(src):
        return os.path.abspath(src), tree_hash(src)
    if src:
        sid = file_hash(src)
        tree = os.path.join(OUT, "src-" + sid[:12])
        if not os.path.isdir(os.path.join(tree, "py")):
            log("extracting %s" % os.path.relpath(src, ROOT))
            tmp = tempfile.mkdtemp(dir=OUT)
            with tarfile.open(src) as t:
                t.extractall(tmp)
            (top,) = os.listdir(tmp)
            shutil.rmtree(tree, ignore_errors=True)
            os.rename(os.path.join(tmp, top), tree)
            os.rmdir(tmp)
        return tree, sid
    tree = os.path.join(OUT, "micropython-" + TAG)
    if not os.path.isdir(os.path.join(tree, "py")):
        log("no MICROPY_SRC and no %s: cloning %s %s" % (os.path.relpath(TARBALL, ROOT), REPO_URL, TAG))
        subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", TAG, REPO_URL, tree], check=True)
    return tree, tree_hash(tree)


# -- the device package -------------------------------------------------------
def bundle():
    """The plain .py device package in build/mp/bundle-py/, via the stable CLI
    (no module list here); -> its content hash. Kept as is when unchanged, so
    makemanifest sees old timestamps and compiles nothing."""
    dest = os.path.join(OUT, "bundle-py")
    tmp = tempfile.mkdtemp(dir=OUT, prefix=".bundle-")
    subprocess.run([PY, "-m", "edgezmq", "bundle", "--out", tmp], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    h = hashlib.sha256()
    for dirpath, dirnames, files in os.walk(tmp):
        dirnames.sort()
        for f in sorted(files):
            p = os.path.join(dirpath, f)
            h.update(os.path.relpath(p, tmp).encode() + b"\0" + file_hash(p).encode())
    digest = h.hexdigest()
    stamp = os.path.join(dest, ".hash")
    if os.path.exists(stamp) and open(stamp).read() == digest:
        shutil.rmtree(tmp)
    else:
        shutil.rmtree(dest, ignore_errors=True)
        os.rename(tmp, dest)
        with open(stamp, "w") as f:
            f.write(digest)
    return digest


def manifest(name):
    """The frozen manifest for a target: asyncio (unix, as the standard
    variant has it) + edgezmq through the project's own manifest.py, the
    way a user's firmware includes it, + the qemu test program."""
    lines = ["# generated by tools/mpbuild.py"]
    if name.startswith("unix"):
        lines.append('include("$(MPY_DIR)/extmod/asyncio")')
    if name != "unix32":
        lines.append("include(%r)" % PROJECT_MANIFEST)
    if name.startswith("qemu"):
        lines.append("# TEST-ONLY: the hw-tests' device program (not part of edgezmq)")
        lines.append("module(%r, base_path=%r)" % (os.path.basename(QEMU_TEST_MODULE), os.path.dirname(QEMU_TEST_MODULE)))
    return "\n".join(lines) + "\n"


def make_args(name, tree, mpx):
    lib = os.path.join(OUT, "mpylib-empty")  # makemanifest wants $(MPY_LIB_DIR)/README.md
    os.makedirs(lib, exist_ok=True)
    with open(os.path.join(lib, "README.md"), "w") as f:
        f.write("empty stand-in for the micropython-lib submodule\n")
    man = path(name, "manifest.py")
    common = ["BUILD=" + path(name, "obj"), "MPY_LIB_DIR=" + lib, "FROZEN_MANIFEST=" + man,
              "MICROPY_MPYCROSS=" + mpx]
    if name.startswith("unix"):
        args = ["-C", os.path.join(tree, "ports", "unix")] + list(UNIX_FLAGS) + common
        return args + (["MPY_CROSS_FLAGS=-march=x86"] if name == "unix32f" else [])
    return ["-C", os.path.join(tree, "ports", "qemu"), "BOARD=MPS2_AN385",
            "MICROPY_HEAP_SIZE=%d" % heap_bytes(name)] + common


def key(name, sid, bundle_hash, flags):
    parts = {"src": sid, "flags": flags, "script": file_hash(os.path.abspath(__file__))}
    if name != "mpy-cross":
        parts["manifest"] = manifest(name)
    if name in ("unix32f",) or name.startswith("qemu"):
        parts["bundle"] = bundle_hash
        parts["project_manifest"] = file_hash(PROJECT_MANIFEST)
    if name.startswith("qemu"):
        parts["test_module"] = file_hash(QEMU_TEST_MODULE)
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def run_make(name, args):
    logf = path(name, "build.log")
    with open(logf, "w") as f:
        r = subprocess.run(["nice", "make", "-j" + JOBS] + args, stdout=f, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        with open(logf) as f:
            tail = f.read()[-3000:]
        raise SystemExit("mpbuild: %s failed (full log: %s):\n%s" % (name, logf, tail))


def build(name, tree, sid, bundle_hash):
    """Build one target unless its key is unchanged; -> True when it exists."""
    lacks = missing_toolchain(name)
    if lacks:
        log("skipped %s: needs the Debian packages %s (apt-get install -y %s)" % (name, lacks, lacks))
        return False
    mpx = product("mpy-cross")
    flags = [] if name == "mpy-cross" else make_args(name, "$TREE", "$MPX")
    k = key(name, sid, bundle_hash, flags)
    keyf = path(name, "key")
    if os.path.exists(product(name)) and os.path.exists(keyf) and open(keyf).read() == k:
        log("%s up to date" % name)
        return True
    os.makedirs(path(name), exist_ok=True)
    if os.path.exists(keyf):
        os.unlink(keyf)
    t0 = time.monotonic()
    if name == "mpy-cross":
        run_make(name, ["-C", os.path.join(tree, "mpy-cross"), "BUILD=" + path(name, "obj")])
        shutil.copy(path(name, "obj", "mpy-cross"), mpx)
    else:
        with open(path(name, "manifest.py"), "w") as f:
            f.write(manifest(name))
        if name.startswith("qemu"):
            _reuse_qemu_objects(name)
        run_make(name, make_args(name, tree, mpx))
        built = path(name, "obj", os.path.basename(product(name)))
        shutil.copy(built, product(name))
    with open(keyf, "w") as f:
        f.write(k)
    log("built %s in %.1f s" % (name, time.monotonic() - t0))
    return True


def _reuse_qemu_objects(name):
    """The firmwares differ only in MICROPY_HEAP_SIZE, which only main.c
    reads: start from another heap's objects, drop main.o and the link
    products, and a firmware costs a compile and a link (~2 s, not ~13 s)."""
    obj = path(name, "obj")
    if os.path.isdir(obj):
        return
    for other in TARGETS:
        base = path(other, "obj")
        if other.startswith("qemu") and other != name and os.path.exists(path(other, "key")):
            if open(path(other, "key")).read() and os.path.exists(os.path.join(base, "firmware.elf")):
                shutil.copytree(base, obj, symlinks=True)
                for f in ("main.o", "main.d", "main.P", "firmware.elf", "firmware.bin", "firmware.map"):
                    p = os.path.join(obj, f)
                    if os.path.exists(p):
                        os.unlink(p)
                return


def main(argv):
    names = argv or list(TARGETS)
    for n in names:
        if n not in TARGETS:
            raise SystemExit("mpbuild: unknown target %r (known: %s)" % (n, " ".join(TARGETS)))
    os.makedirs(OUT, exist_ok=True)
    try:
        tree, sid = source()
    except (OSError, subprocess.CalledProcessError) as e:
        log("skipped every target: no MicroPython source (%s); set MICROPY_SRC" % e)
        return 0
    bundle_hash = bundle()
    if not build("mpy-cross", tree, sid, bundle_hash):
        return 0
    for n in names:
        if n != "mpy-cross":
            build(n, tree, sid, bundle_hash)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
