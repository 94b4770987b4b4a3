"""The pure-Python NaCl subset and Z85 on the MicroPython unix port (pure and
viper) give libsodium's bytes."""
import shutil
import subprocess

import pytest
import support
from crypto_kit import MY_MP, NACL, RFC7748, ROOT
from edgezmq import z85

MICROPYTHON = support.micropython_binary()


# --- MicroPython: the real unix port --------------------------------------

MY_CORE = ["_compat.py", "errors.py", "constants.py", "zmtp/metadata.py", "security/__init__.py",
           "security/mechanism.py",
           "z85.py", "security/zapauth.py", "security/plain.py", "security/curve.py"]

needs_micropython = pytest.mark.skipif(MICROPYTHON is None, reason="no MicroPython unix port")


def make_mp_tree(tmp_path, viper=True):
    """A minimal edgezmq package for MicroPython: the modules this work needs.

    Only these modules are copied (not all of core/) so the test does not
    depend on the state of the rest of the package. viper=False leaves the
    viper module out, so the pure Salsa20 path runs.
    """
    pkg = tmp_path / "edgezmq"
    (pkg / "ports" / "micropython").mkdir(parents=True)
    for d in ("zmtp", "security"):
        (pkg / d).mkdir()
    (pkg / "zmtp" / "__init__.py").write_text("")
    for f in MY_CORE:
        shutil.copy(ROOT / "core" / f, pkg / f)
    for f in MY_MP if viper else ["nacl_pure.py"]:
        if (ROOT / "ports" / "micropython" / f).exists():
            shutil.copy(ROOT / "ports" / "micropython" / f, pkg / "ports" / "micropython" / f)
    for d in (pkg, pkg / "ports", pkg / "ports" / "micropython"):
        (d / "__init__.py").write_text("")
    return tmp_path


def run_mp(tree, script, timeout=300):
    path = tree / "run_test.py"
    path.write_text("import sys\nsys.path.insert(0, %r)\n" % str(tree) + script)
    proc = subprocess.run(
        [str(MICROPYTHON), "-X", "heapsize=64K", str(path)],
        capture_output=True, text=True, timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


MP_SCRIPT = """
from edgezmq.ports.micropython import nacl_pure
from edgezmq.ports.micropython.nacl_pure import PureCrypto
import time
c = PureCrypto()
sk_a = bytes(range(32))
sk_b = bytes(range(100, 132))
pk_a = c.public(sk_a)
pk_b = c.public(sk_b)
k = c.beforenm(pk_b, sk_a)
print("pk_a", pk_a.hex())
print("k", k.hex())
print("k2", c.beforenm(pk_a, sk_b).hex())
for n in (0, 1, 16, 31, 32, 33, 64, 65, 200, 1024):
    m = bytes((i * 7 + n) & 255 for i in range(n))
    nonce = bytes((i + n) & 255 for i in range(24))
    b = c.box_afternm(m, nonce, k)
    assert c.open_afternm(b, nonce, k) == m
    print("box", n, b.hex())
    print("sbox", n, c.secretbox(m, nonce, sk_b).hex())
print("rfc", nacl_pure.x25519(
    bytes.fromhex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
    bytes.fromhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")).hex())
bad = bytearray(c.box_afternm(b"hello", bytes(24), k))
bad[3] ^= 1
try:
    c.open_afternm(bytes(bad), bytes(24), k)
    print("tamper accepted")
except ValueError:
    print("tamper rejected")
print("viper", nacl_pure._v is not None)
t = time.ticks_us()
for _ in range(5):
    nacl_pure.x25519(sk_a, pk_b)
print("time_x25519_ms", time.ticks_diff(time.ticks_us(), t) / 5000)
m = bytes(1024)
t = time.ticks_us()
for _ in range(20):
    c.box_afternm(m, bytes(24), k)
print("time_box1k_ms", time.ticks_diff(time.ticks_us(), t) / 20000)
b = c.box_afternm(m, bytes(24), k)
t = time.ticks_us()
for _ in range(20):
    c.open_afternm(b, bytes(24), k)
print("time_open1k_ms", time.ticks_diff(time.ticks_us(), t) / 20000)
"""


@needs_micropython
@pytest.mark.parametrize("viper", [False, True], ids=["pure", "viper"])
def test_pure_crypto_under_micropython(tmp_path, viper):
    out = run_mp(make_mp_tree(tmp_path, viper), MP_SCRIPT)
    lines = {}
    for line in out.splitlines():
        parts = line.split()
        lines[" ".join(parts[:-1])] = parts[-1]
    sk_a = bytes(range(32))
    sk_b = bytes(range(100, 132))
    pk_a, pk_b = NACL.public(sk_a), NACL.public(sk_b)
    k = NACL.beforenm(pk_b, sk_a)
    assert lines["pk_a"] == pk_a.hex()
    assert lines["k"] == k.hex() and lines["k2"] == k.hex()
    for n in (0, 1, 16, 31, 32, 33, 64, 65, 200, 1024):
        m = bytes((i * 7 + n) & 255 for i in range(n))
        nonce = bytes((i + n) & 255 for i in range(24))
        assert lines["box %d" % n] == NACL.box_afternm(m, nonce, k).hex()
        assert lines["sbox %d" % n] == NACL.secretbox(m, nonce, sk_b).hex()
    assert lines["rfc"] == RFC7748[0][2]
    assert "tamper rejected" in out
    assert lines["viper"] == str(viper)
    timings = {k: v for k, v in lines.items() if k.startswith("time_")}
    print("MicroPython unix (%s):" % ("viper" if viper else "pure"), timings)


@needs_micropython
def test_z85_under_micropython(tmp_path):
    out = run_mp(make_mp_tree(tmp_path), """
from edgezmq import z85
print(z85.encode(bytes.fromhex("864FD26FB559F75B")))
for bad in (b"Hell", b"%nSc1", b"Hell~"):
    try:
        z85.decode(bad)
        print("accepted", bad)
    except ValueError:
        print("rejected")
print(z85.decode("Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID").hex())
""")
    assert out.splitlines() == [
        "b'HelloWorld'", "rejected", "rejected", "rejected",
        z85.decode("Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID").hex(),
    ]

