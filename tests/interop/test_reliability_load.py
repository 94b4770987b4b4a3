"""Slow consumers and floods: queues bounded by the HWMs, drops counted, no fds
leaked by a flood of connections, and the socket still serves."""
import time

import edgezmq as zmq
import pytest
from reliability_kit import PUSH_PEER, fd_count, kill, rss_kb, spawn, wait_for
from support import free_port

pytest.importorskip("zmq")


# -- slow consumers and floods -----------------------------------------------------------
@pytest.mark.timeout(60)
def test_slow_consumer_queue_bounded_by_rcvhwm():
    port = free_port()
    p = spawn(PUSH_PEER, port, 0)  # as fast as libzmq goes
    ctx = zmq.Context()
    hwm = 100
    try:
        pull = ctx.socket(zmq.PULL)
        pull.rcvhwm = hwm
        pull.rcvtimeo = 10000
        pull.connect("tcp://127.0.0.1:%d" % port)
        pull.recv_multipart()
        time.sleep(0.3)
        rss0 = rss_kb()
        worst = 0
        last = 0
        for i in range(1000):
            seq = int(pull.recv_multipart()[0])
            assert seq == last + 1
            last = seq
            with ctx.lock:
                q = max([pp.inq.msgs for pp in pull.pattern.pipes] or [0])
            worst = max(worst, q)
            if i % 10 == 0:
                time.sleep(0.002)  # a consumer far slower than the producer
        rss1 = rss_kb()
        # at most RCVHWM whole messages plus one read buffer of small ones
        bound = hwm + ctx.port.rx_size // 40 + 1
        print("\nslow consumer: worst queue %d msgs (RCVHWM %d, bound %d); RSS %d -> %d kB"
              % (worst, hwm, bound, rss0, rss1))
        assert worst <= bound
        assert rss1 - rss0 < 20000
    finally:
        kill(p)
        ctx.destroy(linger=0)


@pytest.mark.timeout(60)
def test_pub_drops_and_counts_at_sndhwm_for_slow_subscriber():
    ctx = zmq.Context()
    sub_peer = """
    import sys, time, zmq
    ctx = zmq.Context()
    s = ctx.socket(zmq.SUB)
    s.rcvhwm = 10
    s.rcvbuf = 4096
    s.subscribe(b"")
    s.connect(sys.argv[1])
    print("ready", flush=True)
    n = 0
    while True:
        m = s.recv()
        n += 1
        time.sleep(0.01)
    """
    hwm = 50
    try:
        pub = ctx.socket(zmq.PUB)
        pub.sndhwm = hwm
        port = pub.bind_to_random_port("tcp://127.0.0.1")
        p = spawn(sub_peer, "tcp://127.0.0.1:%d" % port)
        try:
            assert wait_for(lambda: any(pp.subs for pp in pub.pattern.pipes), 10)
            body = b"y" * 1000
            worst_pending = worst_tx = 0
            for i in range(20000):
                pub.send(body)
                if i % 100 == 0:
                    with ctx.lock:
                        for pp in pub.pattern.pipes:
                            worst_pending = max(worst_pending, pp.pending())
                            worst_tx = max(worst_tx, len(pp.conn.tx))
            st = pub.get_stats()
            print("\nPUB at SNDHWM %d: worst pending %d msgs, %d bytes queued; stats %s"
                  % (hwm, worst_pending, worst_tx, st))
            assert worst_pending <= hwm
            assert worst_tx <= hwm * (len(body) + 9) + 64
            assert st["dropped_hwm"] > 0
            assert st["sent"] == 20000
        finally:
            kill(p)
    finally:
        ctx.destroy(linger=0)


FLOOD = """
import socket, sys, time, zmq
port, total, batch = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ctx = zmq.Context()
print("ready", flush=True)
done = 0
while done < total:
    socks = []
    for i in range(batch):
        if i % 5 == 4:  # a raw TCP client that never finishes the greeting
            r = socket.create_connection(("127.0.0.1", port))
            r.sendall(b"\\xff\\x00")
            socks.append(r)
            continue
        d = ctx.socket(zmq.DEALER)
        d.linger = 0
        d.connect("tcp://127.0.0.1:%d" % port)
        d.send(b"flood")
        socks.append(d)
    time.sleep(0.1)  # let most of them connect and send before they go
    for d in socks:
        d.close()
    done += batch
print("done", done, flush=True)
"""


@pytest.mark.timeout(120)
def test_dealer_flood_leaks_no_fds_and_router_still_serves():
    import zmq as pyzmq

    ctx = zmq.Context()
    try:
        router = ctx.socket(zmq.ROUTER)
        port = router.bind_to_random_port("tcp://127.0.0.1")
        time.sleep(0.1)
        fds0 = fd_count()
        p = spawn(FLOOD, port, 1000, 100)
        got = 0
        while p.poll() is None:
            if router.poll(100):
                ident, body = router.recv_multipart()
                assert body == b"flood"
                got += 1
        out, err = p.stdout.read(), p.stderr.read()
        kill(p)
        assert "done 1000" in out, err
        while router.poll(200):
            router.recv_multipart()
            got += 1
        assert wait_for(lambda: not router.engines, 15), len(router.engines)
        fds1 = fd_count()
        st = router.get_stats()
        print("\nflood: fds %d -> %d; %d flood messages; stats %s" % (fds0, fds1, got, st))
        assert fds1 <= fds0
        assert 0 < got <= 800  # 800 DEALERs sent one message each, 200 raw clients none
        assert st["disconnects"] + st["handshake_failures"] >= got
        # a good client is still served
        pctx = pyzmq.Context()
        try:
            d = pctx.socket(pyzmq.DEALER)
            d.linger = 0
            d.connect("tcp://127.0.0.1:%d" % port)
            d.send(b"hello")
            assert router.poll(5000)
            ident, body = router.recv_multipart()
            assert body == b"hello"
            router.send_multipart([ident, b"world"])
            assert d.poll(5000)
            assert d.recv() == b"world"
        finally:
            pctx.destroy(linger=0)
    finally:
        ctx.destroy(linger=0)
