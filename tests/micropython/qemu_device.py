# TEST-ONLY device program, frozen into the Cortex-M3 (qemu mps2-an385) test
# firmware by tools/mpbuild.py; never part of an edgezmq bundle. Run from the
# raw REPL (tests/support.py QemuBoard):
#   import qemu_device; qemu_device.mem("PUB")           heap figures, printed
#   import qemu_device; qemu_device.link(EP, PERIOD, SIZE)
#       PUB (connects) + REP (binds) on one serial link, as the demo device:
#       PUB sends [b"tele", b"EPOCH SEQ", payload(SEQ, SIZE)] every PERIOD ms;
#       REP answers [b"heap"] with b"BASE LIVE FREE SENT DROPPED" (PUB's
#       count, and its SNDHWM drops), [b"echo", x...] with
#       [b"re:" + each frame], [b"stop"] with b"bye SEQ" and then stops.
#   import qemu_device; qemu_device.curve(EP, SERVER_KEY_Z85, PUBLIC_Z85, SECRET_Z85, SEED)
#       CURVE PUSH client (connects); DETERMINISTIC random bytes from SEED:
#       qemu has no os.urandom, and this is a test, never a key to keep.
# Nothing may be printed while the link runs on the console UART.
import gc


def payload(seq, size):
    unit = b"%08d|" % seq
    return (unit * (size // len(unit) + 1))[:size]


def _live(tag):
    gc.collect()
    print("%s %d %d" % (tag, gc.mem_alloc(), gc.mem_free()))


def mem(kind="PUB"):
    """BASE/IMPORT/CTX/SOCKET lines: live heap after each step (absolute)."""
    gc.collect()
    _live("BASE")
    import edgezmq

    _live("IMPORT")
    ctx = edgezmq.Context()
    _live("CTX")
    s = ctx.socket(getattr(edgezmq, kind))
    _live("SOCKET")
    s.close()
    ctx.term()
    print("DONE")


def _pump(ctx, ms):
    import time

    end = time.ticks_add(time.ticks_ms(), ms)
    while True:
        left = time.ticks_diff(end, time.ticks_ms())
        if left <= 0:
            return
        ctx.reactor.run_once(left)


def link(ep="serial://stdio", period=20, size=64):
    import time

    import edgezmq as zmq

    gc.collect()
    base = gc.mem_alloc()
    ctx = zmq.Context()
    rep = ctx.socket(zmq.REP)
    rep.linger = 0
    rep.bind(ep)  # one socket binds the link; the other connects on it
    pub = ctx.socket(zmq.PUB)
    pub.linger = 0
    pub.sndhwm = 8  # what waits while the link retransmits: one bytearray that grows (heap!)
    pub.connect(ep)
    seq = 0
    due = time.ticks_ms()
    while True:
        wait = time.ticks_diff(due, time.ticks_ms())
        if wait <= 0:
            pub.send_multipart([b"tele", b"%d %d" % (pub.stats["connects"], seq), payload(seq, size)])
            seq += 1
            due = time.ticks_add(due, period)
            continue
        try:
            req = rep.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            ctx.reactor.run_once(wait)
            continue
        cmd = bytes(req[0])
        if cmd == b"heap":
            gc.collect()
            rep.send(b"%d %d %d %d %d" % (base, gc.mem_alloc(), gc.mem_free(), seq, pub.pattern.dropped))
        elif cmd == b"stop":
            rep.send(b"bye %d" % seq)
            _pump(ctx, 300)
            break
        else:
            rep.send_multipart([b"re:" + bytes(p) for p in req])
    rep.close()
    pub.close()
    ctx.term()


class _TestRandom:
    """TEST-ONLY deterministic bytes (xorshift32): qemu has no os.urandom."""

    def __init__(self, seed):
        self.x = seed or 1

    def __call__(self, n):
        out = bytearray(n)
        x = self.x
        for i in range(n):
            x ^= (x << 13) & 0xFFFFFFFF
            x ^= x >> 17
            x ^= (x << 5) & 0xFFFFFFFF
            out[i] = x & 0xFF
        self.x = x
        return bytes(out)


def curve(ep, server_key, public, secret, seed=1, n=3):
    """CURVE PUSH client over the link with its key pair as given (Z85, as
    a pyzmq program sets both from a stored certificate: the device derives
    nothing): first [b"hs", b"US CALLS"] (the microseconds spent in X25519
    key work during the handshake, and how many calls: under qemu -icount
    shift=0 a microsecond is 1,000 instructions), then n messages
    [b"secret-I", b"x" * 300]."""
    import time

    import edgezmq as zmq
    from edgezmq.ports.micropython.nacl_pure import PureCrypto
    from edgezmq.ports.micropython.port import MicroPythonPort

    rnd = _TestRandom(seed)
    spent = [0, 0]
    nacl = PureCrypto(rnd)

    def timed(f):
        def g(*a):
            t = time.ticks_us()
            r = f(*a)
            spent[0] += time.ticks_diff(time.ticks_us(), t)
            spent[1] += 1
            return r

        return g

    for name in ("keypair", "public", "beforenm"):  # the X25519 work (box/open call beforenm)
        setattr(nacl, name, timed(getattr(nacl, name)))

    class TestPort(MicroPythonPort):
        def random(self, k):
            return rnd(k)

        def crypto(self):
            return nacl

    ctx = zmq.Context(port=TestPort())
    s = ctx.socket(zmq.PUSH)
    s.linger = 5000
    s.sndtimeo = 60000
    s.curve_serverkey = server_key.encode()
    s.curve_secretkey = secret.encode()
    s.curve_publickey = public.encode()
    s.connect(ep)
    # a connect() has its pipe at once (IMMEDIATE=0): wait for the finished handshake
    while not [p for p in s.pattern.pipes if p.connected]:
        ctx.reactor.run_once(50)
    s.send_multipart([b"hs", b"%d %d" % (spent[0], spent[1])])
    for i in range(n):
        s.send_multipart([b"secret-%d" % i, b"x" * 300])
    s.close()
    ctx.term()


def goodput(ep, size=1024, count=60, warm=10):
    """PUSH (connects) `count` messages of `size` pseudo-random bytes over the
    link as fast as it takes them, then [b"cpu", b"US WAIT_US WRITE_US N TURNS"]:
    the microseconds from message `warm` to the last one handed to send(),
    how many of them passed waiting in the poller (a poll that may block) and
    in the UART writes (qemu's UART spins while the host has not taken the
    last byte: host latency, not device work), N = count - warm, and the
    reactor turns (polls) in that time.
    SNDHWM 1: send() returns when the pipeline has room, so in steady state
    its pace is the pipeline's. Under qemu -icount shift=0 a microsecond is
    1,000 instructions (benchmarks/serial_goodput_m3.py)."""
    import time

    import edgezmq as zmq

    ctx = zmq.Context()
    spent = [0, 0, 0]  # us in polls that may block, us in UART writes, polls

    def timed(f, k):
        def g(a):
            if k == 0:
                spent[2] += 1
            if not a and k == 0:
                return f(a)  # poll(0): work, not waiting
            t = time.ticks_us()
            r = f(a)
            spent[k] += time.ticks_diff(time.ticks_us(), t)
            return r

        return g

    poller = ctx.reactor.poller
    poller.poll = timed(poller.poll, 0)  # the instance attribute shadows the method
    s = ctx.socket(zmq.PUSH)
    s.sndhwm = 1
    s.linger = 10000
    s.connect(ep)
    drv = ctx.serial_links[ep[9:]].driver
    while drv.dev is None:
        ctx.reactor.run_once(10)
    drv.dev.write = timed(drv.dev.write, 1)
    body = _TestRandom(7)(size)  # binary data: ~1 byte in 128 is a FLAG or ESC the link escapes
    t0 = 0
    for i in range(count):
        if i == warm:
            t0 = time.ticks_us()
            spent[0] = spent[1] = spent[2] = 0
        s.send(body)
    us = time.ticks_diff(time.ticks_us(), t0)
    s.send_multipart([b"cpu", b"%d %d %d %d %d" % (us, spent[0], spent[1], count - warm, spent[2])])
    s.close()
    ctx.term()
