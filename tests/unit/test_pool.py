"""core/pool.py: FramePool (fixed slots, heap fallback, counters) and
FrameQueue (a growable ring that shows readers whole messages only)."""
import pytest
from edgezmq.pool import FramePool, FrameQueue
from hypothesis import given, settings
from hypothesis import strategies as st

# -- FramePool ---------------------------------------------------------------------


def test_take_gives_distinct_slots_of_the_slot_size():
    p = FramePool(count=3, size=64)
    bufs = [p.take(n) for n in (1, 64, 0)]
    assert all(type(b) is bytearray and len(b) == 64 for b in bufs)
    assert len({id(b) for b in bufs}) == 3
    assert p.nfree == 0 and p.heap_allocs == 0 and p.exhausted == 0


def test_slots_are_made_by_fill_once_and_then_reused():
    p = FramePool(count=3, size=16)
    assert p.free == [None, None, None]  # nothing made yet: a PUSH-only program never needs them
    p.fill()
    made = list(p.free)
    assert all(type(b) is bytearray and len(b) == 16 for b in made)
    p.fill()  # made once
    assert all(a is b for a, b in zip(p.free, made))
    taken = [p.take(4) for _ in range(3)]
    assert {id(b) for b in taken} == {id(b) for b in made} and p.heap_allocs == 0
    for b in taken:
        p.give(b)
    p.fill()  # the slots given back are not made again
    assert {id(b) for b in p.free} == {id(b) for b in made}


def test_a_slot_not_filled_is_made_when_first_taken():
    p = FramePool(count=2, size=16)
    a = p.take(5)
    assert type(a) is bytearray and len(a) == 16 and p.nfree == 1 and p.heap_allocs == 0
    p.fill()  # makes only the one still free
    assert p.free[0] is not None and p.free[1] is None
    p.give(a)
    assert p.take(5) is a


def test_only_a_socket_that_receives_fills_the_pool():
    """A PUSH never gets a data frame: a device client keeps the pool's
    slots (2 KB by default on MicroPython) for itself."""
    import edgezmq as zmq

    ctx = zmq.Context(io_threads=0)
    try:
        ctx.socket(zmq.PUSH)
        assert all(b is None for b in ctx.pool.free)
        ctx.socket(zmq.PULL)
        assert all(type(b) is bytearray for b in ctx.pool.free)
    finally:
        ctx.destroy(linger=0)


def test_give_makes_the_same_slot_come_back():
    p = FramePool(count=2, size=16)
    a = p.take(10)
    p.give(a)
    assert p.take(10) is a  # a stack: the last given is the next taken


def test_steady_state_reuses_the_same_buffers():
    p = FramePool(count=4, size=32)
    seen = set()
    for _ in range(100):
        bufs = [p.take(32) for _ in range(3)]
        seen.update(id(b) for b in bufs)
        for b in bufs:
            p.give(b)
    assert len(seen) == 3 and p.nfree == 4 and p.heap_allocs == 0


def test_a_body_bigger_than_a_slot_comes_from_the_heap_and_is_counted():
    p = FramePool(count=2, size=16)
    b = p.take(17)
    assert len(b) == 17 and p.nfree == 2
    assert p.heap_allocs == 1 and p.exhausted == 0  # not exhaustion: it never fitted
    p.give(b)  # dropped: not a slot
    assert p.nfree == 2


def test_exhausted_pool_falls_back_to_the_heap_and_counts_it():
    p = FramePool(count=1, size=16)
    slot = p.take(8)
    extra = p.take(8)
    assert extra is not slot and len(extra) == 8  # sized to the body, not the slot
    assert p.exhausted == 1 and p.heap_allocs == 1


def test_without_heap_fallback_take_refuses():
    p = FramePool(count=1, size=16, heap_ok=False)
    assert p.take(16) is not None
    assert p.take(16) is None and p.exhausted == 1
    assert p.take(17) is None and p.exhausted == 1  # too big: refused, not exhaustion
    assert p.heap_allocs == 0


def test_give_keeps_only_slot_sized_bytearrays_and_never_overfills():
    p = FramePool(count=2, size=16)
    a, b = p.take(16), p.take(16)
    p.give(bytes(16))  # not a bytearray
    p.give(bytearray(15))  # not slot-sized
    assert p.nfree == 0
    p.give(a)
    p.give(b)
    p.give(bytearray(16))  # the pool is full again: dropped
    assert p.nfree == 2 and len(p.free) == 2


def test_a_slot_sized_heap_buffer_given_back_takes_a_free_place():
    p = FramePool(count=1, size=8)
    slot = p.take(8)
    heap = p.take(8)  # exhausted: from the heap, exactly slot-sized
    p.give(heap)
    assert p.nfree == 1 and p.take(8) is heap
    p.give(heap)
    p.give(slot)  # no room left: dropped, the pool never grows
    assert p.nfree == 1


def test_take_slot_empties_the_place_it_took():
    p = FramePool(count=2, size=8)
    p.take_slot()
    assert p.free[1] is None and p.nfree == 1


# -- FrameQueue --------------------------------------------------------------------------


def frames(q):
    out = []
    while q.msgs:
        buf, n, more = q.pop()
        out.append((bytes(buf[:n]), more))
    return out


def test_push_pop_in_order_with_lengths_and_more_flags():
    q = FrameQueue(cap=4)
    q.push(bytearray(b"abcXX"), 3, True)
    q.push(bytearray(b"de"), 2, False)
    assert (q.count, q.msgs, q.partial) == (2, 1, 0)
    assert frames(q) == [(b"abc", 1), (b"de", 0)]
    assert (q.count, q.msgs) == (0, 0)


def test_frames_of_an_unfinished_message_are_not_counted_as_a_message():
    q = FrameQueue()
    q.push(b"a", 1, False)
    q.push(b"b", 1, True)
    q.push(b"c", 1, True)
    assert (q.count, q.msgs, q.partial) == (3, 1, 2)
    q.push(b"d", 1, False)
    assert (q.count, q.msgs, q.partial) == (4, 2, 0)


def test_pop_reuses_one_list():
    q = FrameQueue()
    q.push(b"x", 1, False)
    q.push(b"y", 1, False)
    first = q.pop()
    assert first == [b"x", 1, 0]
    assert q.pop() is first and first == [b"y", 1, 0]


def test_drop_partial_forgets_the_tail_and_returns_its_buffers():
    pool = FramePool(count=4, size=8)
    q = FrameQueue(cap=2)
    whole = pool.take(8)
    q.push(whole, 1, False)
    tail = [pool.take(8), pool.take(8)]
    q.push(tail[0], 8, True)
    q.push(tail[1], 8, True)  # grows the ring past cap=2
    assert pool.nfree == 1
    q.drop_partial(pool)
    assert (q.count, q.msgs, q.partial) == (1, 1, 0) and pool.nfree == 3
    assert q.pop()[0] is whole
    q.drop_partial(pool)  # nothing partial: nothing happens
    assert pool.nfree == 3


def test_drop_partial_without_a_pool_just_forgets():
    q = FrameQueue()
    q.push(b"a", 1, True)
    q.drop_partial()
    assert (q.count, q.msgs, q.partial) == (0, 0, 0)
    q.push(b"b", 1, False)
    assert frames(q) == [(b"b", 0)]


def test_grow_keeps_order_across_the_wrap():
    q = FrameQueue(cap=4)
    for i in range(3):
        q.push(bytes([i]), 1, False)
    q.pop()
    q.pop()  # head is now at 2: the next pushes wrap around
    for i in range(3, 10):  # odd frames have more: 9 is left partial
        q.push(bytes([i]), 1, i % 2 == 1)
    assert len(q.bufs) == 8
    assert [f for f, _ in frames(q)] == [bytes([i]) for i in range(2, 9)]
    assert q.count == 1 and q.partial == 1


def test_clear_empties_everything():
    q = FrameQueue()
    q.push(b"a", 1, False)
    q.push(b"b", 1, True)
    q.clear()
    assert (q.count, q.msgs, q.partial) == (0, 0, 0)
    assert all(b is None for b in q.bufs)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.tuples(st.just("push"), st.binary(max_size=4), st.booleans()),
                          st.just(("pop",)), st.just(("drop",))), max_size=60),
       st.integers(1, 5))
def test_matches_a_list_of_messages(ops, cap):
    """Against a plain model: complete messages in order, a tail held back."""
    q = FrameQueue(cap=cap)
    done, tail = [], []  # model: frames of complete messages, frames arriving
    for op in ops:
        if op[0] == "push":
            _, data, more = op
            q.push(data, len(data), more)
            tail.append((data, 1 if more else 0))
            if not more:
                done.extend(tail)
                tail = []
        elif op[0] == "pop" and q.msgs:
            buf, n, more = q.pop()
            assert (bytes(buf[:n]), more) == done.pop(0)
        elif op[0] == "drop":
            q.drop_partial()
            tail = []
        assert q.msgs == sum(1 for _, m in done if not m)
        assert q.count == len(done) + len(tail) and q.partial == len(tail)


@pytest.mark.parametrize("cap", [1, 2, 8])
def test_any_start_capacity_holds_any_number(cap):
    q = FrameQueue(cap=cap)
    for i in range(50):
        q.push(i.to_bytes(1, "big"), 1, False)
    assert [f for f, _ in frames(q)] == [i.to_bytes(1, "big") for i in range(50)]
