"""The serial Link on the MicroPython unix port against the CPython Link, over
a real pseudo-terminal."""
import os
import random
import select
import subprocess
import termios
import time
import tty

import pytest
from linksim import Link, seriallink
from support import ROOT, micropython_binary, mpy_cross_binary

# -- MicroPython <-> CPython over a pseudo-terminal -----------------------------------

MP_SIDE = r"""
import gc, select, sys, time
sys.path.insert(0, sys.argv[1])
gc.collect()
from edgezmq.transports.serial import link as seriallink
gc.collect()
m0 = gc.mem_alloc()
link = seriallink.Link(time.ticks_ms(), window=4, mtu=256, rx_buffer=512, tx_buffer=512)
gc.collect()
m1 = gc.mem_alloc()
f = open(sys.argv[2], "r+b")
poller = select.poll()
poller.register(f, select.POLLIN)
buf = bytearray(256)
pattern = bytes((i * 7 + 3) & 0xFF for i in range(251))
want_mine = int(sys.argv[3])
mine = None
mine_sent = 0
echo = None
echo_pending = b""
echoed = 0
m2 = None
deadline = time.ticks_add(time.ticks_ms(), 30000)
while time.ticks_diff(deadline, time.ticks_ms()) > 0:
    now = time.ticks_ms()
    v = link.pending_output(now)
    while len(v):
        link.output_sent(f.write(v))
        v = link.pending_output(now)
    wait = link.next_deadline() - now
    for _ in poller.poll(min(max(wait, 0), 20)):
        pass
    now = time.ticks_ms()
    n = f.readinto(buf)
    if n:
        link.receive_data(buf, now, n)
    else:
        link.tick(now)
    ev = link.poll_event()
    while ev:
        if ev[0] == seriallink.EV_CHANNEL_OPENED:
            echo = ev[1]
        elif ev[0] == seriallink.EV_CHANNEL_CLOSED and ev[1] is echo:
            deadline = now
        ev = link.poll_event()
    if link.established and mine is None:
        mine = link.open_channel()
    if mine is not None and mine.state == seriallink.OPEN and mine_sent < want_mine:
        k = mine_sent % 251
        mine_sent += mine.send(memoryview(pattern)[k:k + min(251 - k, want_mine - mine_sent)])
    if echo is not None:
        if not echo_pending and echo.readable:
            echo_pending = echo.recv(256)
        if echo_pending and echo.state == seriallink.OPEN:
            k = echo.send(echo_pending)
            echoed += k
            echo_pending = echo_pending[k:]
    if m2 is None and mine_sent >= want_mine:
        gc.collect()
        m2 = gc.mem_alloc()
# linger: let the last acknowledgements out
end = time.ticks_add(time.ticks_ms(), 300)
while time.ticks_diff(end, time.ticks_ms()) > 0:
    now = time.ticks_ms()
    v = link.pending_output(now)
    if len(v):
        link.output_sent(f.write(v))
    n = f.readinto(buf)
    if n:
        link.receive_data(buf, now, n)
    time.sleep_ms(5)
s = link.stats
print("RESULT echoed=%d mine=%d link_heap=%d with_channels=%d crc=%d retx=%d resets=%d"
      % (echoed, mine_sent, m1 - m0, (m2 or 0) - m0, s["crc_errors"], s["retransmits"], s["resets"]))
"""


MPY_CROSS = mpy_cross_binary()


@pytest.mark.skipif(micropython_binary() is None or MPY_CROSS is None,
                    reason="no MicroPython unix port or mpy-cross")
def test_micropython_and_cpython_links_interoperate_over_a_pty(tmp_path):
    pkg = tmp_path / "edgezmq"
    ser = pkg / "transports" / "serial"
    ser.mkdir(parents=True)
    for d in (pkg, pkg / "transports", ser):
        (d / "__init__.py").write_text("")
    for name in ("framing", "channel", "link"):
        # compiled as for a device: compiling the source needs more than a 64K heap
        subprocess.run([MPY_CROSS, "-o", str(ser / (name + ".mpy")),
                        os.path.join(ROOT, "core", "transports", "serial", name + ".py")], check=True)
    script = tmp_path / "mp_side.py"
    script.write_text(MP_SIDE)
    master, slave = os.openpty()
    tty.setraw(slave)
    attrs = termios.tcgetattr(slave)
    attrs[6][termios.VMIN] = 0  # MicroPython's readinto returns what is there
    attrs[6][termios.VTIME] = 0
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    os.set_blocking(master, False)
    want_mine = 20000
    proc = subprocess.Popen(
        [micropython_binary(), "-X", "heapsize=64K", str(script), str(tmp_path), os.ttyname(slave),
         str(want_mine)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    link = Link(int(time.monotonic() * 1000), window=4, mtu=512, rx_buffer=2048)
    rng = random.Random(7)
    payload = bytes(rng.getrandbits(8) for _ in range(30000))
    ch = None
    sent = 0
    echo = bytearray()
    theirs = None
    got_theirs = bytearray()
    t_end = time.monotonic() + 40
    try:
        while time.monotonic() < t_end:
            now = int(time.monotonic() * 1000)
            v = link.pending_output(now)
            while len(v):
                try:
                    n = os.write(master, v)
                except BlockingIOError:
                    break
                link.output_sent(n)
                v = link.pending_output(now)
            select.select([master], [], [], 0.01)
            now = int(time.monotonic() * 1000)
            try:
                data = os.read(master, 4096)
            except (BlockingIOError, OSError):
                data = b""
            if data:
                link.receive_data(data, now)
            else:
                link.tick(now)
            ev = link.poll_event()
            while ev:
                if ev[0] == seriallink.EV_CHANNEL_OPENED:
                    theirs = ev[1]
                ev = link.poll_event()
            if link.established and ch is None:
                ch = link.open_channel()
            if ch is not None and sent < len(payload):
                sent += ch.send(payload[sent : sent + 1000])
            if ch is not None:
                echo += ch.recv()
            if theirs is not None:
                got_theirs += theirs.recv()
            if len(echo) >= len(payload) and len(got_theirs) >= want_mine:
                ch.close()
                for _ in range(30):
                    now = int(time.monotonic() * 1000)
                    v = link.pending_output(now)
                    if len(v):
                        link.output_sent(os.write(master, v))
                    time.sleep(0.01)
                    try:
                        link.receive_data(os.read(master, 4096), now)
                    except (BlockingIOError, OSError):
                        pass
                break
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
        os.close(slave)
    print(out)
    assert bytes(echo) == payload, (len(echo), out)
    pattern = bytes((i * 7 + 3) & 0xFF for i in range(251))
    assert bytes(got_theirs) == (pattern * (want_mine // 251 + 1))[:want_mine]
    line = [x for x in out.splitlines() if x.startswith("RESULT")][0]
    fields = dict(kv.split("=") for kv in line.split()[1:])
    assert int(fields["echoed"]) == len(payload) and int(fields["mine"]) == want_mine
    assert int(fields["resets"]) == 0 and int(fields["crc"]) == 0
    assert int(fields["link_heap"]) < 6144  # window=4, mtu=256: a few KiB
    assert link.stats["crc_errors"] == 0 and link.stats["resets"] == 0
