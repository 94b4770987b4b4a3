"""The command line against real libzmq peers (pyzmq): `edgezmq sub/pub/req/rep`
run as subprocesses, as a person or a script runs them; the test checks
the bytes the pyzmq peer gets, what the command prints, and its exit code.

A pyzmq socket only does its I/O while its thread is inside a zmq call
(a bound SUB sends its subscription to a connecting publisher then, for
one), so the pyzmq side receives in a thread while the command runs."""
import json
import os
import re
import signal
import subprocess
import sys
import threading

import pytest
from support import free_port

zmq = pytest.importorskip("zmq")

WAIT = 30  # seconds a command, or a pyzmq receive (RCVTIMEO), may take before the test gives up


def edgezmq(*args, stdin=None, env=None):
    """Run `python -m edgezmq ARGS...` to the end: -> CompletedProcess (bytes)."""
    return subprocess.run([sys.executable, "-m", "edgezmq", *args], input=stdin, capture_output=True,
                          timeout=WAIT, env=env)


# `python -m edgezmq`, with Python's own SIGINT handler: the test runner may
# ignore SIGINT (a shell's background job does) and a child inherits that, so
# Ctrl-C would never reach the command as KeyboardInterrupt
_MAIN_WITH_SIGINT = ("import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
                     "runpy.run_module('edgezmq', run_name='__main__', alter_sys=True)")


def start(*args):
    # faulthandler: a command that hangs can be made to print every thread's stack (exit_code)
    env = dict(os.environ, PYTHONFAULTHANDLER="1")
    return subprocess.Popen([sys.executable, "-c", _MAIN_WITH_SIGINT, *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def exit_code(proc):
    """proc's exit code within WAIT seconds; a command still running then fails
    the test with its threads' stacks (SIGABRT: faulthandler prints them)."""
    try:
        return proc.wait(WAIT)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        pytest.fail("still running after %d s:\n%s" % (WAIT, err.decode(errors="replace")[-8000:]))


def in_thread(fn):
    """Run fn() in a thread; -> a join() that returns fn's result (or raises its exception)."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()

    def join():
        t.join(WAIT + 15)  # longer than the peer's RCVTIMEO: the thread ends before its socket closes
        assert not t.is_alive(), "the pyzmq peer is still waiting"
        if "error" in box:
            raise box["error"]
        return box.get("value")

    return join


def tcp(sock):
    """Bind a pyzmq socket to a free localhost port: -> its endpoint."""
    return "tcp://127.0.0.1:%d" % sock.bind_to_random_port("tcp://127.0.0.1")


def publish_until(pub, done, messages):
    """Publish messages(n) for n = 0, 1, ... until done is set (a late subscriber misses the first)."""
    def run():
        n = 0
        while not done.is_set():
            pub.send_multipart(messages(n))
            n += 1
            done.wait(0.02)
    return in_thread(run)


# -- the command set -----------------------------------------------------------

def test_help_lists_exactly_the_commands_that_exist():
    from edgezmq.cli import COMMANDS

    r = edgezmq("--help")
    assert r.returncode == 0
    listed = re.findall(r"^  (\w+) ", r.stdout.decode(), re.M)
    assert listed == list(COMMANDS)
    assert {"sub", "pub", "req", "rep", "keygen", "gateway", "bundle", "demo", "bench"} == set(listed)
    for name in listed:  # each one is there: its own --help works
        h = edgezmq(name, "--help")
        assert h.returncode == 0, (name, h.stderr)
        assert b"usage: edgezmq " + name.encode() in h.stdout
    bad = edgezmq("nosuchcommand")
    assert bad.returncode == 2 and b"unknown command" in bad.stderr


@pytest.mark.parametrize("pure", ["0", "1"])
def test_version_says_the_python_and_the_fast_paths(pure):
    import edgezmq as ez
    from edgezmq.ports.cpython import zmtpfast

    r = edgezmq("--version", env=dict(os.environ, EDGEZMQ_PURE=pure))
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert out.startswith("edgezmq %s\n" % ez.__version__)
    assert "Python %d.%d.%d (CPython)" % sys.version_info[:3] in out
    built = zmtpfast._lib is not None or zmtpfast.load()
    if pure == "1":
        assert "fast paths: off (EDGEZMQ_PURE=1" in out
    else:
        assert ("fast paths: on" in out) == built


# -- sub -----------------------------------------------------------------------

def test_sub_prints_the_topics_asked_for(pz):
    pub = pz.socket(zmq.PUB)
    ep = tcp(pub)
    done = threading.Event()
    joined = publish_until(pub, done, lambda n: [b"temp" if n % 2 else b"humidity",
                                                 json.dumps({"seq": n, "c": 21.5}).encode()])
    try:
        r = edgezmq("sub", ep, "--topic", "temp", "--count", "3", "--timeout", "10000")
    finally:
        done.set()
        joined()
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    seqs = [int(s) for s in re.findall(r'^temp \{\n  "seq": (\d+),\n  "c": 21\.5\n\}$', out, re.M)]
    assert len(seqs) == 3 and out.count("\n") == 3 * 4, out
    assert all(s % 2 for s in seqs) and seqs == sorted(seqs)  # only "temp", in order
    assert "humidity" not in out


def test_sub_binds_and_shows_binary_frames_escaped(pz):
    # tcp, not ipc: libzmq's ctx.destroy() hung now and then (3 runs in 8)
    # on a PUB still redialling an ipc path whose listener had gone
    ep = "tcp://127.0.0.1:%d" % free_port()
    proc = start("sub", ep, "--bind", "--count", "2", "--format", "line", "--timeout", "10000")
    pub = pz.socket(zmq.PUB)
    pub.connect(ep)  # libzmq retries until the command has bound
    done = threading.Event()
    joined = publish_until(pub, done, lambda n: [b"bin", b"\x00\x01\xff\n", b'{"a": [1, 2]}'])
    try:
        out, err = proc.communicate(timeout=WAIT)
    finally:
        done.set()
        joined()
        pub.close(linger=0)
        proc.kill()
    assert proc.returncode == 0, err
    assert out == b'bin \\x00\\x01\\xff\\n {"a": [1, 2]}\n' * 2


def test_sub_times_out_with_exit_1(pz):
    pub = pz.socket(zmq.PUB)
    r = edgezmq("sub", tcp(pub), "--timeout", "300")
    assert r.returncode == 1
    assert r.stdout == b"" and b"timed out" in r.stderr


def test_sub_interrupted_exits_130(pz):
    pub = pz.socket(zmq.PUB)
    ep = tcp(pub)
    proc = start("sub", ep)
    done = threading.Event()
    joined = publish_until(pub, done, lambda n: [b"tick"])
    try:
        assert proc.stdout.readline() == b"tick\n"  # running, and subscribed
        proc.send_signal(signal.SIGINT)
        assert exit_code(proc) == 130
    finally:
        done.set()
        joined()
        proc.kill()
        proc.communicate()


# -- pub -----------------------------------------------------------------------

def subscriber(pz, n, connect=None):
    """A pyzmq SUB (bound, or connected to `connect`) receiving n messages in a thread."""
    sub = pz.socket(zmq.SUB)
    sub.subscribe(b"")
    sub.rcvtimeo = WAIT * 1000
    ep = tcp(sub) if connect is None else connect
    if connect is not None:
        sub.connect(connect)
    return ep, in_thread(lambda: [sub.recv_multipart() for _ in range(n)])


def test_pub_arguments_are_one_multipart_message(pz):
    ep, received = subscriber(pz, 2)
    r = edgezmq("pub", ep, "set", "led on", "--count", "2", "--wait-sub", "--timeout", "10000")
    assert r.returncode == 0, r.stderr
    assert received() == [[b"set", b"led on"]] * 2
    assert r.stdout == b""


def test_pub_sends_stdin_lines_with_a_topic(pz):
    ep, received = subscriber(pz, 3)
    r = edgezmq("pub", ep, "--topic", "temp", "--separator", ",", "--wait-sub", "--timeout", "10000",
                stdin=b'21.5\n{"c": 22},x\r\n\n')
    assert r.returncode == 0, r.stderr
    assert received() == [[b"temp", b"21.5"], [b"temp", b'{"c": 22}', b"x"], [b"temp", b""]]


def test_pub_binds(pz, tmp_path):
    ep = "ipc://%s" % (tmp_path / "pub.ipc")
    proc = subprocess.Popen([sys.executable, "-m", "edgezmq", "pub", ep, "--bind", "--wait-sub",
                             "--timeout", "10000", "hello"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _, received = subscriber(pz, 1, connect=ep)
        assert received() == [[b"hello"]]
        assert proc.wait(WAIT) == 0
    finally:
        proc.kill()
        proc.communicate()


def test_pub_waits_delay_for_the_slow_joiner(pz):
    """Without --wait-sub, pub pauses --delay ms after connecting: the time
    libzmq needs to accept the connection and send the subscription back."""
    ep, received = subscriber(pz, 1)
    r = edgezmq("pub", ep, "--delay", "2000", "after the pause")
    assert r.returncode == 0, r.stderr
    assert received() == [[b"after the pause"]]


def test_pub_without_a_subscriber_times_out(pz):
    sub = pz.socket(zmq.PULL)  # listens, but never subscribes
    r = edgezmq("pub", tcp(sub), "--wait-sub", "--timeout", "300", "lost")
    assert r.returncode == 1 and b"timed out" in r.stderr


# -- req and rep ---------------------------------------------------------------

def test_req_prints_the_reply_readably(pz):
    rep = pz.socket(zmq.REP)
    rep.rcvtimeo = WAIT * 1000
    ep = tcp(rep)

    def serve():
        request = rep.recv_multipart()
        rep.send_multipart([b"ok", b'{"name": "sensor-1", "led": "on"}', b"\x00\xff"])
        return request

    served = in_thread(serve)
    r = edgezmq("req", ep, "set led on", "--timeout", "10000")
    assert served() == [b"set led on"]
    assert r.returncode == 0, r.stderr
    assert r.stdout == b'ok {\n  "name": "sensor-1",\n  "led": "on"\n} \\x00\\xff\n'


def test_req_sends_stdin_lines_and_prints_raw_replies(pz):
    rep = pz.socket(zmq.REP)
    rep.rcvtimeo = WAIT * 1000
    ep = tcp(rep)

    def serve():
        got = []
        for _ in range(2):
            got.append(rep.recv_multipart())
            rep.send_multipart([b"re:"] + got[-1])
        return got

    served = in_thread(serve)
    r = edgezmq("req", ep, "--separator", "|", "--format", "raw", stdin=b"get|temp\nget|config\n")
    assert r.returncode == 0, r.stderr
    assert served() == [[b"get", b"temp"], [b"get", b"config"]]
    assert r.stdout == b"re:|get|temp\nre:|get|config\n"


def test_req_without_a_reply_times_out(pz):
    router = pz.socket(zmq.ROUTER)  # takes the request, never answers
    r = edgezmq("req", tcp(router), "anyone?", "--timeout", "300")
    assert r.returncode == 1 and b"timed out" in r.stderr and r.stdout == b""


def test_rep_echoes_and_prints_requests(pz, tmp_path):
    ep = "ipc://%s" % (tmp_path / "rep.ipc")
    proc = start("rep", ep, "--bind", "--count", "2", "--timeout", "10000")
    req = pz.socket(zmq.REQ)
    req.rcvtimeo = WAIT * 1000
    req.connect(ep)
    try:
        req.send_multipart([b"a", b"\x00b"])
        assert req.recv_multipart() == [b"a", b"\x00b"]
        req.send(b'[1, "two"]')
        assert req.recv_multipart() == [b'[1, "two"]']
        out, err = proc.communicate(timeout=WAIT)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert out == b'a \\x00b\n[\n  1,\n  "two"\n]\n'


def test_rep_fixed_reply_connecting_to_a_bound_req(pz):
    req = pz.socket(zmq.REQ)
    req.rcvtimeo = WAIT * 1000
    ep = tcp(req)
    proc = start("rep", ep, "--reply", "ok", "--reply", "done", "--count", "1")
    try:
        req.send(b"set led off")
        assert req.recv_multipart() == [b"ok", b"done"]
        out, err = proc.communicate(timeout=WAIT)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert out == b"set led off\n"


def test_bind_error_exits_3(pz):
    taken = pz.socket(zmq.REP)
    ep = tcp(taken)
    r = edgezmq("rep", ep, "--bind")
    assert r.returncode == 3
    assert b"bind " + ep.encode() in r.stderr


# -- CURVE ---------------------------------------------------------------------

def test_req_curve_client_with_certificate_files(pz, tmp_path):
    """pyzmq's certificates: the server's public key file for --curve-serverkey,
    the client's secret certificate for --curve-cert; pyzmq's authenticator
    admits only that client key, so the handshake proves both were used."""
    from zmq.auth import create_certificates
    from zmq.auth.thread import ThreadAuthenticator

    allowed = tmp_path / "allowed"
    allowed.mkdir()
    server_public_file, server_secret_file = create_certificates(str(tmp_path), "server")
    client_public_file, client_secret_file = create_certificates(str(allowed), "client")
    auth = ThreadAuthenticator(pz)
    auth.start()
    auth.configure_curve(domain="*", location=str(allowed))
    try:
        rep = pz.socket(zmq.REP)
        rep.curve_publickey, rep.curve_secretkey = zmq.auth.load_certificate(server_secret_file)
        rep.curve_server = True
        rep.rcvtimeo = WAIT * 1000
        ep = tcp(rep)

        def serve():
            msg = rep.recv(copy=False)
            rep.send(b"hello " + msg.get("User-Id").encode())
            return msg.bytes

        served = in_thread(serve)
        r = edgezmq("req", ep, "secret stuff", "--curve-serverkey", server_public_file,
                    "--curve-cert", client_secret_file, "--timeout", "10000")
        assert served() == b"secret stuff"
        client_public, _ = zmq.auth.load_certificate(client_public_file)
        assert r.returncode == 0, r.stderr
        assert r.stdout == b"hello " + client_public + b"\n"
    finally:
        auth.stop()


def test_rep_curve_server_with_a_keygen_certificate(pz, tmp_path):
    """`edgezmq keygen` writes the server's certificate; pyzmq reads its public
    key file and connects as a CURVE client."""
    r = edgezmq("keygen", "server", "--dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    server_public, _ = zmq.auth.load_certificate(str(tmp_path / "server.key"))
    ep = "ipc://%s" % (tmp_path / "curve.ipc")
    proc = start("rep", ep, "--bind", "--curve-server", "--curve-cert", str(tmp_path / "server.key_secret"),
                 "--count", "1", "--timeout", "10000")
    req = pz.socket(zmq.REQ)
    req.curve_serverkey = server_public
    req.curve_publickey, req.curve_secretkey = zmq.curve_keypair()
    req.rcvtimeo = WAIT * 1000
    req.connect(ep)
    try:
        req.send_multipart([b"over", b"curve"])
        assert req.recv_multipart() == [b"over", b"curve"]
        out, err = proc.communicate(timeout=WAIT)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert out == b"over curve\n"


def test_curve_wrong_server_key_times_out(pz):
    public, secret = zmq.curve_keypair()
    rep = pz.socket(zmq.REP)
    rep.curve_server = True
    rep.curve_publickey, rep.curve_secretkey = public, secret
    wrong, _ = zmq.curve_keypair()
    # KEY=: a Z85 key may start with "-", which argparse would take for an option
    r = edgezmq("req", tcp(rep), "hi", "--curve-serverkey=" + wrong.decode(), "--timeout", "500")
    assert r.returncode == 1 and r.stdout == b""


def test_curve_usage_errors_exit_2():
    public, secret = zmq.curve_keypair()
    other, _ = zmq.curve_keypair()
    for args in (["--curve-server"],
                 ["--curve-serverkey", "not-a-key"],
                 ["--curve-server", "--curve-secretkey=" + secret.decode(), "--curve-publickey=" + other.decode()]):
        r = edgezmq("rep", "tcp://127.0.0.1:1", *args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.startswith(b"edgezmq rep: ")
