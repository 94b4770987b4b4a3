"""Hardware in the loop on a Cortex-M3: the qemu mps2-an385 firmware built by
tools/mpbuild.py (edgezmq frozen, no socket module, no os.urandom) is the
device; its console UART is the serial link (serial://stdio).

    qemu UART pty -- PtyCable (bit flips) -- edgezmq gateway -- TCP -- pyzmq

The device (tests/micropython/qemu_device.py, frozen in the TEST firmware)
publishes telemetry on a PUB that connects over the link (the gateway dials
a pyzmq SUB) and answers commands on a REP bound on the same link (the
gateway listens for a pyzmq REQ), as `make demo`'s device does.
"""
import os
import time

import pytest
from hwrig import Gateway, T, free_port
from ptyrelay import Faults, PtyCable
from support import QemuBoard, ensure_mp_builds, mp_build_missing

zmq = pytest.importorskip("zmq")

GOAL_K = 32  # a serial-link device with PUB + REP on one link (issue 11)
PASSES_K = 56  # the smallest test firmware it passes in every time (48K: 3 runs of 5 since the last cuts; 44K fails)
CURVE_K = 56  # the CURVE client's firmware
SIZE = 64  # telemetry payload bytes
PERIOD = 50  # ms between readings: SNDHWM 8 rides out 400 ms of retransmission
CURVE_GOAL_S = 1.0  # a CURVE handshake's key work at 125 MHz (issue 11)


@pytest.fixture(scope="session")
def m3_firmware():
    if os.environ.get("EDGEZMQ_PURE") == "1":
        pytest.skip("device-only runs (the gateway's pure path runs in the other hw-tests): "
                    "they ran in the first `make test` pass")
    import shutil

    names = sorted({"qemu-%dK" % GOAL_K, "qemu-%dK" % PASSES_K, "qemu-%dK" % CURVE_K})
    fw = ensure_mp_builds(*names)
    for n in names:
        if fw[n] is None:
            pytest.skip(mp_build_missing(n))
    if shutil.which("qemu-system-arm") is None:
        pytest.skip(mp_build_missing("qemu"))
    return fw


def payload(seq, size):
    unit = b"%08d|" % seq
    return (unit * (size // len(unit) + 1))[:size]


class Telemetry:
    """Within one connection (epoch) the sequence numbers are contiguous and
    every payload intact: nothing lost, duplicated, reordered or corrupt."""

    def __init__(self):
        self.last = {}
        self.count = 0
        self.gaps = 0  # seq numbers skipped within an epoch

    def feed(self, msg):
        assert len(msg) == 3 and msg[0] == b"tele", msg[:2]
        epoch, seq = (int(x) for x in msg[1].split())
        assert msg[2] == payload(seq, SIZE), "corrupt payload for seq %d" % seq
        if epoch in self.last:
            assert seq > self.last[epoch], "seq %d after %d (epoch %d)" % (seq, self.last[epoch], epoch)
            self.gaps += seq - self.last[epoch] - 1
        self.last[epoch] = seq
        self.count += 1


class Rig:
    """Board, cable and gateway for one test; pyzmq SUB (bound) and REQ."""

    def __init__(self, firmware, ctx):
        self.board = QemuBoard(firmware)
        self.cable = self.gw = None
        try:
            self._start(ctx)
        except BaseException:
            self.close()  # no qemu or gateway left behind to grab a later test's pty
            raise

    def _start(self, ctx):
        self.sub = ctx.socket(zmq.SUB)
        self.sub.subscribe(b"tele")
        self.sub.linger = 0
        sub_ep = "tcp://127.0.0.1:%d" % self.sub.bind_to_random_port("tcp://127.0.0.1")
        self.board.start("import qemu_device; qemu_device.link('serial://stdio', %d, %d)" % (PERIOD, SIZE))
        self.cable = PtyCable(seed=11, a_tty=self.board.pty).start()
        self.cable.capture = bytearray()  # for the device's traceback, if it dies
        self.listen = "tcp://127.0.0.1:%d" % free_port()
        self.gw = Gateway("serial://%s?baud=115200" % self.cable.b_path, self.listen, extra=("--dial", sub_ep))
        end = time.monotonic() + T
        while True:  # fail at once when the device died (its traceback is on the line)
            try:
                self.gw.log.expect("link up", timeout=0.5)
                break
            except AssertionError as e:
                if b"Traceback" in (self.cable.capture or b"") or time.monotonic() > end:
                    raise AssertionError("no link: %s\ndevice's last words: %r"
                                         % (str(e)[:300], self.last_words())) from None
        self.req = ctx.socket(zmq.REQ)
        self.req.rcvtimeo = int(T * 1000)
        self.req.linger = 0
        self.req.connect(self.listen)

    def ask(self, *frames):
        self.req.send_multipart(list(frames))
        if not self.req.poll(int(T * 1000)):
            raise AssertionError("no reply to %r; line %s; device's last words %r; gateway log:\n%s"
                                 % (frames[0], self.cable.counts, self.last_words(),
                                    "\n".join(self.gw.log.all[-8:])))
        return self.req.recv_multipart()

    def last_words(self):
        """A traceback the device printed on the line, if it died."""
        cap = bytes(self.cable.capture or b"")
        i = cap.find(b"Traceback")
        return cap[i:i + 1500] if i >= 0 else cap[-200:]

    def collect(self, check, seconds):
        end = time.monotonic() + seconds
        n = 0
        while time.monotonic() < end:
            if self.sub.poll(100):
                check.feed(self.sub.recv_multipart())
                n += 1
        return n

    def close(self):
        if self.gw is not None:
            self.gw.stop()
        if self.cable is not None:
            self.cable.stop()
        self.board.close()


def run_device(firmware, pz):
    """Telemetry and commands through the gateway, bit flips on the line in
    the middle; -> (telemetry check, gateway stats, device heap reply)."""
    rig = Rig(firmware, pz)
    try:
        assert rig.ask(b"echo", b"hello") == [b"re:echo", b"re:hello"]
        tele = Telemetry()
        rig.sub.rcvtimeo = int(T * 1000)
        tele.feed(rig.sub.recv_multipart())
        assert rig.collect(tele, 1.0) > 5
        rig.cable.faults = Faults(ber=1e-4)  # ~1 flipped bit per 1250 bytes, each way
        for i in range(5):
            body = payload(i, 100 + 50 * i)
            assert rig.ask(b"echo", body) == [b"re:echo", b"re:" + body]
            rig.collect(tele, 0.6)
        rig.cable.faults = None
        assert rig.collect(tele, 1.0) > 5
        heap = rig.ask(b"heap")[0]
        time.sleep(1.2)  # a stats interval
        stats = rig.gw.stats()
        assert rig.ask(b"stop")[0].startswith(b"bye ")
        return tele, stats, rig.cable.counts, heap
    finally:
        rig.close()


def test_cortex_m3_imports_edgezmq_without_a_socket_module(m3_firmware):
    """A serial-only board: no `socket` module at all (no stand-in frozen in),
    and edgezmq still imports, makes a Context and a socket."""
    board = QemuBoard(m3_firmware["qemu-%dK" % PASSES_K])
    try:
        assert "ImportError" in board.exec("try:\n import socket\nexcept ImportError as e:\n print(repr(e))")
        out = board.exec("import qemu_device; qemu_device.mem('PUB')")
    finally:
        board.close()
    heap = {ln.split()[0]: int(ln.split()[1]) for ln in out.splitlines() if ln[:1].isupper() and " " in ln}
    print("\nCortex-M3 heap (frozen): import %+d B, Context %+d B, PUB socket %+d B"
          % (heap["IMPORT"] - heap["BASE"], heap["CTX"] - heap["IMPORT"], heap["SOCKET"] - heap["CTX"]))
    assert "DONE" in out and heap["SOCKET"] > heap["IMPORT"] > heap["BASE"]


def test_cortex_m3_telemetry_and_commands_through_gateway(m3_firmware, pz):
    tele, stats, counts, heap = run_device(m3_firmware["qemu-%dK" % PASSES_K], pz)
    base, live, free, sent, dropped = (int(x) for x in heap.split())
    print("\nCortex-M3, heap %dK: %d telemetry messages received of %d sent, %d dropped at SNDHWM; live heap "
          "%d B above %d B before the Context, %d B free; line faults %s; gateway %s"
          % (PASSES_K, tele.count, sent, dropped, live - base, base, free, counts, stats))
    # nothing lost: a gap is only ever a message PUB dropped at SNDHWM (its
    # documented policy, counted) while the link retransmitted
    assert tele.gaps <= dropped, (tele.gaps, dropped)
    assert counts["flipped"] > 0
    # the flips were caught by the CRC and repaired by retransmission: the
    # link stayed up (one connection per socket) and no message was lost
    assert int(stats["crc_errors"]) + int(stats["bad_frames"]) > 0, stats
    assert list(tele.last) == [1], "a reconnect happened: %r" % tele.last
    assert stats["up"] == "1"


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="goal %dK not met: the Cortex-M3 serial-link device (PUB + REP on one "
                   "link) passes at %dK, the smallest test firmware above the goal; at 32K the link's set-up "
                   "already meets a MemoryError (~32 KB live above import and the device program)"
                   % (GOAL_K, PASSES_K))
def test_cortex_m3_serial_device_at_the_goal_heap(m3_firmware, pz):
    run_device(m3_firmware["qemu-%dK" % GOAL_K], pz)


def test_cortex_m3_curve_client_end_to_end(m3_firmware, pz):
    """CURVE from the Cortex-M3 (PUSH, edgezmq's NaCl with its viper paths, a TEST-ONLY
    deterministic random source: qemu has no os.urandom) through the keyless
    gateway to a libzmq CURVE server; the line never carries the plaintext.
    qemu counts instructions (-icount shift=0): the X25519 work is reported
    as seconds at 125 MHz (RP2040) and 240 MHz (ESP32), one instruction a cycle."""
    pk, sk = zmq.curve_keypair()
    client_pk, client_sk = zmq.curve_keypair()  # provisioned, as a pyzmq user's stored certificate
    pull = pz.socket(zmq.PULL)
    pull.curve_server = True
    pull.curve_publickey, pull.curve_secretkey = pk, sk
    pull.linger = 0
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    board = QemuBoard(m3_firmware["qemu-%dK" % CURVE_K], icount=True)
    cable = gw = None
    try:
        board.start("import qemu_device; qemu_device.curve('serial://stdio', %r, %r, %r, 7)"
                    % (pk.decode(), client_pk.decode(), client_sk.decode()))
        cable = PtyCable(seed=5, a_tty=board.pty).start()
        cable.capture = bytearray()
        gw = Gateway("serial://%s?baud=115200" % cable.b_path, "tcp://127.0.0.1:%d" % port, connect=True)
        if not pull.poll(int(T * 1000)):
            i = cable.capture.find(b"Traceback")
            raise AssertionError("no message; device: %r; gateway:\n%s"
                                 % (bytes(cable.capture[i:i + 1200] if i >= 0 else cable.capture[-300:]),
                                    "\n".join(gw.log.all[-10:])))
        hs = pull.recv_multipart()
        assert hs[0] == b"hs"
        for i in range(3):
            assert pull.recv_multipart() == [b"secret-%d" % i, b"x" * 300]
        capture = bytes(cable.capture)
    finally:
        if gw is not None:
            gw.stop()
        if cable is not None:
            cable.stop()
        board.close()
    us, calls = (int(x) for x in hs[1].split())
    instructions = us * 1000
    print("\nCortex-M3 CURVE client: %d X25519 operations, %.0f M instructions: %.2f s at 125 MHz, "
          "%.2f s at 240 MHz" % (calls, instructions / 1e6, instructions / 125e6, instructions / 240e6))
    assert b"CURVE" in capture and b"secret-" not in capture
    # issue 11's goal: the handshake's X25519 work within 1 s at 125 MHz (4 operations: the
    # client's short-term key pair and 3 precomputed box keys; the long-term keys are set, not derived)
    assert calls == 4 and instructions <= CURVE_GOAL_S * 125e6, (calls, instructions)


def test_cortex_m3_goodput_benchmark_runs(m3_firmware):
    """benchmarks/serial_gateway_goodput.py --device qemu-m3 (what `make bench`
    runs) end to end, small: one -icount run and one paced run finish, and the
    link's framing leaves at least 85 % of the line to message bytes (1 KiB
    binary messages; about 93 % when measured in full)."""
    import re
    import subprocess
    import sys

    from support import ROOT, SCALE

    r = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "serial_gateway_goodput.py"),
                        "--device", "qemu-m3", "--count", "30", "--runs", "1"],
                       capture_output=True, text=True, timeout=120 * SCALE, cwd=ROOT)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    framing = float(re.search(r"-> ([\d.]+)% of the line is message bytes", out).group(1))
    work = float(re.search(r"icount run: ([\d.]+) M instructions of device work per message", out).group(1))
    paced = float(re.search(r"paced relay .*?= ([\d.]+)% of line rate", out).group(1))
    assert re.search(r"goodput limit at 115200 baud: [\d.]+% of line rate", out), out
    print("\n" + out[out.find("Cortex-M3"):])
    # (19 messages measured: the bytes in flight at either end skew it by a few %)
    assert 85.0 <= framing <= 101.0, out
    assert work > 0.1 and paced > 50.0, out
