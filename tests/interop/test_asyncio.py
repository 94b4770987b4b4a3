"""edgezmq.asyncio beside zmq.asyncio: the same coroutine runs under both
(`lib` is the module under test) and must observe the same things. Where a
peer is needed it is a pyzmq socket, the real libzmq."""
import asyncio
import json

import edgezmq
import edgezmq.asyncio
import pytest
import zmq
import zmq.asyncio

LIBS = {"pyzmq": (zmq, zmq.asyncio), "edgezmq": (edgezmq, edgezmq.asyncio)}


@pytest.fixture(params=sorted(LIBS))
def lib(request):
    """(sync module, asyncio module, asyncio Context) of the library under test."""
    z, za = LIBS[request.param]
    ctx = za.Context()
    yield z, za, ctx
    ctx.destroy(linger=0)


@pytest.fixture
def peer():
    """A pyzmq context for the libzmq side."""
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


def pull_from_pyzmq(lib, peer):
    """(pyzmq PUSH, lib's asyncio PULL) connected over tcp."""
    z, za, ctx = lib
    push = peer.socket(zmq.PUSH)
    push.linger = 0
    port = push.bind_to_random_port("tcp://127.0.0.1")
    pull = ctx.socket(z.PULL)
    pull.linger = 0
    pull.connect("tcp://127.0.0.1:%d" % port)
    return push, pull


def test_context_and_sockets_are_the_asyncio_classes(lib):
    z, za, ctx = lib
    s = ctx.socket(z.PUSH)
    assert isinstance(s, za.Socket)
    assert type(za.Context.instance()) is za.Context
    assert type(z.Context.instance()) is z.Context
    s.close()


def test_recv_returns_a_pending_future_then_the_message(lib, peer):
    push, pull = pull_from_pyzmq(lib, peer)

    async def main():
        f = pull.recv_multipart()
        assert isinstance(f, asyncio.Future)
        assert not f.done()
        push.send_multipart([b"hi", b"there"])
        return await f

    assert run(main()) == [b"hi", b"there"]


def test_pending_recvs_finish_in_call_order(lib, peer):
    push, pull = pull_from_pyzmq(lib, peer)

    async def main():
        f1, f2 = pull.recv(), pull.recv()
        push.send(b"one")
        push.send(b"two")
        return await f1, await f2

    assert run(main()) == (b"one", b"two")


def test_cancelled_recv_leaves_the_message_for_the_next(lib, peer):
    push, pull = pull_from_pyzmq(lib, peer)

    async def main():
        f1 = pull.recv()
        f2 = pull.recv_json()
        assert f1.cancel()
        assert f2.cancel()
        await asyncio.sleep(0)
        push.send(json.dumps({"a": 5}).encode())
        with pytest.raises(asyncio.CancelledError):
            await f2
        return await pull.recv_json()

    assert run(main()) == {"a": 5}


def test_done_callbacks_run(lib, peer):
    push, pull = pull_from_pyzmq(lib, peer)

    async def main():
        got = []
        f = pull.recv_string()
        f.add_done_callback(lambda fut: got.append(fut.result()))
        push.send("πø".encode())
        await f
        await asyncio.sleep(0)
        return got

    assert run(main()) == ["πø"]


def test_conveniences_round_trip_through_libzmq(lib, peer):
    """send_*/recv_* of every kind, to a pyzmq PAIR that echoes."""
    z, za, ctx = lib
    echo = peer.socket(zmq.PAIR)
    echo.linger = 0
    port = echo.bind_to_random_port("tcp://127.0.0.1")
    s = ctx.socket(z.PAIR)
    s.linger = 0
    s.connect("tcp://127.0.0.1:%d" % port)

    async def bounce(send, recv):
        await send
        echo.send_multipart(echo.recv_multipart())
        return await recv

    async def main():
        out = [
            await bounce(s.send(b"raw"), s.recv()),
            await bounce(s.send_string("str"), s.recv_string()),
            await bounce(s.send_json({"j": [1, 2]}), s.recv_json()),
            await bounce(s.send_pyobj({"p": (1, 2)}), s.recv_pyobj()),
            await bounce(s.send_multipart([b"a", b"b"]), s.recv_multipart()),
            await bounce(s.send_serialized({"x": 1}, lambda m: [json.dumps(m).encode()]),
                         s.recv_serialized(lambda fr: json.loads(fr[0]))),
        ]
        buf = bytearray(2)
        await s.send(b"into")
        echo.send(echo.recv())
        out.append((await s.recv_into(buf), bytes(buf)))
        return out

    assert run(main()) == [b"raw", "str", {"j": [1, 2]}, {"p": (1, 2)}, [b"a", b"b"], {"x": 1}, (4, b"in")]
    s.close()


def test_rcvtimeo_fails_the_future_with_again(lib):
    z, za, ctx = lib
    s = ctx.socket(z.PULL)
    s.bind("tcp://127.0.0.1:*")
    s.rcvtimeo = 100

    async def main():
        f = s.recv()
        assert not f.done()
        with pytest.raises(z.Again):
            await f

    run(main())
    s.close(linger=0)


def test_sndtimeo_fails_the_future_with_again(lib):
    z, za, ctx = lib
    s = ctx.socket(z.PUSH)  # no peer: nothing can be sent
    s.sndtimeo = 100

    async def main():
        with pytest.raises(z.Again):
            await s.send(b"nowhere")

    run(main())
    s.close(linger=0)


def test_dontwait_recv_is_done_at_once(lib, peer):
    z, za, ctx = lib
    push, pull = pull_from_pyzmq(lib, peer)

    async def main():
        f = pull.recv(z.DONTWAIT)
        assert f.done()
        with pytest.raises(z.Again):
            f.result()
        push.send(b"ping")
        assert await pull.poll(5000) == z.POLLIN
        f = pull.recv(z.DONTWAIT)
        assert f.done()
        return f.result()

    assert run(main()) == b"ping"


def test_socket_poll_timeout_and_event(lib, peer):
    z, za, ctx = lib
    push, pull = pull_from_pyzmq(lib, peer)

    async def main():
        assert await pull.poll(timeout=0) == 0
        assert await pull.poll(timeout=10) == 0
        f = pull.poll(timeout=5000)
        assert not f.done()
        push.send(b"x")
        return await f

    assert run(main()) == zmq.POLLIN


def test_poller_future_over_sockets_and_a_raw_fd(lib, peer):
    import socket as pysocket

    z, za, ctx = lib
    push, pull = pull_from_pyzmq(lib, peer)
    r, w = pysocket.socketpair()

    async def main():
        p = za.Poller()
        p.register(pull, z.POLLIN)
        p.register(r, z.POLLIN)
        f = p.poll(5000)
        assert isinstance(f, asyncio.Future) and not f.done()
        w.send(b"x")
        first = dict(await f)
        push.send(b"m")
        await asyncio.sleep(0.2)
        second = dict(await p.poll(5000))
        return first, second

    first, second = run(main())
    assert first == {r.fileno(): zmq.POLLIN}
    assert second == {pull: zmq.POLLIN, r.fileno(): zmq.POLLIN}
    r.close()
    w.close()


def test_close_cancels_pending_futures(lib):
    z, za, ctx = lib
    s = ctx.socket(z.PULL)
    s.bind("tcp://127.0.0.1:*")

    async def main():
        f = s.recv()
        p = s.poll(timeout=5000)
        await asyncio.sleep(0)
        s.close(linger=0)
        for _ in range(5):
            await asyncio.sleep(0)
        return f.cancelled(), p.cancelled()

    assert run(main()) == (True, True)


def test_async_view_of_a_blocking_socket(lib, peer):
    z, za, ctx = lib
    push = peer.socket(zmq.PUSH)
    push.linger = 0
    port = push.bind_to_random_port("tcp://127.0.0.1")
    plain = z.Context.instance().socket(z.PULL)
    plain.linger = 0
    plain.connect("tcp://127.0.0.1:%d" % port)
    view = za.Socket.from_socket(plain)

    async def main():
        push.send(b"via view")
        return await view.recv()

    assert view.type == z.PULL
    assert run(main()) == b"via view"
    plain.close()
