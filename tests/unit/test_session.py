"""core/session.py: a Session between a real socket's pattern and a real zmtp
Connection (handshaken from bytes), with a fake engine that records what
the session asks of it: queue on connect, messages cut by a disconnect,
persistent and per-connection sessions, RCVHWM flow control, SNDHWM
accounting, monitor events and statistics."""
import pytest
from port_kit import C, MonitorLog, data_frames, handshake_conn, make_context, msg, parse_frames


class FakeEngine:
    """What a session calls on its engine. The stream takes `cap` bytes per
    flush (None: everything); what it took is in `wire`."""

    def __init__(self, session, conn, fd=7, cap=None):
        self.session = session
        self.conn = conn
        self.fd = fd
        self.cap = cap
        self.wire = bytearray()
        self.reading = True
        self.pauses = []  # every pause_reading(paused) call
        self.flushes = 0

    def output_queued(self, total):
        self.flush()

    def flush(self):
        self.flushes += 1
        out = self.conn.pending_output()
        n = len(out) if self.cap is None else min(self.cap, len(out))
        if n:
            self.wire += out[:n]
            self.conn.output_sent(n, 0)
            self.session.on_sent(n)

    def write_frame(self, data, more):
        return False  # no scatter/gather: the session queues on the connection

    def pause_reading(self, paused):
        self.pauses.append(paused)
        self.reading = not paused

    def lose(self, event=C.EVENT_DISCONNECTED):
        self.conn.close()
        self.session.connection_lost(self, event, "test")


def connect(session, cap=None, fd=7, **peer):
    """A connection's handshake completes under `session`. -> its engine."""
    conn = handshake_conn(session.sock, session, **peer)
    e = FakeEngine(session, conn, fd, cap)
    assert session.connection_ready(e, conn)
    return e


def feed(e, data):
    """The peer's bytes reach the session through the connection, as the engine feeds them."""
    assert e.conn.receive_data(data, len(data), 0) == len(data)
    e.session.check_hwm()


def recv_msg(pattern):
    frames = []
    while True:
        got = pattern.recv_frame()
        if got is None:
            return frames or None
        buf, n, more = got
        frames.append(bytes(buf[:n]))
        if not more:
            return frames


@pytest.fixture
def ctx():
    return make_context()


def push_session(ctx, sndhwm=1000):
    sock = ctx.socket(C.PUSH)
    sock.options.sndhwm = sndhwm
    return sock, sock.queue_on_connect("tcp://peer:1")


# -- queue on connect ---------------------------------------------------------------


def test_writes_before_the_connection_wait_in_the_session_up_to_sndhwm(ctx):
    sock, s = push_session(ctx, sndhwm=3)
    pat = sock.pattern
    assert s.active and not s.connected and pat.pipes == [s]
    for body in (b"one", b"two"):
        assert pat.send_frame(body, 0)
    assert pat.send_frame(b"three-a", 1) and s.can_send()  # a message counts once it is whole
    assert pat.send_frame(b"three-b", 0)
    assert not s.can_send() and s.pending() == 3
    assert pat.send_frame(b"four", 0) is False  # at SNDHWM: the socket would block (EAGAIN)
    assert s.outq.count == 4


def test_queued_messages_go_out_in_order_on_connection_ready(ctx):
    sock, s = push_session(ctx)
    pat = sock.pattern
    pat.send_frame(b"first", 0)
    pat.send_frame(b"m1", 1)
    pat.send_frame(b"m2", 0)
    e = connect(s)
    assert s.outq is None and s.connected and s.pending() == 0
    assert data_frames(e.wire) == [(0, b"first"), (1, b"m1"), (0, b"m2")]
    pat.send_frame(b"after", 0)  # straight onto the connection now
    assert data_frames(e.wire)[-1] == (0, b"after")


def test_the_patterns_attach_is_called_once_across_connections(ctx, monkeypatch):
    sock = ctx.socket(C.DEALER)
    calls = []
    attach = sock.pattern.attach
    monkeypatch.setattr(sock.pattern, "attach", lambda p: calls.append(p) or attach(p))
    ready = []
    monkeypatch.setattr(sock.pattern, "pipe_ready", ready.append)
    s = sock.queue_on_connect("tcp://peer:1")
    connect(s).lose()
    connect(s).lose()
    connect(s)
    assert calls == [s] and ready == [s, s, s]  # pipe_ready once per connection
    assert sock.pattern.pipes == [s]


def test_a_send_while_reconnecting_waits_for_the_next_connection(ctx):
    sock, s = push_session(ctx)
    e1 = connect(s)
    sock.pattern.send_frame(b"a", 0)
    e1.lose()
    assert s.active and not s.connected and s.can_send()
    sock.pattern.send_frame(b"b", 0)
    e2 = connect(s)
    assert data_frames(e1.wire) == [(0, b"a")] and data_frames(e2.wire) == [(0, b"b")]


# -- a connection lost mid-message -------------------------------------------------------


def test_the_rest_of_a_message_cut_by_a_disconnect_is_dropped_and_counted(ctx):
    sock = ctx.socket(C.DEALER)
    s = sock.queue_on_connect("tcp://peer:1")
    pat = sock.pattern
    e1 = connect(s)
    assert pat.send_frame(b"head", 1)
    e1.flush()  # the first frame reached the peer
    e1.lose()
    assert pat.send_frame(b"middle", 1) and pat.send_frame(b"tail", 0)  # taken, not sent anywhere
    assert sock.stats["dropped_disconnect"] == 1
    assert pat.send_frame(b"next", 0)
    e2 = connect(s)
    assert data_frames(e1.wire) == [(1, b"head")]
    assert data_frames(e2.wire) == [(0, b"next")]  # whole, and nothing of the cut message


def test_the_rest_is_dropped_even_after_the_next_connection_is_up(ctx):
    sock = ctx.socket(C.PUSH)
    s = sock.queue_on_connect("tcp://peer:1")
    pat = sock.pattern
    connect(s)
    pat.send_frame(b"head", 1)
    s.engine.lose()
    e2 = connect(s)
    pat.send_frame(b"tail", 0)
    pat.send_frame(b"whole", 0)
    assert data_frames(e2.wire) == [(0, b"whole")]
    assert sock.stats["dropped_disconnect"] == 1


def test_messages_queued_on_a_connection_that_dies_are_counted_as_dropped(ctx):
    sock, s = push_session(ctx)
    e = connect(s, cap=0)  # the stream takes nothing
    for body in (b"x", b"y", b"z"):
        sock.pattern.send_frame(body, 0)
    assert s.pending() == 3
    e.lose()
    assert sock.stats["dropped_disconnect"] == 3 and s.pending() == 0


def test_a_partial_inbound_message_is_dropped_on_disconnect(ctx):
    sock = ctx.socket(C.PULL)
    s = sock.new_session("tcp://peer:1")
    e = connect(s)
    feed(e, msg(b"whole") + b"\x01\x04part")  # a second message's first frame only
    e.lose()
    assert sock.stats["dropped_disconnect"] == 1
    assert recv_msg(sock.pattern) == [b"whole"] and recv_msg(sock.pattern) is None
    assert sock.pattern.pipes == []  # read empty after its detach: forgotten


# -- persistent and per-connection sessions ----------------------------------------------


def test_a_per_connection_session_joins_on_ready_and_leaves_with_its_connection(ctx):
    sock = ctx.socket(C.PUSH)
    s = sock.new_session("tcp://peer:1")
    assert not s.active and sock.pattern.pipes == [] and not s.can_send()
    assert sock.pattern.send_frame(b"x", 0) is False  # nothing to send to
    e = connect(s)
    assert s.active and sock.pattern.pipes == [s]
    e.lose()
    assert not s.active and sock.pattern.pipes == [] and s.engine is None
    assert sock.pattern.send_frame(b"x", 0) is False


def test_a_persistent_session_stays_attached_across_a_loss(ctx):
    sock, s = push_session(ctx)
    connect(s).lose()
    assert s.active and s.persistent and sock.pattern.pipes == [s] and s.engine is None


def test_a_persistent_session_detaches_when_its_socket_is_closed(ctx):
    sock, s = push_session(ctx)
    e = connect(s, cap=0)
    sock.pattern.send_frame(b"x", 0)
    sock.closed = True
    e.lose()
    assert not s.active and sock.pattern.pipes == []
    assert sock.stats["dropped_linger"] == 1 and sock.stats["dropped_disconnect"] == 0


def test_a_per_connection_session_with_unread_messages_stays_until_they_are_read(ctx):
    sock = ctx.socket(C.PULL)
    s = sock.new_session("tcp://peer:1")
    e = connect(s)
    feed(e, msg(b"a") + msg(b"b"))
    e.lose()
    assert not s.active and sock.pattern.pipes == [s]
    assert recv_msg(sock.pattern) == [b"a"] and recv_msg(sock.pattern) == [b"b"]
    assert sock.pattern.pipes == []


def test_a_refused_peer_gets_no_session(ctx):
    sock = ctx.socket(C.PAIR)
    first = sock.new_session("tcp://a:1")
    connect(first)
    second = sock.new_session("tcp://b:1")
    conn = handshake_conn(sock, second)
    assert second.connection_ready(FakeEngine(second, conn), conn) is False
    assert second.engine is None and not second.connected and sock.pattern.pipes == [first]
    assert sock.stats["connects"] == 1


def test_close_ends_the_connection_and_leaves_the_pattern(ctx):
    sock, s = push_session(ctx)
    e = connect(s)
    closed = []
    e.close = lambda reason=None: closed.append(reason) or e.lose()
    s.close("bye")
    assert closed == ["bye"] and not s.active and not s.persistent and sock.pattern.pipes == []


def test_input_after_the_socket_closed_is_discarded_and_its_slot_returned(ctx):
    sock = ctx.socket(C.PULL)
    s = sock.new_session("tcp://peer:1")
    connect(s)
    pool = ctx.pool
    slot = pool.take_slot()
    free = pool.nfree
    sock.closed = True
    s.on_data(slot, 3, 0)
    assert pool.nfree == free + 1 and s.inq.count == 0


# -- RCVHWM flow control -----------------------------------------------------------------


def test_reading_pauses_at_rcvhwm_and_resumes_at_half(ctx):
    sock = ctx.socket(C.PULL)
    sock.options.rcvhwm = 4
    s = sock.new_session("tcp://peer:1")
    e = connect(s)
    for i in range(3):
        feed(e, msg(b"m%d" % i))
    assert e.reading and True not in e.pauses
    feed(e, msg(b"m3"))
    assert not e.reading and s.inq.msgs == 4
    assert recv_msg(sock.pattern) == [b"m0"] and not e.reading  # 3 left: above half
    assert recv_msg(sock.pattern) == [b"m1"] and e.reading  # 2 left: half of 4
    assert e.pauses.count(True) == 1 and e.pauses[-1] is False


def test_a_multipart_message_counts_once_toward_rcvhwm(ctx):
    sock = ctx.socket(C.PULL)
    sock.options.rcvhwm = 2
    s = sock.new_session("tcp://peer:1")
    e = connect(s)
    feed(e, msg(b"a", b"b", b"c"))
    assert e.reading and s.inq.msgs == 1
    feed(e, msg(b"d", b"e"))
    assert not e.reading


def test_rcvhwm_zero_never_pauses(ctx):
    sock = ctx.socket(C.PULL)
    sock.options.rcvhwm = 0
    s = sock.new_session("tcp://peer:1")
    e = connect(s)
    feed(e, b"".join(msg(b"%d" % i) for i in range(50)))
    assert e.reading and True not in e.pauses and s.inq.msgs == 50


# -- SNDHWM accounting ---------------------------------------------------------------------


def test_sndhwm_counts_messages_until_the_stream_took_their_last_byte(ctx):
    sock, s = push_session(ctx, sndhwm=2)
    e = connect(s, cap=0)
    leftovers = len(e.conn.pending_output())  # our greeting and READY, not yet written
    assert leftovers > 64 and s.written == 0
    pat = sock.pattern
    assert pat.send_frame(b"aaaa", 0) and pat.send_frame(b"bb", 0)
    assert s.ends == [leftovers + 6, leftovers + 10]
    assert not s.can_send() and pat.send_frame(b"c", 0) is False
    e.cap = leftovers + 5  # one byte short of the first message
    e.flush()
    assert s.pending() == 2 and not s.can_send()
    e.cap = 1
    e.flush()
    assert s.pending() == 1 and s.can_send()
    e.cap = None
    e.flush()
    assert s.pending() == 0 and s.ends == [] and not e.conn.pending_output()
    assert [b for _, b in data_frames(e.wire)] == [b"aaaa", b"bb"]


def test_a_multipart_message_ends_once_at_its_last_frame(ctx):
    sock, s = push_session(ctx)
    e = connect(s, cap=0)
    base = len(e.conn.pending_output())
    sock.pattern.send_frame(b"abc", 1)
    assert s.ends == [] and s.pending() == 0
    sock.pattern.send_frame(b"de", 0)
    assert s.ends == [base + 5 + 4]
    e.cap = None
    e.flush()
    assert s.pending() == 0


def test_sndhwm_zero_means_no_limit(ctx):
    sock, s = push_session(ctx, sndhwm=0)
    for _ in range(3000):
        assert sock.pattern.send_frame(b"x", 0)
    connect(s, cap=0)
    assert s.can_send() and s.pending() == 3000


def test_a_subscription_is_sent_on_the_connection_and_accounted(ctx):
    sock = ctx.socket(C.SUB)
    s = sock.new_session("tcp://peer:1")
    e = connect(s)
    sock.pattern.subscribe(b"weather", True)
    frames = parse_frames(e.wire[64:])
    assert (4, b"\x09SUBSCRIBE" + b"weather") in frames
    assert not e.conn.pending_output()
    s2 = sock.new_session("tcp://other:1")
    s2.send_subscription(b"x", True)  # no connection yet: nothing to do, no error
    assert s2.written == 0 and s2.ends == []


# -- monitor events and statistics -------------------------------------------------------------


def test_a_connection_ready_and_lost_is_counted_and_announced(ctx):
    sock = ctx.socket(C.PUSH)
    mon = MonitorLog(sock)
    s = sock.new_session("tcp://peer:1")
    e = connect(s, fd=33)
    e.lose()
    assert mon.events == [(C.EVENT_HANDSHAKE_SUCCEEDED, 33, "tcp://peer:1"),
                          (C.EVENT_DISCONNECTED, 33, "tcp://peer:1")]
    assert (sock.stats["connects"], sock.stats["disconnects"], sock.stats["handshake_failures"]) == (1, 1, 0)


def test_a_handshake_that_fails_is_counted_as_such(ctx):
    sock = ctx.socket(C.PUSH)
    mon = MonitorLog(sock)
    s = sock.new_session("tcp://peer:1")
    s.connection_lost(object(), C.EVENT_HANDSHAKE_FAILED_PROTOCOL, "bad")
    s.connection_lost(object(), C.EVENT_HANDSHAKE_FAILED_AUTH, "no")
    s.connection_lost(object(), C.EVENT_DISCONNECTED, "peer went away during the greeting")
    assert mon.kinds() == [C.EVENT_HANDSHAKE_FAILED_PROTOCOL, C.EVENT_HANDSHAKE_FAILED_AUTH,
                           C.EVENT_DISCONNECTED]
    assert sock.stats["handshake_failures"] == 2
    assert sock.stats["connects"] == 0 and sock.stats["disconnects"] == 0


def test_a_connection_broken_after_ready_announces_why_then_disconnected(ctx):
    sock = ctx.socket(C.PUSH)
    mon = MonitorLog(sock)
    s = sock.new_session("tcp://peer:1")
    e = connect(s, fd=5)
    e.lose(C.EVENT_HANDSHAKE_FAILED_PROTOCOL)
    assert mon.kinds() == [C.EVENT_HANDSHAKE_SUCCEEDED, C.EVENT_HANDSHAKE_FAILED_PROTOCOL,
                           C.EVENT_DISCONNECTED]
    assert sock.stats["disconnects"] == 1 and sock.stats["handshake_failures"] == 0


def test_connects_and_disconnects_accumulate_over_reconnects(ctx):
    sock, s = push_session(ctx)
    for _ in range(3):
        connect(s).lose()
    assert sock.stats["connects"] == 3 and sock.stats["disconnects"] == 3


def test_the_peers_metadata_is_on_the_session_once_ready(ctx):
    sock = ctx.socket(C.ROUTER)
    s = sock.new_session("tcp://peer:1")
    connect(s, peer_type=b"DEALER", Identity=b"alice")
    assert s.peer_identity == b"alice" and s.identity == b"alice"
    assert s.peer_meta[b"socket-type"] == b"DEALER" and s.peer_minor == 1

