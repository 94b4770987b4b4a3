# MicroPython side of tests/micropython/test_device_*.py: micropython mp_device.py ROLE [ENDPOINT]
# Prints "EP <endpoint>" once bound, "MEM <type> live=<bytes> allocated=<mem_peak>" after the
# first handshake, "GOT <repr>" per message, and "DONE" at the end.
import gc
import sys

import edgezmq as zmq
import micropython

T = 8000  # ms: every blocking call has a timeout
MANY = 3000  # messages the pushmany client sends (tests/mpscenarios.py checks each)


def mem(label):
    gc.collect()
    print("MEM %s live=%d allocated=%d" % (label, gc.mem_alloc(), micropython.mem_peak()))


def handshake(s, label):
    """Run the reactor until the socket has a finished peer, then report memory."""
    ctx = s.ctx
    for _ in range(400):
        if [p for p in s.pattern.pipes if p.connected]:
            break
        ctx.reactor.run_once(20)
    else:
        raise OSError("no handshake")
    mem(label)


def sock(ctx, kind, ep, bind):
    s = ctx.socket(kind)
    s.rcvtimeo = T
    s.sndtimeo = T
    s.linger = 2000
    if bind:
        s.bind(ep)
        print("EP %s" % s.last_endpoint.decode())
    else:
        s.connect(ep)
    return s


def main():
    role = sys.argv[1]
    ep = sys.argv[2] if len(sys.argv) > 2 else "tcp://127.0.0.1:*"
    bind = role.endswith("_bind")
    kind = role.split("_")[0]
    # the application's 512-byte message body (the default pool slot size),
    # made first, as a device program makes its big buffers
    body = memoryview(bytes(range(256)) * 2) if kind == "pushmany" else None
    ctx = zmq.Context()
    if kind == "curve":  # CURVE client PUSH: argv[3] is the server's Z85 public key
        s = ctx.socket(zmq.PUSH)
        s.sndtimeo = T
        s.linger = 2000
        s.curve_serverkey = sys.argv[3].encode()
        s.curve_publickey, s.curve_secretkey = zmq.curve_keypair()
        s.connect(ep)
        handshake(s, "PUSH-CURVE")
        for i in range(3):
            s.send_multipart([b"secret-%d" % i, b"x" * 300])
    elif kind == "push":
        s = sock(ctx, zmq.PUSH, ep, bind)
        handshake(s, "PUSH")
        for i in range(5):
            s.send_multipart([b"part-a-%d" % i, b"part-b-%d" % i])
        s.send(b"x" * 3000)  # bigger than a pool slot: a long frame
        s.send(b"end")
    elif kind == "pushmany":  # issue 11's client goal: thousands of messages up to the slot size
        s = sock(ctx, zmq.PUSH, ep, bind)
        handshake(s, "PUSH")
        for i in range(5):
            s.send_multipart([b"part-a-%d" % i, b"part-b-%d" % i])
        for i in range(MANY):
            s.send_multipart([b"%d" % i, body[:i % 513]])
        s.send(b"end")
    elif kind == "tight":  # PULL that runs out of heap while a peer connects, then recovers
        s = sock(ctx, zmq.PULL, ep, True)
        # fill the heap for real: a chain of small lists (a growing list stops
        # at the first realloc it cannot get, leaving ~18 KB free: room for a
        # connection), in ever smaller pieces
        filler = None
        gc.collect()
        for size in (1024, 256, 64):
            try:
                while True:
                    filler = [filler, bytearray(size)]
            except MemoryError:
                pass
        # then give pieces back a few at a time: the peer's connects (libzmq
        # retries every 100 ms) meet holes where an accept and its refusal fit
        # and a connection does not, until one fits (where that is depends
        # on the core: the test wants the refusals on the way)
        for _ in range(4):
            filler = filler[0]
        print("FULL")
        for _ in range(100):
            for _ in range(5):
                ctx.reactor.run_once(20)
            if s.engines:
                break
            for _ in range(4):
                if filler is not None:
                    filler = filler[0]
        filler = None
        gc.collect()
        print("FREED")
        print("GOT %r" % (s.recv_multipart(),))
        print("OOM %d" % s.stats["out_of_memory"])  # connections not accepted or refused
    elif kind == "pull":
        s = sock(ctx, zmq.PULL, ep, bind)
        handshake(s, "PULL")
        while True:
            m = s.recv_multipart()
            print("GOT %r" % (m if len(m[0]) < 100 else [len(m[0])],))
            if m == [b"end"]:
                break
    elif kind == "rep":
        s = sock(ctx, zmq.REP, ep, bind)
        handshake(s, "REP")
        for _ in range(3):
            m = s.recv_multipart()
            print("GOT %r" % (m,))
            s.send_multipart([b"re:" + p for p in m])
    elif kind == "req":
        s = sock(ctx, zmq.REQ, ep, bind)
        handshake(s, "REQ")
        for i in range(3):
            s.send_multipart([b"q%d" % i, b"tail"])
            print("GOT %r" % (s.recv_multipart(),))
    elif kind == "pub":
        # publishes until the test says stop on a PULL socket (slow joiner safe)
        s = sock(ctx, zmq.PUB, ep, bind)
        ctl = ctx.socket(zmq.PULL)
        ctl.bind("tcp://127.0.0.1:*")
        print("CTL %s" % ctl.last_endpoint.decode())
        handshake(s, "PUB")
        i = 0
        while i < 5000:
            s.send_multipart([b"temp", b"%d" % i])
            s.send_multipart([b"other", b"%d" % i])
            i += 1
            try:
                if ctl.recv(zmq.NOBLOCK) == b"stop":
                    break
            except zmq.Again:
                pass
            ctx.reactor.run_once(5)
    elif kind == "sub":
        s = sock(ctx, zmq.SUB, ep, bind)
        s.subscribe(b"temp")
        handshake(s, "SUB")
        for _ in range(5):
            print("GOT %r" % (s.recv_multipart(),))
    elif kind == "dealer":
        s = sock(ctx, zmq.DEALER, ep, bind)
        handshake(s, "DEALER")
        for i in range(3):
            s.send_multipart([b"", b"d%d" % i])
            print("GOT %r" % (s.recv_multipart(),))
    else:
        raise ValueError(role)
    mem("END")
    s.close()
    ctx.term()
    print("DONE")


main()
