"""A callback that raises inside the reactor (issue 11: out of memory is
survivable), on a fake port: a MemoryError while reading, in a handshake, in
a heartbeat timer, while making an engine, or while a lost connection arms
its redial closes at most that connection (counted in `out_of_memory`), the
other connections go on, and a connecter with no heap for its redial timer
dials again once it has some. Any other exception (a bug) closes that
connection too, and is logged. (The same places under a real
out-of-memory, micropython.heap_lock(), are tests/micropython/test_oom_micropython.py.)"""
import pytest
from edgezmq.endpoint import parse
from edgezmq.transports.listener import Listener
from edgezmq.transports.stream import Engine
from port_kit import PEER_GREETING, C, FakeStream, MonitorLog, make_context, msg, ready_cmd

ADDR = "tcp://10.0.0.1:5555"


class Server:
    """A PULL with accepted connections, each an Engine on a FakeStream."""

    def __init__(self, port=None, **opts):
        self.ctx = make_context(**(port or {}))
        self.sock = self.ctx.socket(C.PULL)
        for k, v in opts.items():
            setattr(self.sock, k, v)
        self.mon = MonitorLog(self.sock)

    def engine(self, fd, ready=True):
        s = FakeStream(fd=fd)
        e = Engine(self.sock.new_session("peer-%d" % fd), s, self.sock.connection_config(), None)
        if ready:
            s.reads.append(PEER_GREETING + ready_cmd(b"PUSH"))
            e.on_event(True, False, False)
            assert e.ready
        return e

    def turn(self, *readable):
        """One reactor turn in which these engines' streams are readable."""
        self.ctx.port.poller().script.append([(e, True, False, False) for e in readable])
        self.ctx.reactor.run_once(0)

    def received(self):
        got = self.sock.pattern.recv_frame()
        return None if got is None else bytes(got[0][:got[1]])


def test_a_memoryerror_while_reading_closes_that_connection_only(clock):
    srv = Server()
    a, b = srv.engine(10), srv.engine(11)
    a.stream.reads.append(MemoryError())
    b.stream.reads.append(msg(b"from b"))
    srv.turn(a, b)
    assert not a.active and a.stream.closed == 1 and a not in srv.sock.engines
    assert b.active and srv.received() == b"from b"
    st = srv.sock.stats
    assert st["out_of_memory"] == 1 and st["disconnects"] == 1
    assert srv.sock.pattern.pipes == [b.session]  # a's pipe left the pattern
    assert srv.mon.kinds()[-1] == C.EVENT_DISCONNECTED
    b.stream.reads.append(msg(b"again"))
    srv.turn(b)
    assert srv.received() == b"again"


def test_a_memoryerror_in_a_handshake_is_a_failed_handshake(clock):
    srv = Server()
    a = srv.engine(10, ready=False)
    a.stream.reads.append(MemoryError())
    srv.turn(a)
    st = srv.sock.stats
    assert not a.active and st["out_of_memory"] == 1 and st["handshake_failures"] == 1
    assert srv.mon.kinds()[-1] == C.EVENT_HANDSHAKE_FAILED_NO_DETAIL


def test_an_unexpected_exception_closes_that_connection_and_is_logged(clock):
    srv = Server()
    a, b = srv.engine(10), srv.engine(11)
    a.stream.reads.append(ZeroDivisionError("a bug"))
    b.stream.reads.append(msg(b"from b"))
    srv.turn(a, b)
    assert not a.active and b.active and srv.received() == b"from b"
    assert srv.sock.stats["out_of_memory"] == 0 and srv.sock.stats["disconnects"] == 1
    assert any("internal error" in line and "ZeroDivisionError" in line for line in srv.ctx.port.logs)


def test_a_heartbeat_timer_out_of_memory_closes_its_connection(clock, monkeypatch):
    srv = Server(heartbeat_ivl=100)
    a, b = srv.engine(10), srv.engine(11)

    def no_heap(now):
        raise MemoryError()

    monkeypatch.setattr(a.conn, "tick", no_heap)
    clock.now += 100
    srv.ctx.reactor.run_once(0)
    assert not a.active and b.active and srv.sock.stats["out_of_memory"] == 1
    assert b.timer is not None and b.timer.live  # b's heartbeat goes on
    assert all(t.live for t in srv.ctx.reactor.timers)  # a's timer is gone


def test_no_memory_for_an_engine_leaves_nothing_of_it_behind(clock, monkeypatch):
    """Registering with the poller fails after the handshake timer was set and
    the socket counted the engine: the listener refuses that peer (counted),
    the timer is cancelled, the socket forgets the engine, the next peer is served."""
    ctx = make_context()
    sock = ctx.socket(C.PULL)
    lis = Listener(sock, parse("tcp://127.0.0.1:5555", True), FakeStream(fd=3), "tcp://127.0.0.1:5555")
    add = ctx.reactor.add
    calls = []

    def add_once_out_of_memory(h, write=False):
        calls.append(h)
        if len(calls) == 1:  # the first engine
            raise MemoryError()
        add(h, write)

    monkeypatch.setattr(ctx.reactor, "add", add_once_out_of_memory)
    s1, s2 = FakeStream(fd=61), FakeStream(fd=62)
    ctx.port.accepts.extend([(s1, "first"), (s2, "second")])
    lis.on_event(True, False, False)
    assert s1.closed == 1 and [e.stream for e in sock.engines] == [s2]
    assert sock.stats["out_of_memory"] == 1
    assert [t.owner.stream for t in ctx.reactor.timers if t.live] == [s2]  # s1's handshake timer cancelled
    assert any("no memory for a connection from first" in line for line in ctx.port.logs)


def test_a_lost_connection_with_no_heap_for_its_redial_timer_redials_later(clock, monkeypatch):
    ctx = make_context()
    s1, s2 = FakeStream(fd=50), FakeStream(fd=51)
    ctx.port.connects.extend([s1, s2])
    sock = ctx.socket(C.PUSH)
    sock.connect(ADDR)
    c = sock.connecters[ADDR]
    ctx.port.poller().script.append([(c, False, True, False)])
    ctx.reactor.run_once(0)
    e = c.engine
    s1.reads.append(PEER_GREETING + ready_cmd(b"PULL"))
    e.on_event(True, False, False)
    assert e.ready
    call_later = ctx.reactor.call_later
    fail = [True]

    def no_heap_once(ms, cb, owner=None):
        if fail[0]:
            fail[0] = False
            raise MemoryError()
        return call_later(ms, cb, owner)

    monkeypatch.setattr(ctx.reactor, "call_later", no_heap_once)
    s1.reads.append(b"")  # the peer goes away; the redial timer finds no heap
    ctx.port.poller().script.append([(e, True, False, False)])
    ctx.reactor.run_once(0)
    assert not e.active and c.timer is not None  # deferred, and armed on the same turn's end
    sock.send(b"queued meanwhile")
    clock.now += sock.reconnect_ivl
    ctx.reactor.run_once(0)
    assert c.stream is s2  # dialled again
    ctx.port.poller().script.append([(c, False, True, False)])
    ctx.reactor.run_once(0)
    s2.reads.append(PEER_GREETING + ready_cmd(b"PULL"))
    c.engine.on_event(True, False, False)
    assert bytes(s2.sent).endswith(msg(b"queued meanwhile"))


def test_a_redial_that_finds_no_heap_is_retried(clock):
    """The port's connect() (a socket object) raises MemoryError in a redial
    timer: the reactor's guard gives it to the connecter, which counts it and
    dials again after RECONNECT_IVL."""
    ctx = make_context()
    s = FakeStream(fd=50)
    ctx.port.connects.extend([OSError(111, "refused"), MemoryError(), s])
    orig = ctx.port.connect

    def connect(ep):
        if isinstance(ctx.port.connects[0], MemoryError):
            raise ctx.port.connects.pop(0)
        return orig(ep)

    ctx.port.connect = connect
    sock = ctx.socket(C.PUSH)
    sock.connect(ADDR)
    c = sock.connecters[ADDR]
    clock.now += sock.reconnect_ivl
    ctx.reactor.run_once(0)
    assert c.stream is None and c.timer is not None and sock.stats["out_of_memory"] == 1
    clock.now += sock.reconnect_ivl
    ctx.reactor.run_once(0)
    assert c.stream is s


def test_held_input_that_finds_no_heap_when_fed_again_closes_that_connection(clock, monkeypatch):
    """Context.resume_stalled feeds a connection's held input from the
    application's recv (outside the reactor): it is guarded the same way."""
    srv = Server(port={"heap_ok": False, "pool_count": 2, "pool_size": 16, "pool_small_frames": True})
    a, b = srv.engine(10), srv.engine(11)
    a.stream.reads.append(b"".join(msg(b"x%d" % i) for i in range(4)))
    srv.turn(a)
    assert srv.ctx.pool.stalled == [a]
    monkeypatch.setattr(a, "_feed_held", lambda: (_ for _ in ()).throw(MemoryError()))
    buf = srv.sock.pattern.recv_frame()[0]
    srv.ctx.pool.give(buf)
    assert srv.ctx.resume_stalled() is True
    assert not a.active and b.active and srv.sock.stats["out_of_memory"] == 1


def test_a_whole_message_the_ready_list_cannot_take_is_not_queued():
    """FrameQueue.push lists the pipe before it stores the message's last
    frame: out of heap, nothing of that frame is stored (a whole message
    queued but not on the pattern's ready list would never be read)."""
    from edgezmq.pool import FrameQueue

    class NoRoom(list):
        def append(self, x):
            raise MemoryError()

    q = FrameQueue()
    q.owner = "pipe"
    q.ready = NoRoom()
    q.push(b"a", 1, 1)  # a frame with more: nothing to list yet
    with pytest.raises(MemoryError):
        q.push(b"b", 1, 0)
    assert q.count == 1 and q.msgs == 0 and not q.listed
    q.ready = []
    q.push(b"b", 1, 0)
    assert q.count == 2 and q.msgs == 1 and q.listed and q.ready == ["pipe"]
