"""X25519 on MicroPython: the ladder on viper field arithmetic (nacl_x25519.py,
x25519_viper.py) and the
pure big-int ladder give RFC 7748's and libsodium's bytes, on the 64-bit PyPI
unix port (the module compiled from .py at import) and on the 32-bit build
with edgezmq frozen (native code compiled by mpy-cross, as on a board); a
module that disagrees with big ints at import is not used."""
import os
import shutil
import subprocess
import sys

import pytest
import support
from crypto_kit import RFC7748, ROOT
from nacl.bindings import crypto_scalarmult

MICROPYTHON = support.micropython_binary()
MODULES = ("nacl_pure.py", "nacl_viper.py", "nacl_x25519.py", "x25519_viper.py")
P = (1 << 255) - 19

# RFC 7748 5.2: after 1 and 1,000 iterations of k, u = X25519(k, u), k
ITERATED = {1: "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079",
            1000: "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51"}


def cases():
    """(scalar, u) pairs: random, scalars with every clamp-affected bit set or
    clear, and u-coordinates at the edges (0, 1, p - 1, p, p + 1, 2^255 - 1,
    the top bit set: RFC 7748 masks it, non-canonical values are reduced)."""
    rnd = __import__("random").Random(25519)
    out = [(rnd.randbytes(32), rnd.randbytes(32)) for _ in range(6)]
    for u in (0, 1, 9, P - 1, P, P + 1, (1 << 255) - 1, (1 << 256) - 1, 2 ** 254 + 12345):
        out.append((rnd.randbytes(32), u.to_bytes(32, "little")))
    out.append((b"\xff" * 32, rnd.randbytes(32)))
    out.append((bytes(32), rnd.randbytes(32)))
    return out


SCRIPT = """
import sys
from edgezmq.ports.micropython import nacl_pure as n
print("viper", n._xv is not None)
h = bytes.fromhex
for line in sys.stdin:
    k, u = line.split()
    print(n.x25519(h(k), h(u)).hex())
    if len(sys.argv) > 1:
        kk = int.from_bytes(h(k), "little")
        kk = (kk & ((1 << 254) - 8)) | (1 << 254)
        print(n._x25519_pure(kk, int.from_bytes(h(u), "little") & ((1 << 255) - 1)).to_bytes(32, "little").hex())
k = u = b"\\x09" + bytes(31)
for i in range(1, 1001):
    k, u = n.x25519(k, u), k
    if i == 1 or i == 1000:
        print("iter", i, k.hex())
"""


def expected(pairs):
    """libsodium's answers (crypto_scalarmult refuses an all-zero result: that
    answer is zero, as RFC 7748's function gives)."""
    out = []
    for k, u in pairs:
        try:
            out.append(crypto_scalarmult(k, u).hex())
        except Exception:  # nacl.exceptions.RuntimeError: a low-order point
            out.append(bytes(32).hex())
    return out


def run(binary, path, tmp_path, heap, pure_too=False):
    script = tmp_path / "x25519_run.py"
    script.write_text(SCRIPT)
    pairs = [(bytes.fromhex(s), bytes.fromhex(u)) for s, u, _ in RFC7748] + cases()
    stdin = "".join("%s %s\n" % (k.hex(), u.hex()) for k, u in pairs)
    proc = subprocess.run([binary, "-X", "heapsize=" + heap, str(script)] + (["pure"] if pure_too else []),
                          input=stdin, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, MICROPYPATH=path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.split("\n")
    want = expected(pairs)
    got = [x for x in lines[1:] if x and not x.startswith("iter")]
    if pure_too:  # viper's answer, then the pure ladder's, for each pair
        assert got[1::2] == want
        got = got[0::2]
    assert got == want
    assert got[:2] == [out for _, _, out in RFC7748]
    iters = dict((int(x.split()[1]), x.split()[2]) for x in lines if x.startswith("iter"))
    assert iters == ITERATED
    return lines[0]


def tree(tmp_path, mutate=None):
    """edgezmq/ports/micropython/ with only the crypto modules (the package's
    __init__ files empty: nothing else is imported)."""
    pkg = tmp_path / "edgezmq"
    mp = pkg / "ports" / "micropython"
    mp.mkdir(parents=True)
    for d in (pkg, pkg / "ports", mp):
        (d / "__init__.py").write_text("")
    for f in MODULES:
        shutil.copy(ROOT / "ports" / "micropython" / f, mp / f)
    if mutate:
        p = mp / "x25519_viper.py"
        p.write_text(mutate(p.read_text()))
    return str(tmp_path)


needs_micropython = pytest.mark.skipif(MICROPYTHON is None, reason="no MicroPython unix port")


@needs_micropython
def test_viper_x25519_on_the_64bit_port(tmp_path):
    """Compiled from .py at import (~128 KB of heap on this port, then freed)."""
    assert run(MICROPYTHON, tree(tmp_path), tmp_path, "512K", pure_too=True) == "viper True"


@needs_micropython
def test_a_disagreeing_viper_module_is_not_used(tmp_path):
    """A wrong fold constant (what a miscompiling emitter could produce):
    the import-time check refuses the module and the pure ladder answers."""
    src = tree(tmp_path, lambda s: s.replace("* 608", "* 607", 1))
    assert run(MICROPYTHON, src, tmp_path, "512K") == "viper False"


@needs_micropython
def test_too_little_heap_to_compile_falls_back_to_pure(tmp_path):
    """A .py viper module that cannot compile in the heap (a board without
    mpy-cross -march or freezing) costs speed, not correctness."""
    assert run(MICROPYTHON, tree(tmp_path), tmp_path, "64K") == "viper False"


def test_viper_x25519_frozen_on_32bit(mp32, tmp_path):
    """The 32-bit build with edgezmq frozen: the native code in the firmware,
    32-bit machine words, a 48K heap (the CURVE client's goal)."""
    rt = mp32["unix32f"]
    assert run(rt.binary, ".frozen", tmp_path, "48K") == "viper True"


def test_generated_module_is_current():
    """ports/micropython/x25519_viper.py is what tools/gen_x25519_viper.py writes."""
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen_x25519_viper.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr

