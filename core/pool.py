"""Fixed-size frame buffers per context, made once and reused.

Received bodies that fit a slot land in a pool buffer and go back to the pool
once the application copied them out (recv_into) or took them (recv), so a
steady stream of small messages reuses the same memory. Bigger bodies come
from the heap where the port allows it (CPython) and are counted.
"""


class FramePool:
    """`free[0:nfree]` is a stack of unused slots: taking and giving back
    only moves an index, so the steady state allocates nothing (a list that
    shrank and grew again would reallocate on MicroPython)."""

    def __init__(self, count=16, size=1024, heap_ok=True):
        self.size = size
        self.heap_ok = heap_ok
        # slots are made by fill(), when the first socket that receives data
        # frames is made (a device's PUSH never needs them), or on first use
        self.free = [None] * count
        self.nfree = count
        self.heap_allocs = 0
        self.exhausted = 0
        self.stalled = []  # engines waiting for a free slot (their input held back)

    def take(self, n):
        """A buffer for n bytes: a pool slot, a heap buffer, or None (refused)."""
        if n <= self.size and self.nfree:
            return self.take_slot()
        if self.heap_ok:
            if n <= self.size:
                self.exhausted += 1
            self.heap_allocs += 1
            return bytearray(n)
        if n <= self.size:
            self.exhausted += 1
        return None

    def fill(self):
        """Make the free slots not made yet (a MemoryError keeps those made)."""
        free = self.free
        for k in range(self.nfree):
            if free[k] is None:
                free[k] = bytearray(self.size)

    def take_slot(self):
        """A free slot (the caller checked nfree)."""
        k = self.nfree - 1
        buf = self.free[k]
        if buf is None:
            buf = bytearray(self.size)  # not filled (a MemoryError here changes nothing)
        else:
            self.free[k] = None
        self.nfree = k
        return buf

    def give(self, buf):
        """Return a buffer; heap buffers are simply dropped."""
        k = self.nfree
        if len(buf) == self.size and type(buf) is bytearray and k < len(self.free):
            self.free[k] = buf
            self.nfree = k + 1


class FrameQueue:
    """A growable ring of (buffer, length, more) frames; counts whole messages.

    Only whole messages are visible to readers (`msgs`): the frames of a
    message still arriving are held back, and dropped if the peer dies.
    pop() returns one reused [buf, n, more] list (no tuple per frame):
    unpack it before the next pop. A queue with a first whole message
    appends its owner (pipe) to `ready`, its pattern's ready list, once
    (`listed` until the pattern takes it off).
    """

    ready = None
    owner = None
    listed = False

    def __init__(self, cap=8):
        self.bufs = [None] * cap
        self.lens = [0] * cap
        self.more = bytearray(cap)
        self.head = 0
        self.count = 0  # frames stored
        self.msgs = 0  # complete messages stored
        self.partial = 0  # frames of the message still arriving
        self.got = [None, 0, 0]

    def push(self, buf, n, more):
        bufs = self.bufs
        c = self.count
        cap = len(bufs)
        if c == cap:
            self._grow()
            bufs = self.bufs
            cap = len(bufs)
        if not more and not self.listed and self.ready is not None:
            # listed before it is stored: out of heap, nothing is (a whole
            # message queued but not on the ready list would never be read)
            self.ready.append(self.owner)
            self.listed = True
        i = self.head + c
        if i >= cap:
            i -= cap
        bufs[i] = buf
        self.lens[i] = n
        self.count = c + 1
        if more:
            self.more[i] = 1
            self.partial += 1
        else:
            self.more[i] = 0
            self.partial = 0
            self.msgs += 1

    def _grow(self):
        """Twice the room, the frames moved to the front."""
        cap = len(self.bufs)
        order = [(self.head + k) % cap for k in range(self.count)]
        self.bufs = [self.bufs[i] for i in order] + [None] * (2 * cap - self.count)
        self.lens = [self.lens[i] for i in order] + [0] * (2 * cap - self.count)
        more = bytearray(2 * cap)
        for k, i in enumerate(order):
            more[k] = self.more[i]
        self.more = more
        self.head = 0

    def pop(self):
        """-> [buf, n, more] of the oldest frame of a complete message."""
        i = self.head
        got = self.got
        bufs = self.bufs
        got[0] = bufs[i]
        bufs[i] = None
        got[1] = self.lens[i]
        more = got[2] = self.more[i]
        i += 1
        self.head = 0 if i == len(bufs) else i
        self.count -= 1
        if not more:
            self.msgs -= 1
        return got

    def drop_partial(self, pool=None):
        """Forget the frames of an unfinished message (its peer went away);
        their buffers go back to `pool` when given."""
        cap = len(self.bufs)
        while self.partial:
            self.partial -= 1
            self.count -= 1
            i = (self.head + self.count) % cap
            if pool is not None and self.bufs[i] is not None:
                pool.give(self.bufs[i])
            self.bufs[i] = None

    def clear(self):
        while self.count:
            self.pop()
        self.msgs = 0
        self.partial = 0
