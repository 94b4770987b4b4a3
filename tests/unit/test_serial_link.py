"""The serial Link on a simulated line (tests/linksim.py): coming up,
channels, flow control, keepalives, protocol errors, resets, statistics."""
import random
import tracemalloc

import pytest
from linksim import Endpoint, LinkError, Sim, linkchannel, seriallink
from serial_kit import F, make

pytestmark = pytest.mark.fastpath  # the serial link's byte stuffing and CRC under the Link: also run with EDGEZMQ_PURE=1


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
