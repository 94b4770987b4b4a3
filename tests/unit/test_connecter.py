"""core/transports/connecter.py and listener.py on a fake port: the Redialer's
backoff (RECONNECT_IVL doubling to RECONNECT_IVL_MAX, reset by a handshake,
-1 gives up), queue on connect through a real connect(), close and linger,
and a Listener accepting fake streams."""
import errno

import pytest
from edgezmq.endpoint import parse
from edgezmq.transports.listener import Listener
from port_kit import (
    AGAIN,
    PEER_GREETING,
    C,
    FakeStream,
    MonitorLog,
    data_frames,
    make_context,
    msg,
    ready_cmd,
)

ADDR = "tcp://10.0.0.1:5555"


def refused():
    return OSError(errno.ECONNREFUSED, "connection refused")


class Dialer:
    """A socket that connect()s through the fake port."""

    def __init__(self, clock, kind=C.PUSH, connects=(), **opts):
        self.clock = clock
        self.ctx = make_context()
        self.port = self.ctx.port
        self.port.connects.extend(connects)
        self.sock = self.ctx.socket(kind)
        for k, v in opts.items():
            setattr(self.sock, k, v)
        self.mon = MonitorLog(self.sock)
        self.sock.connect(ADDR)
        self.connecter = self.sock.connecters[ADDR]

    def retried(self):
        return [v for e, v, _ in self.mon.events if e == C.EVENT_CONNECT_RETRIED]

    def wait(self, ms):
        """Time passes; the reactor runs its due timers."""
        self.clock.now += ms
        self.ctx.reactor.run_once(0)

    def connected(self, stream):
        """The poller reports the dialling stream writable: the connect finished."""
        self.port.poller().script.append([(self.connecter, False, True, False)])
        self.ctx.reactor.run_once(0)
        return self.connecter.engine

    def handshake(self, engine, stream, peer=b"PULL"):
        stream.reads.append(PEER_GREETING + ready_cmd(peer))
        engine.on_event(True, False, False)
        assert engine.ready


# -- backoff ----------------------------------------------------------------------------------


def test_reconnect_ivl_doubles_up_to_reconnect_ivl_max(clock):
    d = Dialer(clock, connects=[refused()] * 7, reconnect_ivl=100, reconnect_ivl_max=800)
    assert d.retried() == [100]
    for _ in range(5):
        delay = d.retried()[-1]
        left = len(d.port.connects)
        d.wait(delay - 1)
        assert len(d.port.connects) == left  # not yet
        d.wait(1)
        assert len(d.port.connects) == left - 1  # dialled again
    assert d.retried() == [100, 200, 400, 800, 800, 800]
    # the same failure is logged once, not at every redial (quiet logs)
    assert len(d.port.logs) == 1 and "connection refused" in d.port.logs[0]


def test_without_reconnect_ivl_max_the_interval_stays(clock):
    d = Dialer(clock, connects=[refused()] * 4, reconnect_ivl=250)
    for _ in range(3):
        d.wait(250)
    assert d.retried() == [250, 250, 250, 250]


def test_a_handshake_resets_the_backoff_and_a_bare_connect_does_not(clock):
    s1, s2 = FakeStream(fd=50), FakeStream(fd=51)
    d = Dialer(clock, connects=[refused(), refused(), s1, s2], reconnect_ivl=100, reconnect_ivl_max=10000)
    d.wait(100)
    d.wait(200)  # dials s1
    e1 = d.connected(s1)
    assert (C.EVENT_CONNECTED, 50, ADDR) in d.mon.events and len(s1.sent) == 64
    s1.reads.append(b"")  # the peer hangs up during the greeting
    e1.on_event(True, False, False)
    assert d.retried() == [100, 200, 400]  # no handshake: still backing off
    d.wait(400)  # dials s2
    e2 = d.connected(s2)
    d.handshake(e2, s2)
    s2.reads.append(b"")
    e2.on_event(True, False, False)
    assert d.retried()[-1] == 100
    assert d.sock.stats["connects"] == 1 and d.sock.stats["disconnects"] == 1


def test_a_connect_that_fails_late_is_closed_and_retried(clock):
    s = FakeStream(fd=52)
    d = Dialer(clock, connects=[s], reconnect_ivl=100)
    assert d.mon.kinds() == [C.EVENT_CONNECT_DELAYED] and d.connecter.active
    d.port.connect_errors[s] = errno.ECONNREFUSED
    assert d.connected(s) is None
    assert s.closed == 1 and not d.connecter.active and d.retried() == [100]
    assert ("unregister", d.connecter) in d.port.poller().calls


def test_reconnect_ivl_minus_one_gives_up_and_leaves_the_pattern(clock):
    d = Dialer(clock, connects=[refused()], reconnect_ivl=-1)
    assert d.retried() == [] and d.ctx.reactor.timers == []
    assert d.sock.pattern.pipes == [] and d.sock.pattern.send_frame(b"x", 0) is False


def test_reconnect_ivl_minus_one_gives_up_after_a_lost_connection(clock):
    s = FakeStream(fd=53)
    d = Dialer(clock, connects=[s], reconnect_ivl=-1)
    e = d.connected(s)
    d.handshake(e, s)
    assert d.sock.pattern.pipes == [e.session]
    s.reads.append(b"")
    e.on_event(True, False, False)
    assert d.retried() == [] and d.sock.pattern.pipes == []


# -- sessions across connections ------------------------------------------------------------------


def test_messages_sent_while_dialling_go_out_once_connected(clock):
    s = FakeStream(fd=54)
    d = Dialer(clock, connects=[refused(), s], reconnect_ivl=100)
    for body in (b"a", b"b", b"c"):
        assert d.sock.pattern.send_frame(body, 0)
    d.wait(100)
    e = d.connected(s)
    d.handshake(e, s)
    assert data_frames(s.sent) == [(0, b"a"), (0, b"b"), (0, b"c")]


def test_a_socket_that_does_not_queue_gets_a_session_per_connection(clock):
    s1, s2 = FakeStream(fd=55), FakeStream(fd=56)
    d = Dialer(clock, kind=C.PULL, connects=[s1, s2], reconnect_ivl=100)
    assert d.connecter.session is None and d.sock.pattern.pipes == []
    e1 = d.connected(s1)
    d.handshake(e1, s1, peer=b"PUSH")
    s1.reads.append(msg(b"from the first"))
    s1.reads.append(b"")
    e1.on_event(True, False, False)
    e1.on_event(True, False, False)
    d.wait(100)
    e2 = d.connected(s2)
    d.handshake(e2, s2, peer=b"PUSH")
    assert e2.session is not e1.session
    assert d.sock.pattern.pipes == [e1.session, e2.session]  # the first stays until read
    buf, n, _ = d.sock.pattern.recv_frame()
    assert bytes(buf[:n]) == b"from the first" and d.sock.pattern.pipes == [e2.session]


# -- close and linger ------------------------------------------------------------------------------


def test_close_stops_redialling(clock):
    d = Dialer(clock, connects=[refused(), FakeStream()], reconnect_ivl=100)
    d.sock.close(linger=0)
    d.wait(1000)
    assert len(d.port.connects) == 1 and d.ctx.reactor.timers == []


def test_close_abandons_a_connect_in_progress(clock):
    s = FakeStream(fd=57)
    d = Dialer(clock, connects=[s])
    d.sock.close(linger=0)
    assert s.closed == 1 and d.connecter not in d.port.poller().interest


def test_a_closed_sockets_connection_writes_out_then_closes(clock):
    s = FakeStream(fd=58)
    d = Dialer(clock, connects=[s])
    e = d.connected(s)
    d.handshake(e, s)
    s.sends = [AGAIN]
    d.sock.pattern.send_frame(b"one", 0)
    d.sock.pattern.send_frame(b"two", 0)
    assert e.has_output()
    d.sock.close()  # LINGER -1: wait for it all
    assert e.active and e in d.ctx.lingering and s.closed == 0
    e.on_event(False, True, False)
    assert data_frames(s.sent) == [(0, b"one"), (0, b"two")]
    assert not e.active and s.closed == 1 and d.sock.stats["dropped_linger"] == 0


def test_linger_zero_drops_and_counts_what_a_connection_had_not_written(clock):
    s = FakeStream(fd=59)
    d = Dialer(clock, connects=[s])
    e = d.connected(s)
    d.handshake(e, s)
    s.sends = [AGAIN]
    d.sock.pattern.send_frame(b"one", 0)
    d.sock.pattern.send_frame(b"two", 0)
    d.sock.close(linger=0)
    assert not e.active and s.closed == 1 and d.sock.stats["dropped_linger"] == 2


@pytest.mark.parametrize("linger", [0, 50])
def test_messages_queued_on_connect_and_discarded_at_close_are_counted(clock, linger):
    d = Dialer(clock, connects=[FakeStream(fd=60)])
    for body in (b"a", b"b", b"c"):
        d.sock.pattern.send_frame(body, 0)
    d.sock.close(linger=linger)
    d.wait(linger + 1)
    assert d.sock.stats["dropped_linger"] == 3


# -- the listener ---------------------------------------------------------------------------------


class Binder:
    def __init__(self, clock, kind=C.PULL):
        self.ctx = make_context()
        self.port = self.ctx.port
        self.sock = self.ctx.socket(kind)
        self.mon = MonitorLog(self.sock)
        self.lsock = FakeStream(fd=3)
        self.ep = parse("tcp://127.0.0.1:5555", True)
        self.lis = Listener(self.sock, self.ep, self.lsock, "tcp://127.0.0.1:5555")

    def accept(self, *items):
        self.port.accepts.extend(items)
        self.lis.on_event(True, False, False)


def test_each_accepted_stream_gets_an_engine_and_a_session_of_its_own(clock):
    b = Binder(clock)
    assert b.mon.events == [(C.EVENT_LISTENING, 3, "tcp://127.0.0.1:5555")]
    assert b.port.poller().interest[b.lis] == (True, False)
    s1, s2 = FakeStream(fd=61), FakeStream(fd=62)
    b.accept((s1, "1.2.3.4:1000"), (s2, "1.2.3.4:1001"))
    assert [v for e, v, _ in b.mon.events if e == C.EVENT_ACCEPTED] == [61, 62]
    engines = sorted(b.sock.engines, key=lambda e: e.fd)
    assert [e.stream for e in engines] == [s1, s2] and len(s1.sent) == len(s2.sent) == 64
    assert [e.session.peer_address for e in engines] == ["1.2.3.4:1000", "1.2.3.4:1001"]
    assert b.sock.pattern.pipes == []  # a peer joins when its handshake is done
    s2.reads.append(PEER_GREETING + ready_cmd(b"PUSH") + msg(b"hi"))
    engines[1].on_event(True, False, False)
    assert b.sock.pattern.pipes == [engines[1].session]
    assert bytes(b.sock.pattern.recv_frame()[0]) == b"hi"


def test_accept_takes_at_most_64_per_readiness_event(clock):
    b = Binder(clock)
    b.accept(*[(FakeStream(fd=100 + i), "p%d" % i) for i in range(70)])
    assert len(b.sock.engines) == 64 and len(b.port.accepts) == 6
    b.lis.on_event(True, False, False)
    assert len(b.sock.engines) == 70


def test_an_accept_error_is_announced_and_ends_the_turn(clock):
    b = Binder(clock)
    b.accept(OSError(errno.EMFILE, "too many open files"), (FakeStream(fd=63), "p"))
    assert b.mon.kinds()[-1] == C.EVENT_ACCEPT_FAILED and len(b.sock.engines) == 0
    b.lis.on_event(True, False, False)
    assert len(b.sock.engines) == 1


def test_no_memory_to_accept_waits_for_the_next_event(clock):
    b = Binder(clock)
    b.accept(MemoryError(), (FakeStream(fd=64), "p"))
    assert len(b.sock.engines) == 0 and C.EVENT_ACCEPT_FAILED not in b.mon.kinds()
    b.lis.on_event(True, False, False)
    assert len(b.sock.engines) == 1


def test_no_memory_for_an_engine_refuses_that_peer_and_serves_the_next(clock, monkeypatch):
    b = Binder(clock)
    config = b.sock.connection_config
    calls = []

    def once_out_of_memory():
        calls.append(1)
        if len(calls) == 1:
            raise MemoryError()
        return config()

    monkeypatch.setattr(b.sock, "connection_config", once_out_of_memory)
    s1, s2 = FakeStream(fd=65), FakeStream(fd=66)
    b.accept((s1, "first"), (s2, "second"))
    assert s1.closed == 1 and s1.sent == b"" and [e.stream for e in b.sock.engines] == [s2]
    assert any("refused" in line and "first" in line for line in b.port.logs)


def test_closing_the_listener_unregisters_closes_and_unlinks(clock):
    b = Binder(clock)
    b.lis.close()
    b.lis.close()
    assert b.lsock.closed == 1 and b.lis not in b.port.poller().interest
    assert b.port.unlinked == [b.ep]
    assert b.mon.kinds() == [C.EVENT_LISTENING, C.EVENT_CLOSED]
