"""Serial goodput from the Cortex-M3 firmware (qemu mps2-an385) through `edgezmq gateway`.

    python benchmarks/serial_gateway_goodput.py --device qemu-m3 [--size 1024] [--count 100]

A pty has no baud rate, so two runs measure what decides goodput on a real
115200-baud line (11,520 B/s at 10 bits a byte):

- **icount**: qemu `-icount shift=0` (1 instruction = 1 ns of guest time),
  no pacing. The device (tests/micropython/qemu_device.py `goodput`) PUSHes
  1 KiB messages of binary data as fast as the link takes them and reports
  its steady-state time per message minus the time it waited in its
  poller: instructions per message, hence CPU time at 125 MHz (RP2040) and
  240 MHz (ESP32), one instruction a cycle. The relay counts every byte
  each way: the link's framing efficiency (message bytes over line bytes:
  ZMTP frame header, link header, CRC, flags, escaping) and the ACK and
  CREDIT bytes coming back.
- **paced**: qemu in real time; the relay (tests/ptyrelay.py) lets 11,520 B/s
  through each way and pushes back on the writer as a UART does. Goodput
  is message bytes delivered to pyzmq per second.

Goodput at 115200 = min(framing limit, CPU limit); the paced run checks it.
"""
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _d in ("tests", "hw-tests"):
    if os.path.join(ROOT, _d) not in sys.path:
        sys.path.insert(0, os.path.join(ROOT, _d))

from ptyrelay import PtyCable  # noqa: E402
from support import DEBIAN, QemuBoard, ensure_mp_builds, mp_build_missing  # noqa: E402

FIRMWARE = "qemu-56K"  # the test firmware the serial device passes at (hw-tests/test_qemu_m3.py)
LINE_BPS = 11520  # 115200 baud, 8N1: 10 bits a byte
CLOCKS = (125e6, 240e6)


def firmware():
    """-> the firmware path, or None after saying what is missing."""
    import shutil

    if shutil.which("qemu-system-arm") is None:
        print("Cortex-M3 goodput: skipped: no qemu-system-arm (apt-get install -y %s)" % DEBIAN["qemu"])
        return None
    fw = ensure_mp_builds(FIRMWARE)[FIRMWARE]
    if fw is None:
        print("Cortex-M3 goodput: skipped: %s" % mp_build_missing(FIRMWARE))
    return fw


def final_stats(text):
    """The gateway's `final stats k=v ...` log line -> {k: int}."""
    for line in reversed(text.splitlines()):
        if "final stats " in line:
            return {k: int(v) for k, v in (kv.split("=") for kv in line.split("final stats ", 1)[1].split())}
    return {}


def run(fw, paced, size=1024, count=100, warm=10, timeout=120.0):
    """One run: device -> relay (paced or not) -> gateway -> pyzmq PULL; -> figures."""
    import zmq

    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    pull.linger = 0
    pull.rcvtimeo = int(timeout * 1000)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    board = QemuBoard(fw, icount=not paced)
    cable = gw = None
    log = tempfile.TemporaryFile("w+")
    try:
        board.start("import qemu_device; qemu_device.goodput('serial://stdio', %d, %d, %d)" % (size, count, warm))
        cable = PtyCable(bps=LINE_BPS if paced else None, a_tty=board.pty).start()
        gw = subprocess.Popen([sys.executable, "-m", "edgezmq", "gateway", "serial://%s?baud=115200" % cable.b_path,
                               "tcp://127.0.0.1:%d" % port, "--connect", "--stats", "0"],
                              stdout=subprocess.DEVNULL, stderr=log, cwd=ROOT)
        marks = {}
        i = 0
        while True:
            m = pull.recv_multipart()
            if m[0] == b"cpu":
                us, wait_us, write_us, n, turns = (int(x) for x in m[1].split())
                break
            assert len(m) == 1 and len(m[0]) == size, [len(f) for f in m]
            if i in (warm, count - 1):
                marks[i] = (time.monotonic(), cable.counts["ab"], cable.counts["ba"])
            i += 1
    finally:
        if gw is not None:
            gw.terminate()
            try:
                gw.wait(10)
            except subprocess.TimeoutExpired:
                gw.kill()
                gw.wait()
        if cable is not None:
            cable.stop()
        board.close()
        ctx.destroy(linger=0)
    log.seek(0)
    st = final_stats(log.read())
    (t0, ab0, ba0), (t1, ab1, ba1) = marks[warm], marks[count - 1]
    msgs = count - 1 - warm
    payload = msgs * size
    return {"msgs": msgs, "payload": payload, "seconds": t1 - t0, "wire_fwd": ab1 - ab0, "wire_rev": ba1 - ba0,
            "us": us, "wait_us": wait_us, "write_us": write_us, "n": n, "turns": turns, "stats": st}


def cpu(r):
    """-> (instructions of device work per message, reactor turns per message)."""
    return (r["us"] - r["wait_us"] - r["write_us"]) * 1000.0 / r["n"], r["turns"] / r["n"]


def report(ics, pc, size):
    """Print the runs and the verdict; -> the goodput limit, % of line rate."""
    eff = sum(r["payload"] for r in ics) / sum(r["wire_fwd"] for r in ics)
    wire_per_msg = sum(r["wire_fwd"] for r in ics) / sum(r["msgs"] for r in ics)
    rev_per_msg = sum(r["wire_rev"] for r in ics) / sum(r["msgs"] for r in ics)
    line_s = wire_per_msg / LINE_BPS
    print("Cortex-M3 (qemu mps2-an385, %s), PUSH of %d-byte binary messages through `edgezmq gateway` to pyzmq"
          % (FIRMWARE, size))
    print("  framing: %.1f line bytes per message -> %.1f%% of the line is message bytes "
          "(ZMTP header, link header/CRC/flags, escaping); back: %.1f B of ACK/CREDIT per message (%.1f%%)"
          % (wire_per_msg, 100 * eff, rev_per_msg, 100.0 * rev_per_msg / wire_per_msg))
    work = sorted(cpu(r) for r in ics)
    for r in ics:
        w, t = cpu(r)
        print("  icount run: %.2f M instructions of device work per message, %.1f reactor turns per message "
              "(besides: %.2f M waiting in the poller, %.2f M in qemu's UART writes)"
              % (w / 1e6, t, r["wait_us"] / 1e3 / r["n"], r["write_us"] / 1e3 / r["n"]))
    (lo, tlo), (hi, thi) = work[0], work[-1]
    if thi - tlo > 5:
        print("  a reactor turn costs %.0f K instructions: qemu's UART hands the guest one byte per read, at the "
              "host's pace, so the ACK/CREDIT bytes cost 1-%d turns per message (a real UART's FIFO batches "
              "them)" % ((hi - lo) / (thi - tlo) / 1e3, int(rev_per_msg)))
    limits = {"framing": 100 * eff}
    for f in CLOCKS:
        for w, tag in ((lo, "best"), (hi, "worst")):
            limits["CPU at %d MHz, %s" % (f / 1e6, tag)] = min(100.0, 100.0 * size * f / w / LINE_BPS)
        print("    at %d MHz: %.1f-%.1f ms CPU a message against %.1f ms of line time: CPU %s"
              % (f / 1e6, lo / f * 1e3, hi / f * 1e3, line_s * 1e3,
                 "keeps up" if hi / f < line_s else "keeps up at best, not in the worst run"
                 if lo / f < line_s else "is the limit"))
    best = min(limits.values())
    print("  goodput limit at 115200 baud: %.1f%% of line rate (%s; goal >= 90%%)"
          % (best, ", ".join("%s %.1f%%" % kv for kv in limits.items())))
    if pc is not None:
        gp = pc["payload"] / pc["seconds"]
        print("  paced relay (%d B/s each way, qemu in real time): %.0f B/s = %.1f%% of line rate; "
              "line bytes %.0f B/s forward; device busy %.0f%% of the time; duplicates at the gateway %d"
              % (LINE_BPS, gp, 100 * gp / LINE_BPS, pc["wire_fwd"] / pc["seconds"],
                 100.0 * (pc["us"] - pc["wait_us"] - pc["write_us"]) / pc["us"], pc["stats"].get("duplicates", 0)))
    return best


def main(size=1024, count=100, warm=10, paced=True, runs=3):
    fw = firmware()
    if fw is None:
        return 0
    ics = [run(fw, paced=False, size=size, count=count, warm=warm) for _ in range(runs)]
    pc = run(fw, paced=True, size=size, count=count, warm=warm) if paced else None
    report(ics, pc, size)
    return 0
