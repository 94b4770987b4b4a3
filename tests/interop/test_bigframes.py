"""Big frames take the few-copies paths: sent from the caller's buffer with
sendmsg (Engine.write_frame), received straight into the body's buffer
(FrameDecoder.body_view). What arrives must be exactly what was sent,
whatever the socket took at once, and whoever is at the other end."""
import threading

import pytest
from support import wait_connected

zmq = pytest.importorskip("zmq")
import edgezmq  # noqa: E402
from edgezmq.session import GATHER  # noqa: E402

pytestmark = pytest.mark.fastpath  # frame scanning of big frames (body_view): also run with EDGEZMQ_PURE=1

SIZES = [GATHER - 1, GATHER, GATHER + 1, 300001, (1 << 20) + 5, 3 << 20]


def body(size, seed):
    return bytes((i * 31 + seed) & 0xFF for i in range(251)) * (size // 251) + bytes(size % 251)


def messages():
    """Single and multipart messages mixing small and big frames, as bytes,
    bytearray and memoryview."""
    out = []
    for k, size in enumerate(SIZES):
        b = body(size, k)
        out.append([b])
        out.append([b"head", bytearray(b), b"tail"])
        out.append([memoryview(b)[3:], b""])
    return out


def expected(msgs):
    return [[bytes(p) for p in m] for m in msgs]


def bind_port(sock):
    sock.bind("tcp://127.0.0.1:*")
    ep = sock.last_endpoint
    return int((ep.decode() if isinstance(ep, bytes) else ep).rsplit(":", 1)[1])


def test_big_frames_edgezmq_to_pyzmq_with_a_late_reader(pz):
    """The reader starts after everything was sent: the socket fills, so some
    frames go out partly from the caller's buffer and partly from tx (the I/O
    thread writes the rest)."""
    ctx = edgezmq.Context(io_threads=1)
    try:
        pull = pz.socket(zmq.PULL)
        pull.rcvtimeo = 20000
        port = bind_port(pull)
        push = ctx.socket(edgezmq.PUSH)
        push.connect("tcp://127.0.0.1:%d" % port)
        msgs = messages()
        for m in msgs:
            push.send_multipart(m)
        got = [pull.recv_multipart() for _ in msgs]
        assert got == expected(msgs)
        push.close()
        pull.close(linger=0)
    finally:
        ctx.destroy(linger=0)


def test_big_frames_edgezmq_to_pyzmq_cooperative(pz):
    """Cooperative mode writes only inside calls: a reader thread takes the
    messages while the sender sends, and term() flushes the rest per LINGER."""
    ctx = edgezmq.Context(io_threads=0)
    pull = pz.socket(zmq.PULL)
    pull.rcvtimeo = 20000
    port = bind_port(pull)
    msgs = messages()
    got = []
    reader = threading.Thread(target=lambda: got.extend(pull.recv_multipart() for _ in msgs))
    reader.start()
    try:
        push = ctx.socket(edgezmq.PUSH)
        push.connect("tcp://127.0.0.1:%d" % port)
        for m in msgs:
            push.send_multipart(m)
        push.close()
        ctx.term()
    finally:
        reader.join(30)
        pull.close(linger=0)
    assert got == expected(msgs)


def test_a_mutable_buffer_changed_after_send_is_sent_as_it_was(pz):
    ctx = edgezmq.Context(io_threads=0)
    try:
        pull = pz.socket(zmq.PULL)
        pull.rcvtimeo = 20000
        push = ctx.socket(edgezmq.PUSH)
        push.connect("tcp://127.0.0.1:%d" % bind_port(pull))
        wait_connected(push)  # cooperative: the handshake runs inside edgezmq calls
        buf = bytearray(body(4 << 20, 7))
        want = bytes(buf)
        push.send(buf)
        buf[:] = bytes(len(buf))  # the socket cannot have taken 4 MiB yet
        push.send(b"end")
        assert pull.recv() == want
        assert pull.recv() == b"end"
        push.close()
        pull.close(linger=0)
    finally:
        ctx.destroy(linger=0)


@pytest.mark.parametrize("sender", ["pyzmq", "edgezmq"])
def test_big_frames_into_edgezmq(pz, sender):
    ctx = edgezmq.Context()
    try:
        pull = ctx.socket(edgezmq.PULL)
        pull.rcvtimeo = 20000
        port = bind_port(pull)
        push = (pz if sender == "pyzmq" else ctx).socket(zmq.PUSH)
        push.connect("tcp://127.0.0.1:%d" % port)
        msgs = messages()
        for m in msgs:
            push.send_multipart([bytes(p) for p in m])
        got = [pull.recv_multipart() for _ in msgs]
        assert got == expected(msgs)
        # recv_into a buffer smaller than a big frame truncates as libzmq does
        push.send(body(GATHER * 2, 3))
        small = bytearray(1000)
        assert pull.recv_into(small) == GATHER * 2
        assert bytes(small) == body(GATHER * 2, 3)[:1000]
        push.close(linger=0)
        pull.close()
    finally:
        ctx.destroy(linger=0)
