"""One end of one benchmark scenario, run in its own process by run.py.

    python worker.py LIB ROLE key=value...

LIB is pyzmq, edgezmq (default I/O thread), edgezmq-io0 (cooperative) or
raw (plain TCP sockets). Binding roles print "PORT <n>" first; every role
prints its result as one JSON line starting with "RESULT ". Everything is
bounded: counts are fixed and every blocking call has a timeout.
"""
import json
import select
import socket
import sys
import time

TIMEOUT_MS = 20000  # any single wait longer than this is a failure


def load(lib):
    if lib == "pyzmq":
        import zmq

        return zmq, zmq.Context()
    import edgezmq as zmq

    return zmq, zmq.Context(io_threads=0 if lib == "edgezmq-io0" else 1)


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def result(**kw):
    say("RESULT " + json.dumps(kw))


def bind(sock):
    sock.bind("tcp://127.0.0.1:*")
    ep = sock.last_endpoint
    if isinstance(ep, bytes):
        ep = ep.decode()
    port = int(ep.rsplit(":", 1)[1])
    say("PORT %d" % port)
    return port


def setup(sock, zmq):
    sock.linger = 10000
    sock.rcvtimeo = TIMEOUT_MS
    sock.sndtimeo = TIMEOUT_MS


# libzmq's documented CURVE test keys (Z85), so both ends agree without a key exchange
CURVE_SERVER = (b"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", b"JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6")
CURVE_CLIENT = (b"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID", b"D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs")


def secure(sock, a, server):
    """curve=1: the server end gets the server keys, the client end the client's."""
    if not a.get("curve"):
        return
    if server:
        sock.curve_server = True
        sock.curve_publickey, sock.curve_secretkey = CURVE_SERVER
    else:
        sock.curve_serverkey = CURVE_SERVER[0]
        sock.curve_publickey, sock.curve_secretkey = CURVE_CLIENT


def pct(sorted_vals, q):
    if not sorted_vals:
        return 0.0
    k = min(len(sorted_vals) - 1, int(round(q * (len(sorted_vals) - 1))))
    return sorted_vals[k]


# -- PUSH/PULL throughput ------------------------------------------------------
def role_pull(zmq, ctx, a):
    n = a["count"]
    s = ctx.socket(zmq.PULL)
    setup(s, zmq)
    secure(s, a, True)
    bind(s)
    recv = s.recv
    recv()
    t0 = time.perf_counter()
    for _ in range(n - 1):
        recv()
    dt = time.perf_counter() - t0
    s.close()
    size = a["size"]
    rate = (n - 1) / dt
    result(msgs_per_s=rate, mb_per_s=rate * size / 1e6, seconds=dt)


def role_push(zmq, ctx, a):
    n = a["count"]
    s = ctx.socket(zmq.PUSH)
    setup(s, zmq)
    secure(s, a, False)
    s.connect("tcp://127.0.0.1:%d" % a["port"])
    msg = b"x" * a["size"]
    send = s.send
    t0 = time.perf_counter()
    for _ in range(n):
        send(msg)
    dt = time.perf_counter() - t0
    s.close()
    result(send_seconds=dt)


# -- round-trip latency: REQ/REP, DEALER/ROUTER --------------------------------
def role_rep(zmq, ctx, a):
    total = a["count"] + a["warmup"]
    s = ctx.socket(zmq.REP)
    setup(s, zmq)
    bind(s)
    for _ in range(total):
        s.send(s.recv())
    s.close()
    result(served=total)


def role_router(zmq, ctx, a):
    total = a["count"] + a["warmup"]
    s = ctx.socket(zmq.ROUTER)
    setup(s, zmq)
    bind(s)
    for _ in range(total):
        s.send_multipart(s.recv_multipart())
    s.close()
    result(served=total)


def _latency(rt, count, warmup):
    for _ in range(warmup):
        rt()
    clock = time.perf_counter_ns
    samples = []
    add = samples.append
    for _ in range(count):
        t0 = clock()
        rt()
        add(clock() - t0)
    samples.sort()
    us = [x / 1000.0 for x in samples]
    return dict(median_us=pct(us, 0.5), p99_us=pct(us, 0.99), min_us=us[0], max_us=us[-1])


def role_req(zmq, ctx, a):
    s = ctx.socket(zmq.REQ)
    setup(s, zmq)
    s.connect("tcp://127.0.0.1:%d" % a["port"])
    msg = b"x" * a["size"]

    def rt():
        s.send(msg)
        s.recv()

    r = _latency(rt, a["count"], a["warmup"])
    s.close()
    result(**r)


def role_dealer(zmq, ctx, a):
    s = ctx.socket(zmq.DEALER)
    setup(s, zmq)
    s.connect("tcp://127.0.0.1:%d" % a["port"])
    msg = b"x" * a["size"]

    def rt():
        s.send(msg)
        s.recv()

    r = _latency(rt, a["count"], a["warmup"])
    s.close()
    result(**r)


# -- CURVE handshake: a new connection per sample ------------------------------------
def role_curve_hs_server(zmq, ctx, a):
    total = a["count"] + a["warmup"]
    s = ctx.socket(zmq.REP)
    setup(s, zmq)
    secure(s, dict(curve=1), True)
    bind(s)
    for _ in range(total):
        s.send(s.recv())
    s.close()
    result(served=total)


def role_curve_hs_client(zmq, ctx, a):
    """connect + greeting + CURVE handshake + one 64 B round trip, per sample."""
    ep = "tcp://127.0.0.1:%d" % a["port"]
    msg = b"x" * a["size"]

    def rt():
        s = ctx.socket(zmq.REQ)
        setup(s, zmq)
        s.linger = 0
        secure(s, dict(curve=1), False)
        s.connect(ep)
        s.send(msg)
        s.recv()
        s.close()

    r = _latency(rt, a["count"], a["warmup"])
    result(**r)


# -- raw TCP ping-pong: the floor -------------------------------------------------
def _recv_exact(c, n):
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = c.recv_into(view[got:])
        if k == 0:
            raise EOFError("peer closed")
        got += k
    return buf


def role_raw_server(a):
    total = a["count"] + a["warmup"]
    size = a["size"]
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    ls.settimeout(TIMEOUT_MS / 1000)
    say("PORT %d" % ls.getsockname()[1])
    c, _ = ls.accept()
    c.settimeout(TIMEOUT_MS / 1000)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for _ in range(total):
        c.sendall(_recv_exact(c, size))
    c.close()
    ls.close()
    result(served=total)


def role_raw_client(a):
    size = a["size"]
    c = socket.create_connection(("127.0.0.1", a["port"]), timeout=TIMEOUT_MS / 1000)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    msg = b"x" * size

    def rt():
        c.sendall(msg)
        _recv_exact(c, size)

    r = _latency(rt, a["count"], a["warmup"])
    c.close()
    result(**r)


# -- PUB fan-out ---------------------------------------------------------------
def role_pub(zmq, ctx, a):
    n = a["count"]
    s = ctx.socket(zmq.PUB)
    s.sndhwm = 0
    setup(s, zmq)
    bind(s)
    # warm-up beacons until the orchestrator saw every subscriber receive one
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        s.send(b"W")
        r, _, _ = select.select([sys.stdin], [], [], 0.01)
        if r:
            sys.stdin.readline()
            break
    msg = b"D" + b"x" * (a["size"] - 1)
    send = s.send
    t0 = time.perf_counter()
    for _ in range(n):
        send(msg)
    dt = time.perf_counter() - t0
    s.send(b"E")
    s.close()
    result(send_seconds=dt)


def role_sub(zmq, ctx, a):
    n = a["count"]
    s = ctx.socket(zmq.SUB)
    s.rcvhwm = 0
    setup(s, zmq)
    s.rcvtimeo = 5000
    s.setsockopt(zmq.SUBSCRIBE, b"")
    s.connect("tcp://127.0.0.1:%d" % a["port"])
    recv = s.recv
    while recv()[:1] != b"W":
        pass
    say("READY")
    m = recv()
    while m[:1] == b"W":
        m = recv()
    got = 0
    t0 = time.perf_counter()
    t1 = t0
    try:
        while m[:1] == b"D":
            got += 1
            t1 = time.perf_counter()
            if got == n:
                break
            m = recv()
    except zmq.Again:
        pass
    dt = t1 - t0
    s.close(linger=0)
    rate = (got - 1) / dt if dt > 0 else 0.0
    result(msgs_per_s=rate, mb_per_s=rate * a["size"] / 1e6, received=got, lost=n - got)


# -- cost growth with connection count -------------------------------------------
def role_router_many(zmq, ctx, a):
    total = a["count"] + a["warmup"] + a["peers"]
    s = ctx.socket(zmq.ROUTER)
    setup(s, zmq)
    bind(s)
    for _ in range(total):
        s.send_multipart(s.recv_multipart())
    s.close()
    result(served=total)


def role_dealers(zmq, ctx, a):
    peers = a["peers"]
    socks = []
    for _ in range(peers):
        d = ctx.socket(zmq.DEALER)
        setup(d, zmq)
        d.connect("tcp://127.0.0.1:%d" % a["port"])
        socks.append(d)
    msg = b"x" * a["size"]
    for d in socks:  # every peer finished its handshake
        d.send(msg)
        d.recv()
    it = [0]

    def rt():
        d = socks[it[0] % peers]
        it[0] += 1
        d.send(msg)
        d.recv()

    r = _latency(rt, a["count"], a["warmup"])
    for d in socks:
        d.close()
    result(**r)


ROLES = {
    "pull": role_pull,
    "push": role_push,
    "rep": role_rep,
    "req": role_req,
    "router": role_router,
    "dealer": role_dealer,
    "pub": role_pub,
    "sub": role_sub,
    "router_many": role_router_many,
    "dealers": role_dealers,
    "curve_hs_server": role_curve_hs_server,
    "curve_hs_client": role_curve_hs_client,
}


def main(argv):
    lib, role = argv[0], argv[1]
    a = {}
    for kv in argv[2:]:
        k, v = kv.split("=", 1)
        a[k] = int(v)
    if lib == "raw":
        {"server": role_raw_server, "client": role_raw_client}[role](a)
        return 0
    zmq, ctx = load(lib)
    ROLES[role](zmq, ctx, a)
    ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
