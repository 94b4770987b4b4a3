"""A hostile network between edgezmq and libzmq (tests/faultproxy.py): cut,
delayed and reset connections never yield corrupt or partial messages."""
import time

import edgezmq as zmq
import pytest
from reliability_kit import PUSH_PEER, kill, spawn
from support import free_port

pytest.importorskip("zmq")


def order_runs(seqs):
    """How many increasing runs the sequence splits into at least (patience
    sorting). Messages are in order per connection; after a reconnect a dead
    connection's last whole messages may still be read (fair-queued) beside
    the new connection's, so a stream over reconnects is a merge of a few
    increasing runs, never a shuffle."""
    import bisect

    tails = []
    for x in seqs:
        i = bisect.bisect_left(tails, x)  # the run whose tail is the largest below x
        if i == 0:
            tails.insert(0, x)
        else:
            tails[i - 1] = x
            tails.sort()
    return len(tails)


# -- a hostile network between edgezmq and libzmq -----------------------------------------
@pytest.mark.parametrize("io_threads", [1, 0], ids=["thread", "coop"])
@pytest.mark.timeout(90)
def test_fault_proxy_never_yields_corrupt_or_partial_messages(io_threads):

    from faultproxy import FaultProxy

    port = free_port()
    p = spawn(PUSH_PEER, port, 0.0002)
    proxy = FaultProxy(("127.0.0.1", port), seed=7, p_delay=0.05, p_stall=0.01,
                       p_truncate=0.02, p_reset=0.02, max_stall=0.2).start()
    ctx = zmq.Context(io_threads=io_threads)
    try:
        pull = ctx.socket(zmq.PULL)
        pull.reconnect_ivl = 20
        pull.reconnect_ivl_max = 200
        pull.heartbeat_ivl = 200
        pull.heartbeat_timeout = 600
        pull.rcvtimeo = 10000
        pull.connect("tcp://127.0.0.1:%d" % proxy.port)
        proxy.faults = True
        seqs = []
        count = 0
        # faults until what the asserts below need has happened (several
        # reconnections, cuts mid-stream, two 256 KiB messages), not for a time
        end = time.monotonic() + 36
        while not (proxy.counts["connections"] >= 5 and count >= 1000
                   and proxy.counts["truncations"] + proxy.counts["resets"] >= 3):
            assert time.monotonic() < end, "too few faults: %s" % proxy.counts
            parts = pull.recv_multipart()
            assert len(parts) == 2, parts[:1]
            seq = int(parts[0])
            assert parts[1] == _push_body(parts[0])
            seqs.append(seq)
            count += 1
        faulty = dict(proxy.counts)
        # calm again: it keeps going
        proxy.faults = False
        for _ in range(200):
            parts = pull.recv_multipart()
            seq = int(parts[0])
            assert len(parts) == 2 and parts[1] == _push_body(parts[0])
            seqs.append(seq)
        st = pull.get_stats()
        print("\nfault proxy: %d messages under faults; injected %s; stats %s" % (count, faulty, st))
        assert faulty["connections"] >= 5
        assert len(set(seqs)) == len(seqs)  # once
        assert order_runs(seqs) <= 3  # in order per connection
        assert faulty["truncations"] + faulty["resets"] >= 3
        assert st["disconnects"] >= 3
    finally:
        proxy.stop()
        kill(p)
        ctx.destroy(linger=0)


def _push_body(seq_b):
    """What PUSH_PEER sends with sequence number seq_b (every 500th: 256 KiB)."""
    import hashlib

    seq = int(seq_b)
    return hashlib.sha256(seq_b).digest() * (1 + seq % 40 + (8000 if seq % 500 == 7 else 0))


ROUTER_ECHO = """
import sys, zmq
ctx = zmq.Context()
r = ctx.socket(zmq.ROUTER)
r.bind("tcp://127.0.0.1:%d" % int(sys.argv[1]))
print("ready", flush=True)
while True:
    r.send_multipart(r.recv_multipart())
"""


@pytest.mark.timeout(90)
def test_fault_proxy_dealer_round_trips():
    """edgezmq sending through the faults: replies are whole, once, in order,
    and every request is either answered or counted lost with its connection."""
    import hashlib

    from faultproxy import FaultProxy

    port = free_port()
    p = spawn(ROUTER_ECHO, port)
    proxy = FaultProxy(("127.0.0.1", port), seed=11, p_truncate=0.03, p_reset=0.03,
                       max_stall=0.2).start()
    ctx = zmq.Context()
    try:
        d = ctx.socket(zmq.DEALER)
        d.reconnect_ivl = 20
        d.reconnect_ivl_max = 200
        d.heartbeat_ivl = 200
        d.heartbeat_timeout = 600
        d.sndtimeo = 2000
        d.connect("tcp://127.0.0.1:%d" % proxy.port)
        proxy.faults = True
        sent = answered = 0
        last = -1  # the highest reply so far
        base = -1  # requests up to here are answered or given up
        replies = []
        end = time.monotonic() + 36

        def enough_faults():  # what the asserts below need, not a time
            c = proxy.counts
            return c["connections"] >= 4 and c["truncations"] + c["resets"] >= 3 and sent >= 500

        while True:
            now = time.monotonic()
            if proxy.faults and enough_faults():
                proxy.faults = False
                calm_from = sent
            if not proxy.faults and last >= calm_from + 200:
                break
            assert now < end, "too few faults, or no progress after they stopped: %s" % proxy.counts
            while sent - base < 50:
                body = hashlib.sha256(b"%d" % sent).digest() * (1 + sent % 30)
                try:
                    d.send_multipart([b"%d" % sent, body])
                except zmq.Again:
                    break
                sent += 1
            if d.poll(300):
                parts = d.recv_multipart()
                assert len(parts) == 2, parts[:1]  # never the tail of a message alone
                seq_b, body = parts
                seq = int(seq_b)
                assert body == hashlib.sha256(seq_b).digest() * (1 + seq % 30)
                replies.append(seq)
                last = max(last, seq)
                base = max(base, seq)
                answered += 1
            else:
                base = sent - 1  # the rest of the window died with a connection
        st = d.get_stats()
        print("\nfault proxy, DEALER: %d requests, %d answered; injected %s; stats %s"
              % (sent, answered, proxy.counts, st))
        assert st["sent"] == sent
        assert len(set(replies)) == len(replies)  # once
        assert order_runs(replies) <= 3  # in order per connection
        assert st["disconnects"] >= 3
        assert answered <= sent
    finally:
        proxy.stop()
        kill(p)
        ctx.destroy(linger=0)
