"""The three registries: a socket type, a transport and a mechanism, each added
by this file alone (no change to edgezmq), then used end to end over tcp."""
import types

import edgezmq as zmq
import pytest
from edgezmq import patterns, security, transports
from edgezmq.errors import ProtocolError
from edgezmq.patterns.simple import Pair
from edgezmq.security.mechanism import Mechanism, command, split_command
from edgezmq.transports import tcp
from edgezmq.zmtp import metadata

T = 5000

# -- a socket type: HUB, a PAIR that talks only to HUBs -----------------------------
HUB = 77


class Hub(Pair):
    """A test-only policy: PAIR's, under another name."""


patterns.register(HUB, "HUB", Hub, peers=(HUB,), queues_on_connect=True)


def _sock(ctx, kind):
    s = ctx.socket(kind)
    s.linger = 0
    s.rcvtimeo = T
    s.sndtimeo = T
    return s


def test_a_registered_socket_type_talks_to_its_kind(ezctx):
    a = _sock(ezctx, HUB)
    b = _sock(ezctx, HUB)
    a.bind("tcp://127.0.0.1:*")
    b.connect(a.last_endpoint)
    b.send(b"ping")  # queued on connect, as the row says
    assert a.recv() == b"ping"
    a.send_multipart([b"pong", b"2"])
    assert b.recv_multipart() == [b"pong", b"2"]
    assert "(zmq.HUB)" in repr(a)


def test_a_registered_socket_type_refuses_other_types(ezctx):
    a = _sock(ezctx, HUB)
    a.bind("tcp://127.0.0.1:*")
    push = _sock(ezctx, zmq.PUSH)
    push.connect(a.last_endpoint)
    push.send(b"x")
    assert a.poll(300) == 0
    assert a.get_stats()["handshake_failures"] >= 1


def test_unknown_socket_type_is_einval(ezctx):
    with pytest.raises(zmq.ZMQError) as e:
        ezctx.socket(99)
    assert e.value.errno == zmq.EINVAL


# -- a transport: loop://PORT, tcp on 127.0.0.1 under its own scheme -------------------
def _loop_parse(rest, binding):
    return tcp.parse("127.0.0.1:" + rest, binding)


transports.register("loop", types.SimpleNamespace(parse=_loop_parse, bind=tcp.bind, connect=tcp.connect))


def test_a_registered_transport_binds_and_connects(ezctx):
    pull = _sock(ezctx, zmq.PULL)
    pull.bind("loop://*")
    port = pull.last_endpoint.decode().rsplit(":", 1)[1]
    push = _sock(ezctx, zmq.PUSH)
    push.connect("loop://" + port)
    push.send(b"over loop://")
    assert pull.recv() == b"over loop://"


def test_unknown_transport_is_eprotonosupport(ezctx):
    s = _sock(ezctx, zmq.PUSH)
    with pytest.raises(zmq.ZMQError) as e:
        s.connect("nope://x")
    assert e.value.errno == zmq.EPROTONOSUPPORT


# -- a mechanism: TOY, a shared word instead of a password ---------------------------
TOY = 7
WORD = b"open sesame"


class Toy(Mechanism):
    """Client: HELLO(word); server: READY if the word is right, then the
    client's READY. Both carry the metadata, as NULL's READY does."""

    name = b"TOY"

    def start(self):
        if not self.as_server:
            self.out.append(command(b"HELLO", bytes((len(self.config.plain_password),)) + self.config.plain_password))

    def on_command(self, body):
        name, data = split_command(body)
        if self.as_server and name == b"HELLO":
            if bytes(data[1 : 1 + data[0]]) != WORD:
                raise ProtocolError("TOY: wrong word")
            self.out.append(command(b"READY", metadata.encode(self.local_meta)))
        elif name == b"READY":
            self.peer_meta = metadata.parse(data)
            if not self.as_server:
                self.out.append(command(b"READY", metadata.encode(self.local_meta)))
            self.ready = True
        else:
            raise ProtocolError("TOY: unexpected %r" % name)


security.register(TOY, b"TOY", Toy, server_option="plain_server")


def _toy(ctx, kind, server=False, word=WORD):
    s = _sock(ctx, kind)
    s.options.mechanism = TOY  # a test-only entry: no setsockopt selects it
    s.options.plain_server = 1 if server else 0
    s.options.plain_password = word
    return s


def test_a_registered_mechanism_runs_its_handshake(ezctx):
    rep = _toy(ezctx, zmq.REP, server=True)
    rep.bind("tcp://127.0.0.1:*")
    req = _toy(ezctx, zmq.REQ)
    req.connect(rep.last_endpoint)
    req.send(b"question")
    assert rep.recv() == b"question"
    rep.send(b"answer")
    assert req.recv() == b"answer"


def test_a_registered_mechanism_refuses_a_wrong_word(ezctx):
    pull = _toy(ezctx, zmq.PULL, server=True)
    pull.bind("tcp://127.0.0.1:*")
    push = _toy(ezctx, zmq.PUSH, word=b"wrong")
    push.connect(pull.last_endpoint)
    push.send(b"x")
    assert pull.poll(300) == 0
    assert pull.get_stats()["handshake_failures"] >= 1
