"""core/transports/stream.py's Engine on a fake stream and a fake port: the
bytes it writes are the connection's, partial writes resume when the stream
is writable, reading pauses at RCVHWM and when a device's frame pool runs
dry, end of stream and errors close it with the right monitor event, and
its timers (handshake deadline, heartbeats) run on the test's clock."""
import errno

import pytest
from edgezmq.transports import stream as stream_mod
from edgezmq.transports.stream import Engine
from port_kit import (
    AGAIN,
    PEER_GREETING,
    C,
    FakeStream,
    MonitorLog,
    data_frames,
    make_context,
    msg,
    parse_frames,
    ready_cmd,
)

PEER = {C.PULL: b"PUSH", C.PUSH: b"PULL", C.DEALER: b"DEALER", C.PAIR: b"PAIR", C.SUB: b"PUB"}


class Rig:
    def __init__(self, kind=C.PULL, persistent=False, port=None, **opts):
        self.ctx = make_context(**(port or {}))
        self.poller = self.ctx.port.poller()
        sock = self.sock = self.ctx.socket(kind)
        for k, v in opts.items():
            setattr(sock, k, v)
        self.mon = MonitorLog(sock)
        self.session = sock.queue_on_connect("tcp://peer:1") if persistent else sock.new_session("tcp://peer:1")
        self.stream = FakeStream(fd=41)
        self.engine = Engine(self.session, self.stream, sock.connection_config(), None)

    def readable(self, *chunks):
        """Each chunk arrives and the poller reports the stream readable (a
        read shorter than the buffer ends the engine's turn)."""
        for c in chunks:
            self.stream.reads.append(c)
            self.engine.on_event(True, False, False)

    def handshake(self, extra=b""):
        self.readable(PEER_GREETING + ready_cmd(PEER[self.sock.socket_type]) + extra)
        assert self.engine.ready and self.session.engine is self.engine

    def recv_all(self):
        out = []
        while True:
            got = self.sock.pattern.recv_frame()
            if got is None:
                return out
            buf, n, more = got
            out.append(bytes(buf[:n]))
            self.ctx.pool.give(buf)  # as Socket.recv does with a pool slot


@pytest.fixture
def rig(clock):
    return Rig()


# -- writing ---------------------------------------------------------------------------------


def test_the_greeting_goes_out_at_once_and_ready_after_the_peers(rig):
    s = rig.stream
    assert len(s.sent) == 64 and s.sent[0] == 0xFF and s.sent[10:12] == b"\x03\x01"
    assert rig.poller.calls[0] == ("register", rig.engine, True, True)
    assert rig.poller.interest[rig.engine] == (True, False)  # all written: not watching for writable
    rig.handshake()
    (flags, body), = parse_frames(s.sent[64:])
    assert flags == 4 and body.startswith(b"\x05READY") and b"Socket-Type\x00\x00\x00\x04PULL" in body


def test_the_bytes_written_are_the_messages_sent(clock):
    r = Rig(C.PUSH)
    r.handshake()
    pat = r.sock.pattern
    pat.send_frame(b"hello", 0)
    pat.send_frame(b"multi", 1)
    pat.send_frame(b"part", 0)
    big = bytes(range(256)) * 3
    pat.send_frame(big, 0)
    assert data_frames(r.stream.sent) == [(0, b"hello"), (1, b"multi"), (0, b"part"), (2, big)]
    assert len(r.engine.conn.pending_output()) == 0 and r.session.pending() == 0


def test_a_partial_write_is_resumed_when_the_stream_is_writable(clock):
    r = Rig(C.PUSH)
    r.handshake()
    e, s = r.engine, r.stream
    before = len(s.sent)
    s.sends = [3, AGAIN]
    r.sock.pattern.send_frame(b"0123456789", 0)
    assert len(s.sent) == before + 3 and r.session.pending() == 1
    assert r.poller.interest[e] == (True, True)
    r.sock.pattern.send_frame(b"second", 0)  # waits for writability: no write tried
    assert len(s.sent) == before + 3 and s.sends == []
    e.on_event(False, True, False)
    assert data_frames(s.sent) == [(0, b"0123456789"), (0, b"second")]
    assert r.poller.interest[e] == (True, False) and r.session.pending() == 0


def test_a_stream_that_takes_one_byte_at_a_time_gets_every_byte_in_order(clock):
    r = Rig(C.PUSH)
    r.handshake()
    s = r.stream
    s.sends = [1, AGAIN] * 40
    r.sock.pattern.send_frame(b"slowly", 0)
    r.sock.pattern.send_frame(b"surely", 0)
    while r.engine.has_output():
        r.engine.on_event(False, True, False)
    assert data_frames(s.sent) == [(0, b"slowly"), (0, b"surely")]


def test_a_write_error_closes_the_connection(clock):
    r = Rig(C.PUSH)
    r.handshake()
    r.stream.sends = [OSError(errno.EPIPE, "broken pipe")]
    r.sock.pattern.send_frame(b"x", 0)
    assert not r.engine.active and r.stream.closed == 1
    assert r.mon.kinds()[-1] == C.EVENT_DISCONNECTED
    assert r.sock.stats["disconnects"] == 1 and r.sock.stats["dropped_disconnect"] == 1
    assert any("write failed" in line for line in r.ctx.port.logs)


def test_a_write_failing_at_ready_drops_one_message_and_keeps_the_rest_queued(clock):
    r = Rig(C.PUSH, persistent=True)
    for body in (b"a", b"b"):
        r.sock.pattern.send_frame(body, 0)
    r.stream.sends = [OSError(errno.EPIPE, "broken pipe")]
    r.readable(PEER_GREETING + ready_cmd(b"PULL"))
    assert not r.engine.active and not r.session.connected and r.session.active
    assert r.sock.stats["dropped_disconnect"] == 1 and r.session.pending() == 1  # b waits for the next


def test_monitor_events_keep_their_order_when_a_write_fails_at_ready(clock):
    r = Rig(C.PUSH, persistent=True)
    r.sock.pattern.send_frame(b"a", 0)
    r.stream.sends = [OSError(errno.EPIPE, "broken pipe")]
    r.readable(PEER_GREETING + ready_cmd(b"PULL"))
    assert r.mon.kinds() == [C.EVENT_HANDSHAKE_SUCCEEDED, C.EVENT_DISCONNECTED]


# -- reading ---------------------------------------------------------------------------------


def test_messages_read_reach_the_pattern_in_order(rig):
    rig.handshake()
    rig.readable(msg(b"one") + msg(b"two", b"parts"), msg(b"three"))
    assert rig.recv_all() == [b"one", b"two", b"parts", b"three"]


def test_data_right_behind_ready_in_the_same_read_is_delivered_after_attach(rig):
    rig.handshake(extra=msg(b"early"))
    assert rig.sock.pattern.pipes == [rig.session] and rig.recv_all() == [b"early"]


def test_reading_pauses_at_rcvhwm_and_the_rest_stays_in_the_stream(clock):
    r = Rig(C.PULL, port={"rx_size": 64}, rcvhwm=4)
    r.handshake()
    want = [b"m%02d" % i for i in range(40)]  # 5 bytes each on the wire: 200 bytes
    r.readable(b"".join(msg(m) for m in want))
    assert not r.engine.reading and r.poller.interest[r.engine][0] is False
    assert r.stream.pending_reads() == 200 - 64  # one buffer read past the mark, no more
    r.engine.on_event(True, False, False)  # a stale readiness event reads nothing
    assert r.stream.pending_reads() == 136
    got = r.recv_all()  # taking messages resumes reading at half the mark
    assert got == want and r.stream.pending_reads() == 0 and r.engine.reading


def test_end_of_stream_closes_with_disconnected(rig):
    rig.handshake()
    rig.readable(msg(b"last"), b"")
    e = rig.engine
    assert not e.active and rig.stream.closed == 1 and e not in rig.sock.engines
    assert ("unregister", e) in rig.poller.calls and e not in rig.poller.interest
    assert rig.mon.kinds() == [C.EVENT_HANDSHAKE_SUCCEEDED, C.EVENT_DISCONNECTED]
    assert rig.sock.stats["disconnects"] == 1 and rig.sock.stats["handshake_failures"] == 0
    assert rig.recv_all() == [b"last"]  # what arrived whole stays readable


def test_end_of_stream_during_the_greeting_is_no_handshake_failure(rig):
    rig.readable(PEER_GREETING[:20], b"")
    assert not rig.engine.active
    assert rig.mon.kinds() == [C.EVENT_DISCONNECTED]
    assert rig.sock.stats["handshake_failures"] == 0 and rig.sock.stats["connects"] == 0


def test_a_read_error_closes_the_connection(rig):
    rig.handshake()
    rig.readable(OSError(errno.ECONNRESET, "reset"))
    assert not rig.engine.active and rig.mon.kinds()[-1] == C.EVENT_DISCONNECTED
    assert any("read failed" in line for line in rig.ctx.port.logs)


def test_a_peer_of_the_wrong_type_fails_the_handshake_with_an_error_command(rig):
    rig.readable(PEER_GREETING + ready_cmd(b"PULL"))  # PULL cannot talk to PULL
    assert not rig.engine.active
    cmds = parse_frames(rig.stream.sent[64:])
    assert cmds[-1] == (4, b"\x05ERROR\x13Invalid socket type")
    assert rig.mon.kinds() == [C.EVENT_HANDSHAKE_FAILED_PROTOCOL]
    assert rig.sock.stats["handshake_failures"] == 1 and rig.sock.stats["protocol_errors"] == 1


def test_garbage_after_the_handshake_is_a_disconnect_not_a_handshake_failure(rig):
    rig.handshake()
    rig.readable(msg(b"fine") + b"\xf0\x01x")  # reserved flag bits
    assert not rig.engine.active
    st = rig.sock.stats
    assert (st["protocol_errors"], st["disconnects"], st["handshake_failures"]) == (1, 1, 0)
    assert rig.mon.kinds() == [C.EVENT_HANDSHAKE_SUCCEEDED, C.EVENT_DISCONNECTED]
    assert rig.recv_all() == [b"fine"]


def test_a_refused_peer_is_closed_as_a_failed_handshake(clock):
    r = Rig(C.PAIR)
    r.handshake()
    second = r.sock.new_session("tcp://other:2")
    s2 = FakeStream(fd=42)
    e2 = Engine(second, s2, r.sock.connection_config(), None)
    s2.reads.append(PEER_GREETING + ready_cmd(b"PAIR"))
    e2.on_event(True, False, False)
    assert not e2.active and s2.closed == 1 and r.engine.active
    assert r.sock.stats["handshake_failures"] == 1 and r.sock.stats["protocol_errors"] == 1
    assert r.sock.pattern.pipes == [r.session]


# -- timers ------------------------------------------------------------------------------------


def test_a_stalled_handshake_is_closed_at_handshake_ivl(clock):
    r = Rig(C.PULL, handshake_ivl=500)
    r.readable(PEER_GREETING[:30])
    clock.now += 499
    r.ctx.reactor.run_once(0)
    assert r.engine.active
    clock.now += 1
    r.ctx.reactor.run_once(0)
    assert not r.engine.active and r.stream.closed == 1
    assert r.mon.kinds() == [C.EVENT_HANDSHAKE_FAILED_NO_DETAIL]
    assert r.sock.stats["handshake_failures"] == 1


def test_a_finished_handshake_cancels_its_deadline(clock):
    r = Rig(C.PULL, handshake_ivl=500)
    r.handshake()
    clock.now += 10000
    r.ctx.reactor.run_once(0)
    assert r.engine.active and r.sock.stats["handshake_failures"] == 0
    assert Rig(C.PULL, handshake_ivl=0).engine.timer is None  # 0: no deadline


def test_heartbeats_ping_then_close_a_silent_peer(clock):
    r = Rig(C.PULL, heartbeat_ivl=100, heartbeat_timeout=300)
    r.handshake()
    n0 = len(r.stream.sent)
    r.ctx.reactor.run_once(0)  # the first PING goes at once
    (flags, body), = parse_frames(r.stream.sent[n0:])
    assert flags == 4 and body.startswith(b"\x04PING")
    for _ in range(10):
        clock.now += 100
        r.ctx.reactor.run_once(0)
        if not r.engine.active:
            break
    assert not r.engine.active and r.sock.stats["heartbeat_timeouts"] == 1
    assert r.mon.kinds()[-1] == C.EVENT_DISCONNECTED


def test_traffic_keeps_a_heartbeating_connection_alive(clock):
    r = Rig(C.PULL, heartbeat_ivl=100, heartbeat_timeout=300)
    r.handshake()
    for i in range(20):
        clock.now += 100
        r.readable(msg(b"%d" % i))
        r.ctx.reactor.run_once(0)
    assert r.engine.active and len(r.recv_all()) == 20


def test_a_peers_ping_is_answered_and_its_ttl_enforced(clock):
    r = Rig(C.PULL)  # no heartbeats of our own
    r.handshake()
    n0 = len(r.stream.sent)
    ping = b"\x04PING\x00\x05ctx"  # TTL 5 deciseconds, context b"ctx"
    r.readable(bytes((4, len(ping))) + ping)
    assert parse_frames(r.stream.sent[n0:]) == [(4, b"\x04PONGctx")]
    clock.now += 500
    r.ctx.reactor.run_once(0)
    assert r.engine.active  # exactly the TTL: not yet expired
    clock.now += 1
    r.ctx.reactor.run_once(0)
    assert not r.engine.active and r.sock.stats["heartbeat_timeouts"] == 1


# -- a device's frame pool runs dry -------------------------------------------------------------


DEVICE = {"heap_ok": False, "pool_count": 2, "pool_size": 16, "pool_small_frames": True}


def test_a_dry_pool_holds_the_rest_of_a_read_and_resumes_in_order(clock):
    r = Rig(C.PULL, port=DEVICE)
    r.handshake()
    pool = r.ctx.pool
    want = [b"m%d" % i for i in range(6)]
    r.readable(b"".join(msg(m) for m in want[:5]), msg(want[5]))
    assert pool.nfree == 0 and pool.stalled == [r.engine] and not r.engine.reading
    assert r.stream.pending_reads() == 4  # the second chunk was not read
    assert r.session.inq.msgs == 2
    r.engine.on_event(True, False, False)  # still no slot: nothing moves
    assert r.session.inq.msgs == 2 and r.stream.pending_reads() == 4
    got = []
    while len(got) < 6:
        buf, n, more = r.sock.pattern.recv_frame()
        got.append(bytes(buf[:n]))
        pool.give(buf)
        r.ctx.resume_stalled()
    assert got == want and pool.stalled == [] and r.engine.reading
    assert r.stream.pending_reads() == 0 and pool.heap_allocs == 0


def test_a_stalled_connection_that_closes_leaves_the_stall_list(clock):
    r = Rig(C.PULL, port=DEVICE)
    r.handshake()
    r.readable(b"".join(msg(b"x%d" % i) for i in range(4)))
    assert r.ctx.pool.stalled == [r.engine]
    r.engine.close("test")
    assert r.ctx.pool.stalled == [] and r.ctx.resume_stalled() is False


# -- scatter/gather writes of big frames ---------------------------------------------------------


class GatherStream(FakeStream):
    """A stream with sendmsg: the engine writes big frames from the caller's buffer."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.gathers = []  # how many bytes each sendmsg may take (None: all)

    def sendmsg(self, bufs):
        data = b"".join(bytes(b) for b in bufs)
        take = self.gathers.pop(0) if self.gathers else None
        n = len(data) if take is None else min(take, len(data))
        self.sent += data[:n]
        return n


def rig_interest(e):
    return e.ctx.port.poller().interest[e]


def gather_rig(clock):
    ctx = make_context()
    ctx.port.writev = lambda s, bufs: s.sendmsg(bufs)
    sock = ctx.socket(C.PUSH)
    session = sock.queue_on_connect("tcp://peer:1")
    s = GatherStream(fd=43)
    e = Engine(session, s, sock.connection_config(), None)
    s.reads.append(PEER_GREETING + ready_cmd(b"PULL"))
    e.on_event(True, False, False)
    assert e.ready and e.writev is not None
    return sock, session, e, s


def test_a_big_frame_written_in_part_is_finished_by_the_next_flush(clock):
    sock, session, e, s = gather_rig(clock)
    big = bytes(range(256)) * 300  # 76,800 bytes: over the gather threshold
    s.gathers = [1000]
    sock.pattern.send_frame(big, 0)
    sent = len(s.sent)
    assert session.pending() == 1 and len(e.conn.pending_output()) == 9 + len(big) - 1000
    assert rig_interest(e) == (True, True)
    s.sends = [AGAIN]
    e.on_event(False, True, False)  # still full
    assert len(s.sent) == sent and session.pending() == 1
    e.on_event(False, True, False)
    assert data_frames(s.sent) == [(2, big)] and session.pending() == 0


def test_a_big_frame_behind_queued_bytes_keeps_its_place(clock):
    sock, session, e, s = gather_rig(clock)
    s.sends = [AGAIN]
    sock.pattern.send_frame(b"small first", 0)  # stays queued: the stream would block
    big = b"B" * 70000
    s.gathers = [5]  # part of the queued bytes only
    sock.pattern.send_frame(big, 0)
    e.on_event(False, True, False)
    assert data_frames(s.sent) == [(0, b"small first"), (2, big)]
    assert session.pending() == 0 and not session.conn.pending_output()


def test_the_engines_private_copies_of_the_connection_numbers_match_it():
    """stream.py keeps the connection's event, cause and state numbers as
    private consts (no module slot on a device): they must be the connection's."""
    from edgezmq.zmtp import connection

    for name in ("READY", "EV_READY", "EV_SUBSCRIPTION", "EV_ZAP_REQUEST", "EV_ERROR", "CAUSE_AUTH",
                 "CAUSE_HEARTBEAT"):
        assert getattr(stream_mod, "_" + name) == getattr(connection, name), name
