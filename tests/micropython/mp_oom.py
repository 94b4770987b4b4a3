# MicroPython side of tests/micropython/test_oom_micropython.py: a device that is
# driven through stdin and runs out of memory on command (micropython.heap_lock()).
#
#   micropython mp_oom.py [HEARTBEAT_IVL_MS [PUSH_ENDPOINT]]
#
# Serves a ROUTER (echo: [id, *parts] -> [id, b"re", *parts]) and a PULL (each
# message printed as "PULLED <repr>"), both bound on tcp; HEARTBEAT_IVL_MS > 0
# sets the PULL's heartbeats (its engines' timers then allocate a PING each).
# With PUSH_ENDPOINT, a PUSH connects there ("push TEXT" sends TEXT).
# Prints "ROUTER <ep>" and "PULL <ep>", then takes one command per line:
#   lock        heap_lock(), then run the reactor (nothing else) until the next
#               line arrives on stdin, then heap_unlock() and print "UNLOCKED ..."
#               (MemoryErrors that escaped run_once, recv_into calls that
#               returned, engines left on each socket when the heap was unlocked)
#   lockread    the same, but the application also reads the PULL with
#               recv_into (what reads the last message runs Pattern._prune)
#   hold        stop reading the PULL between commands (its messages wait): "HELD"
#   release     read it again
#   push TEXT   send TEXT on the PUSH (it waits in the socket while not connected)
#   lockpush N  the same, and push.send() of N bytes while locked (sent=1 if it
#               returned, 0 if it raised MemoryError)
#   status      print "STATUS <repr of a dict>" (engines, pipes, stats)
#   quit        close everything, print "DONE"
# Between commands the device serves both sockets. "LOCKED" is printed before
# the heap is locked, so the test knows when to act.
import select
import sys

import edgezmq as zmq
import micropython

hb = int(sys.argv[1]) if len(sys.argv) > 1 else 0
ctx = zmq.Context()
router = ctx.socket(zmq.ROUTER)
router.linger = 0
router.bind("tcp://127.0.0.1:*")
pull = ctx.socket(zmq.PULL)
pull.linger = 0
if hb:
    pull.heartbeat_ivl = hb
pull.bind("tcp://127.0.0.1:*")
push = None
if len(sys.argv) > 2:
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.connect(sys.argv[2])
print("ROUTER %s" % router.last_endpoint.decode())
print("PULL %s" % pull.last_endpoint.decode())
stdin = select.poll()
stdin.register(sys.stdin, select.POLLIN)
buf = bytearray(256)
hold = False


def command():
    """The next line of stdin, or None when none is waiting."""
    for _ in stdin.ipoll(0):
        return sys.stdin.readline().strip()
    return None


def serve():
    while True:
        try:
            m = router.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            break
        router.send_multipart([m[0], b"re"] + m[1:])
    while not hold:
        try:
            m = pull.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            break
        print("PULLED %r" % (m,))


def locked(read, send=None):
    """Out of memory until stdin has a line: only the reactor runs (and, with
    read, recv_into on the PULL; with send, one push.send(send) first).
    Nothing here allocates by itself; what raises comes from edgezmq, and
    edgezmq must not let it out of run_once."""
    escaped = 0
    got = 0
    sent = -1
    react = ctx.reactor.run_once
    pending = stdin.ipoll
    print("LOCKED")
    micropython.heap_lock()
    try:
        if send is not None:
            try:
                push.send(send)
                sent = 1
            except MemoryError:
                sent = 0  # the application is told; the socket must stay usable
        while True:
            try:
                react(10)
            except MemoryError:
                escaped += 1  # counted, and reported after the unlock
            if read:
                try:
                    pull.recv_into(buf, 0, zmq.NOBLOCK)
                    got += 1
                except Exception:  # Again, or a MemoryError raising it
                    pass
            wake = False
            for _ in pending(0):
                wake = True
            if wake:
                break
        nr = len(router.engines)  # what is left, counted before the unlock
        np = len(pull.engines)
    finally:
        micropython.heap_unlock()
    sys.stdin.readline()
    print("UNLOCKED escaped=%d read=%d router=%d pull=%d sent=%d" % (escaped, got, nr, np, sent))


def status():
    live = [p for p in pull.pattern.pipes if p.active]
    return {
        "router_engines": len(router.engines), "pull_engines": len(pull.engines),
        "pull_pipes": len(pull.pattern.pipes), "pull_live": len(live),
        "pull_queued": sum(p.inq.msgs for p in pull.pattern.pipes),
        "router": router.stats, "pull": pull.stats,
        "push_engines": len(push.engines) if push else 0, "push": push.stats if push else None,
    }


while True:
    cmd = command()
    if cmd == "lock":
        locked(False)
    elif cmd == "lockread":
        locked(True)
    elif cmd and cmd.startswith("lockpush "):
        locked(False, b"y" * int(cmd[9:]))
    elif cmd == "hold":
        hold = True
        print("HELD")
    elif cmd == "release":
        hold = False
    elif cmd and cmd.startswith("push "):
        push.send(cmd[5:].encode())
        print("PUSHED")
    elif cmd == "status":
        print("STATUS %r" % (status(),))
    elif cmd == "quit":
        break
    elif cmd:
        print("UNKNOWN %s" % cmd)
    ctx.reactor.run_once(10)
    serve()
router.close()
pull.close()
if push:
    push.close()
ctx.term()
print("DONE")
