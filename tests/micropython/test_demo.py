"""`python -m edgezmq demo` (what `make demo` runs), end to end as a user runs it:
the MicroPython device on a virtual UART behind `edgezmq gateway` (default),
and on TCP directly (--tcp), and with the Cortex-M3 firmware under qemu as its
device (--device qemu-m3). The checks are on what the demo prints."""
import os
import re
import shutil
import subprocess
import sys

import pytest
from support import ROOT, micropython_binary

pytestmark = pytest.mark.micropython

pytest.importorskip("zmq")
if micropython_binary() is None:
    pytest.skip("the demo needs the MicroPython unix port", allow_module_level=True)

STATS = re.compile(r"frames (\d+) tx / (\d+) rx, retries (\d+), CRC errors (\d+), bad frames (\d+), "
                   r"resets (\d+), link (up|down), channels (\d+)")


def run_demo(*args):
    p = subprocess.run([sys.executable, "-m", "edgezmq", "demo", *args], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert re.search(r"^demo: +OK in \d+\.\d s$", out, re.M), out
    return out


def readings(out):
    return [int(m) for m in re.findall(r'^device -> desktop +PUB temp \{"seq": (\d+)', out, re.M)]


def command_round_trip(out):
    """The LED command is answered, and a later reading reports the LED on."""
    lines = out.splitlines()
    asked = next(i for i, ln in enumerate(lines) if "REQ 'set led on'" in ln)
    assert 'REP {"led": "on"}' in lines[asked + 1]
    assert any('"led": "on"' in ln and "PUB temp" in ln for ln in lines[asked + 2:])
    assert "REQ 'stop'" in out and '"bye"' in out


def test_demo_serial_path_through_the_gateway():
    pytest.importorskip("serial")
    out = run_demo()
    assert "device --virtual UART-- edgezmq gateway --TCP-- desktop (pyzmq)" in out
    assert re.search(r"^gateway: +link up", out, re.M), out
    assert re.search(r"heap \d+K", out)
    seqs = readings(out)
    assert len(seqs) >= 5 and seqs[:5] == list(range(seqs[0], seqs[0] + 5)), out
    command_round_trip(out)
    assert re.search(r"^desktop: +\d+ readings through the noise, .*none lost, none corrupt", out, re.M), out
    live = [STATS.search(ln) for ln in out.splitlines() if ln.startswith("link stats:")]
    assert live and all(live), out
    final = [STATS.search(ln) for ln in out.splitlines() if ln.startswith("final stats:")]
    assert len(final) == 1 and final[0], out
    frames_tx, frames_rx, retries, crc, bad, resets = (int(x) for x in final[0].groups()[:6])
    assert frames_tx > 20 and frames_rx > 20
    assert crc + bad >= 1  # the bits the cable flipped were caught...
    assert retries >= 1  # ...and cost retransmissions
    assert resets == 0  # not a link reset


def test_demo_tcp_only():
    out = run_demo("--tcp")
    assert "device --TCP-- desktop (pyzmq)" in out
    assert "gateway" not in out and "link stats" not in out
    seqs = readings(out)
    assert seqs[:5] == list(range(seqs[0], seqs[0] + 5)), out
    command_round_trip(out)


def test_demo_fails_loudly_when_the_device_cannot_start():
    """Exit 1, and the device's own words (a MemoryError) on the console."""
    p = subprocess.run([sys.executable, "-m", "edgezmq", "demo", "--tcp", "--heap", "32K"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, p.stdout
    assert "MemoryError" in p.stdout and re.search(r"^demo: +FAILED in", p.stdout, re.M), p.stdout


def test_demo_with_the_cortex_m3_as_its_device():
    """`make demo DEVICE=m3`: the Cortex-M3 firmware under qemu runs the demo's
    device program (sent through its raw REPL), its UART the link; the same
    readings, commands and noise as the default demo, through the gateway."""
    from support import ensure_mp_builds, mp_build_missing

    pytest.importorskip("serial")
    if shutil.which("qemu-system-arm") is None or ensure_mp_builds("qemu-96K")["qemu-96K"] is None:
        pytest.skip(mp_build_missing("qemu-96K"))
    out = run_demo("--device", "qemu-m3")
    assert "device (Cortex-M3 under qemu) --virtual UART-- edgezmq gateway --TCP-- desktop (pyzmq)" in out
    assert re.search(r"^device: +UART on /dev/pts/\d+; demo_device\.py goes in through the raw REPL", out, re.M), out
    assert re.search(r"^gateway: +link up", out, re.M), out
    seqs = readings(out)
    assert len(seqs) >= 5 and seqs[:5] == list(range(seqs[0], seqs[0] + 5)), out
    command_round_trip(out)
    assert re.search(r"^desktop: +\d+ readings through the noise, .*none lost, none corrupt", out, re.M), out
    assert re.search(r"^device log: +program ended", out, re.M), out
    final = [STATS.search(ln) for ln in out.splitlines() if ln.startswith("final stats:")]
    assert len(final) == 1 and final[0], out
    frames_tx, frames_rx, retries, crc, bad, resets = (int(x) for x in final[0].groups()[:6])
    assert frames_tx > 20 and frames_rx > 20
    assert crc + bad >= 1 and retries >= 1  # the flipped bits were caught and repaired
    assert resets == 0, out
    took = float(re.search(r"^demo: +OK in (\d+\.\d) s$", out, re.M).group(1))
    print("\nedgezmq demo --device qemu-m3: OK in %.1f s" % took)


def test_demo_cortex_m3_says_what_is_missing(tmp_path):
    """No qemu-system-arm, or no firmware: exit 1 and name the Debian packages
    and `make firmware`, before anything starts."""
    p = subprocess.run([sys.executable, "-m", "edgezmq", "demo", "--device", "qemu-m3",
                        "--firmware", str(tmp_path / "none.elf")], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 1
    if shutil.which("qemu-system-arm"):
        assert "make firmware" in p.stderr and "gcc-arm-none-eabi libnewlib-arm-none-eabi" in p.stderr, p.stderr
    p = subprocess.run([sys.executable, "-m", "edgezmq", "demo", "--device", "qemu-m3"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PATH=os.path.dirname(sys.executable)))  # no qemu on this PATH
    assert p.returncode == 1 and "apt-get install qemu-system-arm" in p.stderr, p.stderr
