"""core/patterns/: each socket type's policy over fake pipes (what a pattern
sees of a peer: an inbound FrameQueue, can_send, write), and the socket-type
table. A real socket on a fake port supplies options, stats and the pool."""
import pytest
from edgezmq import patterns
from edgezmq.errors import ZMQError
from edgezmq.patterns import pubsub
from edgezmq.pool import FrameQueue
from port_kit import C, make_context


class FakePipe:
    """A peer as a pattern sees it. `room`: whole messages it may still take
    (None: no limit); what was written is in `out` (lists of frames)."""

    connected = True
    fast_ok = False  # no fast_send: the pattern always takes the general path

    def __init__(self, name, peer_identity=b""):
        self.name = name
        self.inq = FrameQueue()
        self.active = True
        self.identity = b""
        self.peer_identity = peer_identity
        self.subs = None
        self.room = None
        self.out = []
        self.cur = []
        self.consumed_calls = 0
        self.subscriptions = []

    def __repr__(self):
        return "<pipe %s>" % self.name

    def can_send(self):
        return self.room is None or self.room > 0

    def write(self, data, more):
        self.cur.append(bytes(data))
        if not more:
            self.out.append(self.cur)
            self.cur = []
            if self.room is not None:
                self.room -= 1

    def consumed(self):
        self.consumed_calls += 1

    def send_subscription(self, topic, on):
        self.subscriptions.append((topic, on))

    def deliver(self, pattern, *frames):
        """The peer's message arrives (each frame as the session hands it on)."""
        for i, f in enumerate(frames):
            pattern.on_pipe_frame(self, 1 if i < len(frames) - 1 else 0, f, len(f))


def rig(socket_type, npipes=0, **opts):
    sock = make_context().socket(socket_type)
    for k, v in opts.items():
        setattr(sock.options, k, v)
    pipes = [FakePipe("p%d" % i) for i in range(npipes)]
    for p in pipes:
        assert sock.pattern.attach(p)
    return sock, sock.pattern, pipes


def recv_msg(pattern):
    frames = []
    while True:
        got = pattern.recv_frame()
        if got is None:
            assert not frames, "a message cut short: %r" % frames
            return None
        buf, n, more = got
        frames.append(bytes(buf[:n]))
        if not more:
            return frames


def send_msg(pattern, *frames):
    for i, f in enumerate(frames):
        assert pattern.send_frame(f, 1 if i < len(frames) - 1 else 0)


def errno_of(fn, *a):
    with pytest.raises(ZMQError) as ei:
        fn(*a)
    return ei.value.errno


# -- fair queueing (PULL, DEALER) -----------------------------------------------------


@pytest.mark.parametrize("kind", [C.PULL, C.DEALER])
def test_fair_queueing_takes_one_message_from_each_pipe_in_turn(kind):
    _, pat, (a, b, c) = rig(kind, 3)
    for p in (a, b, c):
        p.deliver(pat, p.name.encode() + b"-1")
        p.deliver(pat, p.name.encode() + b"-2")
    got = [recv_msg(pat)[0] for _ in range(6)]
    assert got == [b"p0-1", b"p1-1", b"p2-1", b"p0-2", b"p1-2", b"p2-2"]
    assert recv_msg(pat) is None and not pat.readable()


def test_fair_queueing_skips_pipes_without_whole_messages():
    _, pat, (a, b, c) = rig(C.PULL, 3)
    a.deliver(pat, b"a1")
    a.deliver(pat, b"a2")
    pat.on_pipe_frame(b, 1, b"partial", 7)  # a message still arriving: invisible
    c.deliver(pat, b"c1")
    assert [recv_msg(pat) for _ in range(3)] == [[b"a1"], [b"c1"], [b"a2"]]
    assert recv_msg(pat) is None and not pat.readable()
    pat.on_pipe_frame(b, 0, b"end", 3)
    assert pat.readable() and recv_msg(pat) == [b"partial", b"end"]


def test_multipart_messages_are_never_interleaved():
    _, pat, (a, b) = rig(C.PULL, 2)
    a.deliver(pat, b"a1", b"a2", b"a3")
    b.deliver(pat, b"b1", b"b2")
    first = pat.recv_frame()
    assert bytes(first[0]) == b"a1" and first[2]
    b.deliver(pat, b"b3")  # arrives between the frames of a's message
    rest = [bytes(pat.recv_frame()[0]) for _ in range(2)]
    assert rest == [b"a2", b"a3"]
    assert recv_msg(pat) == [b"b1", b"b2"] and recv_msg(pat) == [b"b3"]


def test_each_whole_message_read_is_reported_consumed_once():
    _, pat, (a,) = rig(C.PULL, 1)
    a.deliver(pat, b"x", b"y")
    a.deliver(pat, b"z")
    pat.recv_frame()
    assert a.consumed_calls == 0  # mid-message
    pat.recv_frame()
    recv_msg(pat)
    assert a.consumed_calls == 2


def test_a_detached_pipe_is_read_empty_then_forgotten():
    _, pat, (a, b) = rig(C.PULL, 2)
    a.deliver(pat, b"last words")
    a.active = False
    pat.detach(a)
    assert pat.pipes == [a, b]
    assert recv_msg(pat) == [b"last words"] and a.consumed_calls == 0
    assert pat.pipes == [b]


# -- load balancing (PUSH, DEALER) -------------------------------------------------------


@pytest.mark.parametrize("kind", [C.PUSH, C.DEALER])
def test_load_balancing_round_robins_over_pipes(kind):
    _, pat, pipes = rig(kind, 3)
    for i in range(7):
        send_msg(pat, b"m%d" % i)
    assert [p.out for p in pipes] == [[[b"m0"], [b"m3"], [b"m6"]], [[b"m1"], [b"m4"]], [[b"m2"], [b"m5"]]]


def test_a_multipart_message_stays_on_one_pipe():
    _, pat, (a, b) = rig(C.PUSH, 2)
    send_msg(pat, b"1a", b"1b", b"1c")
    send_msg(pat, b"2a", b"2b")
    assert a.out == [[b"1a", b"1b", b"1c"]] and b.out == [[b"2a", b"2b"]]


def test_a_pipe_that_fills_mid_message_still_gets_the_rest():
    _, pat, (a, b) = rig(C.PUSH, 2)
    pat.send_frame(b"head", 1)
    a.room = 0
    pat.send_frame(b"tail", 0)
    assert a.out == [[b"head", b"tail"]] and b.out == []


def test_a_pipe_at_sndhwm_is_skipped():
    _, pat, (a, b, c) = rig(C.PUSH, 3)
    b.room = 0
    for i in range(4):
        send_msg(pat, b"%d" % i)
    assert a.out == [[b"0"], [b"2"]] and b.out == [] and c.out == [[b"1"], [b"3"]]


def test_no_pipe_ready_means_send_frame_returns_false():
    _, pat, pipes = rig(C.DEALER, 2)
    for p in pipes:
        p.room = 0
    assert not pat.writable() and pat.send_frame(b"x", 0) is False
    assert all(p.out == [] and p.cur == [] for p in pipes)
    pipes[1].room = 1
    assert pat.writable() and pat.send_frame(b"x", 0) and pipes[1].out == [[b"x"]]
    _, empty, _ = rig(C.PUSH, 0)
    assert empty.send_frame(b"x", 0) is False


def test_inactive_pipes_get_nothing():
    _, pat, (a, b) = rig(C.PUSH, 2)
    a.active = False
    send_msg(pat, b"1")
    send_msg(pat, b"2")
    assert a.out == [] and b.out == [[b"1"], [b"2"]]


def test_a_pipe_detached_mid_message_loses_the_rest_and_it_is_counted():
    sock, pat, (a, b) = rig(C.PUSH, 2)
    pat.send_frame(b"head", 1)
    a.active = False
    pat.detach(a)
    assert sock.stats["dropped_disconnect"] == 1
    pat.send_frame(b"tail", 0)  # taken, and dropped: never a message of its own elsewhere
    send_msg(pat, b"next")
    assert a.cur == [b"head"] and a.out == [] and b.out == [[b"next"]]


# -- REQ ---------------------------------------------------------------------------------------


def test_req_sends_the_delimiter_then_waits_for_the_reply_on_that_pipe():
    _, pat, (a, b) = rig(C.REQ, 2)
    send_msg(pat, b"q1", b"q1b")
    assert a.out == [[b"", b"q1", b"q1b"]] and b.out == []
    assert pat.recv_frame() is None and not pat.readable()
    b.deliver(pat, b"", b"not yours")  # another peer's (late) reply
    a.deliver(pat, b"", b"r1")
    assert pat.readable() and recv_msg(pat) == [b"r1"]
    assert b.inq.msgs == 0  # dropped once the reply was taken
    send_msg(pat, b"q2")
    assert b.out == [[b"", b"q2"]]  # the next request goes round robin


def test_req_alternation_is_enforced_with_efsm():
    _, pat, (a,) = rig(C.REQ, 1)
    assert errno_of(pat.recv_frame) == C.EFSM
    send_msg(pat, b"q")
    assert errno_of(pat.send_frame, b"again", 0) == C.EFSM
    a.deliver(pat, b"", b"r")
    assert recv_msg(pat) == [b"r"]
    assert errno_of(pat.recv_frame) == C.EFSM and pat.writable()


def test_req_drops_a_reply_without_the_delimiter():
    _, pat, (a,) = rig(C.REQ, 1)
    send_msg(pat, b"q")
    a.deliver(pat, b"no", b"delimiter")
    assert not pat.readable() and a.inq.count == 0
    a.deliver(pat, b"", b"good", b"reply")
    assert recv_msg(pat) == [b"good", b"reply"]


def test_req_cannot_start_a_request_with_no_peer_ready():
    _, pat, (a,) = rig(C.REQ, 1)
    a.room = 0
    assert not pat.writable() and pat.send_frame(b"q", 0) is False and a.cur == []
    a.room = None
    send_msg(pat, b"q")
    assert a.out == [[b"", b"q"]]


# -- REP -----------------------------------------------------------------------------------------


def test_rep_returns_the_body_and_prefixes_the_reply_with_the_envelope():
    _, pat, (a, b) = rig(C.REP, 2)
    a.deliver(pat, b"hop1", b"hop2", b"", b"req", b"more")
    assert recv_msg(pat) == [b"req", b"more"]
    send_msg(pat, b"rep")
    assert a.out == [[b"hop1", b"hop2", b"", b"rep"]] and b.out == []


def test_rep_alternation_is_enforced_with_efsm():
    _, pat, (a,) = rig(C.REP, 1)
    assert errno_of(pat.send_frame, b"x", 0) == C.EFSM
    a.deliver(pat, b"", b"q")
    recv_msg(pat)
    assert errno_of(pat.recv_frame) == C.EFSM
    send_msg(pat, b"r")
    assert recv_msg(pat) is None  # receiving again: nothing waits


def test_rep_drops_a_request_without_the_delimiter():
    _, pat, (a,) = rig(C.REP, 1)
    a.deliver(pat, b"no", b"delimiter")
    assert not pat.readable() and a.inq.count == 0
    a.deliver(pat, b"", b"ok")
    assert recv_msg(pat) == [b"ok"]


def test_rep_fair_queues_requesters_and_answers_each_its_own():
    _, pat, (a, b) = rig(C.REP, 2)
    a.deliver(pat, b"", b"qa")
    b.deliver(pat, b"", b"qb")
    for want in (b"qa", b"qb"):
        assert recv_msg(pat) == [want]
        send_msg(pat, b"re:" + want)
    assert a.out == [[b"", b"re:qa"]] and b.out == [[b"", b"re:qb"]]


def test_rep_reply_to_a_departed_requester_is_dropped_and_counted():
    sock, pat, (a,) = rig(C.REP, 1)
    a.deliver(pat, b"", b"q")
    recv_msg(pat)
    a.active = False
    send_msg(pat, b"r1", b"r2")
    assert a.out == [] and a.cur == [] and sock.stats["dropped_disconnect"] == 1
    assert pat.recv_frame() is None  # back to receiving


# -- ROUTER ---------------------------------------------------------------------------------------


def test_router_names_peers_and_prefixes_messages_with_their_identity():
    _, pat, (a, b) = rig(C.ROUTER, 2)
    assert a.identity == b"\x00\x6b\x8b\x45\x67" and b.identity == b"\x00\x6b\x8b\x45\x68"
    named = FakePipe("named", b"alice")
    assert pat.attach(named) and named.identity == b"alice"
    b.deliver(pat, b"from", b"b")
    named.deliver(pat, b"hi")
    assert recv_msg(pat) == [b.identity, b"from", b"b"]
    assert recv_msg(pat) == [b"alice", b"hi"]


def test_router_refuses_a_second_peer_with_an_identity_in_use():
    _, pat, _ = rig(C.ROUTER)
    first = FakePipe("a", b"alice")
    assert pat.attach(first) and not pat.attach(FakePipe("b", b"alice"))
    first.active = False
    pat.detach(first)
    assert pat.attach(FakePipe("c", b"alice"))  # the identity is free again


def test_router_routes_by_the_first_frame():
    _, pat, (a, b) = rig(C.ROUTER, 2)
    send_msg(pat, b.identity, b"to", b"b")
    send_msg(pat, a.identity, b"to a")
    assert b.out == [[b"to", b"b"]] and a.out == [[b"to a"]]
    assert pat.send_frame(a.identity, 0) and a.out == [[b"to a"]]  # a lone id frame: nothing


def test_router_drops_and_counts_unroutable_messages():
    _, pat, (a,) = rig(C.ROUTER, 1)
    send_msg(pat, b"nobody", b"lost", b"frames")
    assert pat.dropped == 1 and a.out == [] and a.cur == []
    send_msg(pat, a.identity, b"ok")
    assert a.out == [[b"ok"]]


def test_router_mandatory_raises_ehostunreach_for_an_unknown_peer():
    _, pat, (a,) = rig(C.ROUTER, 1, router_mandatory=1)
    assert errno_of(pat.send_frame, b"nobody", 1) == C.EHOSTUNREACH
    a.active = False
    assert errno_of(pat.send_frame, a.identity, 1) == C.EHOSTUNREACH
    assert pat.dropped == 0


def test_router_at_sndhwm_drops_or_blocks_with_mandatory():
    _, pat, (a,) = rig(C.ROUTER, 1)
    a.room = 0
    send_msg(pat, a.identity, b"x")
    assert pat.dropped == 1 and a.out == []
    _, pat, (a,) = rig(C.ROUTER, 1, router_mandatory=1)
    a.room = 0
    assert pat.send_frame(a.identity, 1) is False and pat.dropped == 0


def test_router_peer_gone_mid_message_loses_the_rest_and_it_is_counted():
    sock, pat, (a,) = rig(C.ROUTER, 1)
    pat.send_frame(a.identity, 1)
    pat.send_frame(b"head", 1)
    a.active = False
    pat.detach(a)
    pat.send_frame(b"tail", 0)
    assert a.cur == [b"head"] and sock.stats["dropped_disconnect"] == 1


# -- PUB, SUB, XPUB, XSUB ---------------------------------------------------------------------------


def subscribe(pat, pipe, topic, on=True):
    pat.on_subscription(pipe, topic, on)


def test_pub_sends_to_subscribers_whose_prefix_matches():
    _, pat, (a, b, c) = rig(C.PUB, 3)
    subscribe(pat, a, b"wea")
    subscribe(pat, b, b"weather.rain")
    subscribe(pat, c, b"")  # everything
    for m in (b"weather.rain.heavy", b"weather.sun", b"news"):
        send_msg(pat, m)
    assert a.out == [[b"weather.rain.heavy"], [b"weather.sun"]]
    assert b.out == [[b"weather.rain.heavy"]]
    assert c.out == [[b"weather.rain.heavy"], [b"weather.sun"], [b"news"]]


def test_pub_reads_3_0_subscriptions_sent_as_data():
    _, pat, (a,) = rig(C.PUB, 1)
    a.deliver(pat, b"\x01top")
    send_msg(pat, b"topic")
    a.deliver(pat, b"\x00top")
    send_msg(pat, b"topic")
    a.deliver(pat, b"\x01x", b"multipart: not a subscription")
    send_msg(pat, b"x")
    assert a.out == [[b"topic"]] and a.inq.count == 0


def test_pub_picks_the_subscribers_of_a_multipart_message_at_its_first_frame():
    _, pat, (a,) = rig(C.PUB, 1)
    subscribe(pat, a, b"t")
    pat.send_frame(b"t1", 1)
    late = FakePipe("late")
    pat.attach(late)
    subscribe(pat, late, b"")
    pat.send_frame(b"body", 0)
    assert a.out == [[b"t1", b"body"]] and late.out == [] and late.cur == []


def test_pub_drops_for_a_subscriber_at_sndhwm_only():
    _, pat, (a, b) = rig(C.PUB, 2)
    for p in (a, b):
        subscribe(pat, p, b"")
    a.room = 0
    send_msg(pat, b"one")
    send_msg(pat, b"two", b"parts")
    assert a.out == [] and b.out == [[b"one"], [b"two", b"parts"]] and pat.dropped == 2


def test_sub_subscriptions_are_counted_and_cancel_goes_out_on_the_last():
    _, pat, (a,) = rig(C.SUB, 1)
    pat.subscribe(b"t", True)
    pat.subscribe(b"t", True)
    pat.subscribe(b"t", False)
    a.deliver(pat, b"t1")
    assert recv_msg(pat) == [b"t1"]  # one subscription left
    pat.subscribe(b"t", False)
    a.deliver(pat, b"t2")
    assert recv_msg(pat) is None
    assert a.subscriptions == [(b"t", True), (b"t", True), (b"t", False)]


def test_sub_sends_its_subscriptions_to_every_new_pipe():
    _, pat, _ = rig(C.SUB)
    pat.subscribe(b"a", True)
    pat.subscribe(b"a", True)
    pat.subscribe(b"b", True)
    p = FakePipe("new")
    pat.attach(p)
    assert sorted(p.subscriptions) == [(b"a", True), (b"a", True), (b"b", True)]
    p.subscriptions.clear()
    pat.pipe_ready(p)  # a reconnect under the same pipe: all of them again
    assert len(p.subscriptions) == 3


def test_sub_filters_whole_messages_and_never_matches_past_a_slots_length():
    sock, pat, (a,) = rig(C.SUB, 1)
    pat.subscribe(b"weather", True)
    a.deliver(pat, b"news", b"weather-looking second frame")
    slot = bytearray(sock.ctx.pool.size)
    slot[:7] = b"weather"
    pat.on_pipe_frame(a, 0, slot, 3)  # body is b"wea": the slot's tail must not match
    a.deliver(pat, b"weather.x", b"tail")
    assert recv_msg(pat) == [b"weather.x", b"tail"] and recv_msg(pat) is None


@pytest.mark.fastpath
def test_topic_matching_with_many_topics_is_a_prefix_test():
    t = pubsub.Topics()
    for i in range(12):
        t.add(b"topic%02d" % i)
    assert t.match(b"topic07.data") and t.match(b"topic11")
    assert not t.match(b"topic1") and not t.match(b"topic12") and not t.match(b"")
    t.remove(b"topic07")
    assert not t.match(b"topic07.data")
    t.add(b"")
    assert t.match(b"anything")


def test_xpub_reports_new_and_last_subscriptions():
    _, pat, (a, b) = rig(C.XPUB, 2)
    subscribe(pat, a, b"x")
    subscribe(pat, b, b"x")
    subscribe(pat, b, b"y")
    assert [recv_msg(pat) for _ in range(2)] == [[b"\x01x"], [b"\x01y"]] and recv_msg(pat) is None
    subscribe(pat, a, b"x", False)
    assert recv_msg(pat) is None  # b still wants x
    b.active = False
    pat.detach(b)  # its subscriptions go with it
    assert sorted(recv_msg(pat)[0] for _ in range(2)) == [b"\x00x", b"\x00y"]


def test_xpub_verbose_reports_every_subscribe():
    _, pat, (a, b) = rig(C.XPUB, 2, xpub_verbose=1)
    subscribe(pat, a, b"x")
    subscribe(pat, b, b"x")
    assert [recv_msg(pat), recv_msg(pat), recv_msg(pat)] == [[b"\x01x"], [b"\x01x"], None]


def test_a_topic_is_gone_after_the_cancel_a_libzmq_sub_sends():
    # SUB: subscribe(t) twice, unsubscribe(t) twice -> SUBSCRIBE t, SUBSCRIBE t, CANCEL t
    _, pat, (a,) = rig(C.XPUB, 1)
    for on in (True, True, False):
        subscribe(pat, a, b"t", on)
    assert [recv_msg(pat), recv_msg(pat)] == [[b"\x01t"], [b"\x00t"]]
    send_msg(pat, b"t-data")
    assert a.out == []


def test_xsub_turns_sent_subscription_messages_into_subscriptions():
    _, pat, (a,) = rig(C.XSUB, 1)
    send_msg(pat, b"\x01news")
    send_msg(pat, b"\x00news")
    send_msg(pat, b"\x01", b"multipart: data, sent as is")
    assert a.subscriptions == [(b"news", True), (b"news", False)]
    assert a.out == [[b"\x01", b"multipart: data, sent as is"]]
    a.deliver(pat, b"anything")  # XSUB does not filter
    assert recv_msg(pat) == [b"anything"]


def test_sub_cannot_send_and_pub_cannot_receive():
    _, sub, _ = rig(C.SUB)
    _, pub, _ = rig(C.PUB)
    assert errno_of(sub.send_frame, b"x", 0) == C.ENOTSUP
    assert errno_of(pub.recv_frame) == C.ENOTSUP


# -- PAIR ---------------------------------------------------------------------------------------------


def test_pair_takes_one_peer_at_a_time():
    _, pat, (a,) = rig(C.PAIR, 1)
    assert not pat.attach(FakePipe("second"))
    a.active = False
    pat.detach(a)
    b = FakePipe("b")
    assert pat.attach(b)
    send_msg(pat, b"to b")
    b.deliver(pat, b"from b")
    assert b.out == [[b"to b"]] and recv_msg(pat) == [b"from b"]


# -- the socket-type table -------------------------------------------------------------------------------


def test_the_table_names_libzmqs_types_and_their_valid_peers():
    names = [patterns.info(t)[0] for t in range(11)]
    assert names == ["PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB"]
    assert patterns.name(C.XPUB) == b"XPUB"
    assert patterns.peer_names(C.REQ) == (b"REP", b"ROUTER")
    assert patterns.peer_names(C.PULL) == (b"PUSH",)
    queues = [t for t in range(11) if patterns.info(t)[4]]
    assert queues == [C.PAIR, C.REQ, C.DEALER, C.PUSH]


def test_valid_pairings_are_symmetric():
    for t in range(11):
        for p in patterns.info(t)[3]:
            assert t in patterns.info(p)[3], (t, p)


@pytest.mark.parametrize("bad", [-1, 11, 99, "PUB", None, 1.0])
def test_an_unknown_socket_type_is_einval(bad):
    assert errno_of(patterns.info, bad) == C.EINVAL


def test_create_builds_the_class_the_table_names():
    ctx = make_context()
    for t in range(11):
        sock = ctx.socket(t)
        assert type(sock.pattern).__name__ == patterns.info(t)[2]


def test_register_adds_a_type_and_refuses_libzmqs_numbers(monkeypatch):
    monkeypatch.setattr(patterns, "_extra", None)

    class Echo(patterns.base.Pattern):
        pass

    patterns.register(200, "ECHO", Echo, [200], queues_on_connect=True)
    assert patterns.info(200) == ("ECHO", None, Echo, (200,), True)
    assert patterns.name(200) == b"ECHO" and patterns.peer_names(200) == (b"ECHO",)
    sock = make_context().socket(200)
    assert type(sock.pattern) is Echo
    with pytest.raises(ValueError):
        patterns.register(C.PUB, "MINE", Echo, [1])
    assert errno_of(patterns.info, 201) == C.EINVAL


@pytest.mark.parametrize("number", range(11))
def test_plain_in_says_whether_the_pattern_looks_at_incoming_frames(number):
    """Session.on_data queues a frame itself when the pattern's plain_in is
    true: that must be exactly the patterns that keep the base on_pipe_frame."""
    import importlib

    from edgezmq.patterns import _TYPES
    from edgezmq.patterns.base import Pattern

    _, module, cls_name, _, _ = _TYPES[number]
    cls = getattr(importlib.import_module("edgezmq.patterns." + module), cls_name)
    assert cls.plain_in == (cls.on_pipe_frame is Pattern.on_pipe_frame), cls_name
