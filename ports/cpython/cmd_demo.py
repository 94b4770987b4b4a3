"""the end-to-end demo: a MicroPython device, a pyzmq subscriber and a requester

Builds the device bundle into a temporary folder, starts the MicroPython unix
port as a "sensor device" (ports/micropython/demo_device.py: a PUB publishing
temperature readings and a REP answering requests), then talks to it from
pyzmq (real libzmq): subscribes, reads a few readings, asks for the config,
switches the LED, checks that the readings report it, and stops the device.
Exits 0 when every step worked, 1 otherwise; ends within about 10 seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEVICE_SCRIPT = os.path.join(os.path.dirname(HERE), "micropython", "demo_device.py")
HEAP = "256K"  # passes at 192K today; docs/micropython.md says where the heap goes


def _micropython() -> str | None:
    cand = os.path.join(os.path.dirname(sys.executable), "micropython")
    return cand if os.path.exists(cand) else shutil.which("micropython")


def _say(who: str, text: str) -> None:
    print("%-18s %s" % (who, text), flush=True)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="edgezmq demo", description=__doc__.splitlines()[0])
    ap.add_argument("--heap", default=HEAP, help="MicroPython heap size (default %s)" % HEAP)
    ap.add_argument("--readings", type=int, default=5, help="readings to print")
    a = ap.parse_args(argv)
    try:
        import zmq
    except ImportError:
        print("edgezmq demo: needs pyzmq for the desktop side (pip install pyzmq)", file=sys.stderr)
        return 1
    mp = _micropython()
    if mp is None:
        print("edgezmq demo: the MicroPython unix port is not installed (micropython)", file=sys.stderr)
        return 1
    from . import cmd_bundle

    tmp = tempfile.mkdtemp(prefix="edgezmq-demo-")
    proc = None
    lines: queue.Queue = queue.Queue()
    ctx = zmq.Context()
    ok = False
    try:
        cmd_bundle.build(tmp, mpy=cmd_bundle.find_mpy_cross() is not None)
        _say("demo:", "bundle built in %s; starting MicroPython (heap %s)" % (tmp, a.heap))
        proc = subprocess.Popen(
            [mp, "-X", "heapsize=" + a.heap, DEVICE_SCRIPT, "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", "9"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, MICROPYPATH=tmp),
        )
        def pump() -> None:
            for line in proc.stdout:
                lines.put(line.rstrip("\n"))
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        ok = _run(zmq, ctx, lines, a.readings)
    except Exception as e:  # noqa: BLE001 - report and fail
        _say("demo:", "FAILED: %s: %s" % (type(e).__name__, e))
    finally:
        ctx.destroy(linger=0)
        if proc is not None:
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if not ok:  # show what the device said (a MemoryError, a traceback)
                _drain(lines)
        shutil.rmtree(tmp, ignore_errors=True)
    _say("demo:", "OK" if ok else "FAILED")
    return 0 if ok else 1


def _drain(lines: queue.Queue) -> None:
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if line is None:
            return
        _say("device log:", line)


def _device_line(lines: queue.Queue, prefix: str, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("device did not print %r" % prefix)
        line = lines.get(timeout=left)
        if line is None:
            raise RuntimeError("device exited early")
        if line.startswith(prefix):
            return line
        _say("device log:", line)


def _run(zmq, ctx, lines: queue.Queue, n: int) -> bool:
    hello = _device_line(lines, "device: PUB on")
    _say("device log:", hello)
    words = hello.split()
    pub_ep, rep_ep = words[3].rstrip(","), words[6]

    sub = ctx.socket(zmq.SUB)
    sub.rcvtimeo = 2000
    sub.linger = 0
    sub.subscribe(b"temp")
    sub.connect(pub_ep)
    req = ctx.socket(zmq.REQ)
    req.rcvtimeo = 2000
    req.sndtimeo = 2000
    req.linger = 0
    req.connect(rep_ep)

    def ask(text: str) -> dict:
        _say("desktop -> device", "REQ %r" % text)
        req.send_string(text)
        reply = json.loads(req.recv())
        _say("device -> desktop", "REP %s" % json.dumps(reply))
        return reply

    # the first reading proves the subscription took effect (slow joiner)
    topic, body = sub.recv_multipart()
    first = json.loads(body)
    _say("device -> desktop", "PUB %s %s" % (topic.decode(), body.decode()))
    seqs = [first["seq"]]
    for _ in range(n - 1):
        topic, body = sub.recv_multipart()
        _say("device -> desktop", "PUB %s %s" % (topic.decode(), body.decode()))
        seqs.append(json.loads(body)["seq"])
    if seqs != list(range(seqs[0], seqs[0] + n)):
        _say("demo:", "readings out of order or lost: %r" % seqs)
        return False

    config = ask("get config")
    if config.get("name") != "sensor-1":
        return False
    if ask("set led on") != {"led": "on"}:
        return False
    # a reading published after the request reports the new LED state
    for _ in range(30):
        topic, body = sub.recv_multipart()
        reading = json.loads(body)
        if reading["led"] == "on":
            _say("device -> desktop", "PUB %s %s" % (topic.decode(), body.decode()))
            break
    else:
        _say("demo:", "the LED state never showed in the readings")
        return False
    if "error" not in ask("reboot please"):
        return False
    ask("stop")
    _say("device log:", _device_line(lines, "device: stopped"))
    return True
