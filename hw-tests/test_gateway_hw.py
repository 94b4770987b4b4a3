"""A MicroPython device (virtual, or a real board) talking to real libzmq
peers (pyzmq) through `edgezmq gateway` over a serial link.

Every message the device publishes carries (boot, epoch, seq) and a payload
derived from seq: the checks below are on bytes and sequence numbers, never
on timing. Figures (recovery after a cable pull, link statistics) are
printed: run with -s to see them.
"""
import os
import subprocess
import time

import pytest
from hwrig import T, free_port
from ptyrelay import Faults, PtyCable

zmq = pytest.importorskip("zmq")


def payload(seq, size):
    unit = b"%08d|" % seq
    return (unit * (size // len(unit) + 1))[:size]


class SeqCheck:
    """Within one connection (boot, epoch) nothing is lost, duplicated or
    reordered; across connections of one boot, seq only goes up."""

    def __init__(self, size):
        self.size = size
        self.last = {}  # (boot, epoch) -> last seq
        self.top = {}  # boot -> highest seq
        self.count = 0
        self.order = []  # (boot, epoch) in the order first seen

    def feed(self, msg):
        assert len(msg) == 3 and msg[0] == b"seq", msg[:2]
        boot, epoch, seq = (int(x) for x in msg[1].split())
        assert msg[2] == payload(seq, self.size), "corrupt payload for seq %d" % seq
        key = (boot, epoch)
        if key in self.last:
            assert seq == self.last[key] + 1, "seq %d after %d in %r" % (seq, self.last[key], key)
        else:
            self.order.append(key)
            assert seq > self.top.get(boot, -1), "seq %d went back (boot %d)" % (seq, boot)
        self.last[key] = seq
        self.top[boot] = max(seq, self.top.get(boot, -1))
        self.count += 1
        return boot, epoch, seq


def sub_socket(pz, ep):
    s = pz.socket(zmq.SUB)
    s.subscribe(b"seq")
    s.rcvtimeo = int(T * 1000)
    s.linger = 0
    s.connect(ep)
    return s


def collect(sock, check, seconds, on_msg=None):
    """Receive for `seconds` (at least), feeding check; -> messages received."""
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        if sock.poll(100):
            info = check.feed(sock.recv_multipart())
            n += 1
            if on_msg is not None:
                on_msg(info)
    return n


def test_pub_sub_board_to_pyzmq(rig, pz):
    out = rig.device.start("pub", "bind", "10", "64")
    gw = rig.gateway()
    out.expect("READY")
    sub = sub_socket(pz, gw.endpoint)
    chk = SeqCheck(64)
    for _ in range(100):
        chk.feed(sub.recv_multipart())
    assert len(chk.order) == 1  # one connection, contiguous
    if rig.virtual:
        print("device heap after the handshake:", out.expect("MEM epoch1"))


def test_req_rep_board_to_pyzmq(rig, pz):
    rig.device.start("rep")
    gw = rig.gateway()
    rig.cable.capture = bytearray()
    req = pz.socket(zmq.REQ)
    req.rcvtimeo = int(T * 1000)
    req.linger = 0
    req.connect(gw.endpoint)
    for i in range(20):
        body = payload(i, i * 150)
        req.send_multipart([b"q%d" % i, body])
        assert req.recv_multipart() == [b"re:q%d" % i, b"re:" + body]
    assert b"re:q19" in rig.cable.capture  # NULL mechanism: the line carries plaintext


def test_device_connects_out_through_gateway(rig, pz):
    """The device opens a channel; the gateway (--connect) dials a pyzmq REP."""
    rep = pz.socket(zmq.REP)
    rep.rcvtimeo = int(T * 1000)
    rep.linger = 0
    port = free_port()
    rep.bind("tcp://127.0.0.1:%d" % port)
    out = rig.device.start("req", "5")
    rig.gateway("tcp://127.0.0.1:%d" % port, connect=True)
    for i in range(5):
        m = rep.recv_multipart()
        assert m == [b"dev-q%d" % i, payload(i, 100)]
        rep.send_multipart([b"ok%d" % i])
    if rig.virtual:
        out.expect("DONE")
        assert [ln for ln in out.all if ln.startswith("GOT")] == ["GOT b'ok%d'" % i for i in range(5)]


def test_curve_end_to_end_gateway_holds_no_keys(rig, pz):
    """CURVE between the device (server) and pyzmq (client); the gateway only
    relays bytes and the line never carries the plaintext."""
    server_pk, server_sk = zmq.curve_keypair()
    client_pk, client_sk = zmq.curve_keypair()
    rig.cable.capture = bytearray()
    out = rig.device.start("curve_rep", server_sk.decode())
    gw = rig.gateway()
    out.expect("READY")
    req = pz.socket(zmq.REQ)
    req.curve_serverkey = server_pk
    req.curve_publickey = client_pk
    req.curve_secretkey = client_sk
    req.rcvtimeo = int(2 * T * 1000)  # the device's pure-Python NaCl is slow
    req.linger = 0
    req.connect(gw.endpoint)
    for i in range(3):
        req.send_multipart([b"top-secret-%d" % i, b"y" * 200])
        assert req.recv_multipart() == [b"re:top-secret-%d" % i, b"re:" + b"y" * 200]
    assert b"CURVE" in rig.cable.capture  # the greeting went over this line...
    assert b"top-secret" not in rig.cable.capture  # ...the messages did not, in clear
    assert b"re:top" not in rig.cable.capture
    assert gw.proc.poll() is None


def test_noise_and_a_cable_pull(rig, pz):
    """Bit flips, dropped and duplicated bytes, garbage bursts, then a cable
    pull longer than the link timeout: nothing corrupt is delivered, nothing
    is lost, duplicated or reordered within a connection, the noise alone
    never resets the link, and the link recovers by itself after the pull."""
    size = 64
    timeout_s = 1.0  # the link timeout (default 3 s), so a 2 s pull resets both ends
    pull_s = 2.0
    rig.set_link(timeout_ms=int(timeout_s * 1000))
    if rig.virtual:
        rig.cable.bps = int(rig.baud) // 10  # paced as the real line would be
    out = rig.device.start("pub", "bind", "20", str(size))
    gw = rig.gateway()
    out.expect("READY")
    sub = sub_socket(pz, gw.endpoint)
    chk = SeqCheck(size)
    chk.feed(sub.recv_multipart())
    assert collect(sub, chk, 1.0) > 0
    rig.cable.faults = Faults(ber=1e-4, drop=1e-4, dup=1e-4, burst_per_s=1.0, burst_max=64)
    noisy = collect(sub, chk, 3.0)
    rig.cable.faults = None
    counts = dict(rig.cable.counts)
    assert noisy > 50
    assert counts["flipped"] and counts["dropped"] + counts["duplicated"] + counts["bursts"], counts
    if len(chk.order) > 1:
        # noise alone must never reset the link; a device process starved of
        # CPU for timeout_ms (a loaded CI machine) may, and says "timeout"
        downs = [ln for ln in gw.log.all if "link down" in ln]
        assert downs and all("timeout" in ln or "peer restarted" in ln for ln in downs), downs
        print("\nnote: link reset during the noise phase (CPU starvation?): %s" % downs)
    # the cable pull: longer than the link timeout, so both ends reset
    before = chk.order[-1]
    rig.cable.pull(pull_s)
    pulled_at = time.monotonic()
    back = []

    def note(info):
        if info[:2] != before and not back:
            back.append(time.monotonic())

    deadline = time.monotonic() + pull_s + T
    while not back and time.monotonic() < deadline:
        collect(sub, chk, 0.1, on_msg=note)
    assert back, "no messages on a new connection after the cable pull"
    recovery = back[0] - (pulled_at + pull_s)
    assert recovery > 0, "a new connection during the pull?"
    assert collect(sub, chk, 1.0) > 10
    st = gw.next_stats()
    print("\nrecovery after a %g s cable pull (timeout_ms %d): %.2f s; relay: %s; gateway: %s"
          % (pull_s, timeout_s * 1000, recovery, counts, st))
    # the gateway saw damaged frames and asked for them again (the device retransmitted)
    assert int(st["crc_errors"]) + int(st["bad_frames"]) > 0 and int(st["rej_tx"]) > 0
    assert int(st["resets"]) >= 1 and st["up"] == "1"


def test_device_reset_mid_stream(rig, pz):
    size = 64
    out = rig.device.start("pub", "bind", "10", str(size))
    gw = rig.gateway()
    first = out.expect("READY")
    sub = sub_socket(pz, gw.endpoint)
    chk = SeqCheck(size)
    for _ in range(30):
        chk.feed(sub.recv_multipart())
    out = rig.device.reset()
    second = out.expect("READY")
    assert first != second or not rig.virtual
    deadline = time.monotonic() + T
    while len(chk.top) < 2 and time.monotonic() < deadline:  # until the new boot speaks
        collect(sub, chk, 0.2)
    assert len(chk.top) == 2, "no messages from the restarted device"
    assert collect(sub, chk, 1.0) > 10
    assert "link down" in "\n".join(gw.log.all)


@pytest.mark.virtual_only
def test_gateway_reopens_a_device_that_comes_back(rig, pz, tmp_path):
    """The gateway's serial device vanishes (USB unplugged) and comes back:
    the gateway notices, reopens it and the link restarts by itself."""
    if not rig.virtual:
        pytest.skip("needs the virtual device")
    tty = str(tmp_path / "ttyGW")
    os.symlink(rig.cable.b_path, tty)
    out = rig.device.start("pub", "bind", "10", "64")
    gw = rig.gateway(path=tty)
    out.expect("READY")
    sub = sub_socket(pz, gw.endpoint)
    chk = SeqCheck(64)
    for _ in range(20):
        chk.feed(sub.recv_multipart())
    # unplug: the cable and the device go away
    rig.device.kill()
    old = rig.cable
    os.unlink(tty)
    old.stop()
    gw.log.expect("lost")
    time.sleep(1.0)  # a few failed reopen attempts
    # plug in again: a new cable (new ptys) behind the same name, the device boots
    rig.cable = PtyCable(seed=2).start()
    os.symlink(rig.cable.b_path, tty)
    rig.device.path = rig.cable.a_path
    out = rig.device.start("pub", "bind", "10", "64")
    gw.log.expect("is back")
    deadline = time.monotonic() + T
    while len(chk.top) < 2 and time.monotonic() < deadline:  # until the new boot speaks
        collect(sub, chk, 0.2)
    assert len(chk.top) == 2, "no messages after the device came back"


@pytest.mark.virtual_only
@pytest.mark.xfail(reason="target not met: on the 64-bit unix port (.mpy bytecode in the heap) the core, "
                          "port and Context take ~80 KB and the serial path ~41 KB more "
                          "(docs/micropython.md, Memory); the whole suite passes at 224K, "
                          "the hw-tests run at 256K", strict=False)
def test_virtual_device_at_64k_heap(rig, pz):
    if not rig.virtual:
        pytest.skip("needs the virtual device")
    rig.device.heap = "64K"
    out = rig.device.start("pub", "bind", "10", "64")
    out.expect("READY", timeout=10)
    gw = rig.gateway()
    sub = sub_socket(pz, gw.endpoint)
    sub.rcvtimeo = 10000
    chk = SeqCheck(64)
    for _ in range(20):
        chk.feed(sub.recv_multipart())


def test_pi_talks_to_the_board_without_a_gateway(rig):
    """edgezmq on CPython (pyserial) on the other end of the line, no gateway:
    a Raspberry Pi wired to the board."""
    import edgezmq

    out = rig.device.start("pub", "bind", "10", "64")
    out.expect("READY")
    ctx = edgezmq.Context()
    try:
        sub = ctx.socket(edgezmq.SUB)
        sub.subscribe(b"seq")
        sub.rcvtimeo = int(T * 1000)
        sub.linger = 0
        sub.connect("serial://%s?baud=%s" % (rig.cable.b_path, rig.baud))
        chk = SeqCheck(64)
        for _ in range(50):
            chk.feed(sub.recv_multipart())
        assert len(chk.order) == 1
    finally:
        ctx.destroy(linger=0)


@pytest.mark.virtual_only
def test_device_heap_for_the_serial_path(rig, pz):
    """Heap the serial path costs on the device (64-bit unix port, .mpy in RAM):
    importing the link layer and the glue, opening the link, one connection."""
    if not rig.virtual:
        pytest.skip("needs the virtual device")
    out = rig.device.start("heap")
    gw = rig.gateway()
    sub = sub_socket(pz, gw.endpoint)
    out.expect("DONE")
    sub.close()
    mem = {ln.split()[1]: int(ln.split()[2]) for ln in out.all if ln.startswith("MEM ")}
    print("\nserial path heap (bytes): %r" % (mem,))
    # regression budget, with room. Today: imports ~41 KB (linkframe 11.2, linkchannel 2.9,
    # seriallink 12.0, serialtransport 10.2, the port's devices 4.3), link 5.5 KB, connection ~7 KB
    assert mem["import_serial"] < 48000
    assert mem["bind_link"] < 10000
    assert mem["connection"] < 10000


def test_link_over_the_console(request, hw_bundle, pz):
    """serial://stdio: the link shares the board's one USB cable with the REPL
    (no UART adapter). Virtual: the device's stdin/stdout are the pty; its own
    prints are line noise the link drops. Board: started with
    `mpremote exec --no-follow`, then the gateway opens the REPL port itself."""
    from hwrig import PY, BoardDevice, Gateway, micropython_binary

    board = request.config.getoption("--device")
    baud = request.config.getoption("--baud")
    call = "import hw_device; hw_device.main('pub', 'serial://stdio', 'bind', '20', '64', '30')"
    cable = dev = None
    if board:
        BoardDevice(hw_bundle, board, "", baud)  # deploys
        subprocess.run([PY, "-m", "mpremote", "connect", board, "soft-reset"], capture_output=True)
        subprocess.run([PY, "-m", "mpremote", "connect", board, "exec", "--no-follow", call], check=True)
        path = board
    else:
        if micropython_binary() is None:
            pytest.skip("needs the MicroPython unix port")
        cable = PtyCable(seed=4).start()
        fd = os.open(cable.a_path, os.O_RDWR | os.O_NOCTTY)
        dev = subprocess.Popen([micropython_binary(), "-X", "heapsize=" + request.config.getoption("--heap"),
                                "-c", call], stdin=fd, stdout=fd, stderr=subprocess.DEVNULL,
                               env=dict(os.environ, MICROPYPATH=hw_bundle))
        os.close(fd)
        path = cable.b_path
    port = free_port()
    gw = Gateway("serial://%s?baud=%s" % (path, baud), "tcp://127.0.0.1:%d" % port)
    try:
        gw.log.expect("link up")
        sub = sub_socket(pz, "tcp://127.0.0.1:%d" % port)
        chk = SeqCheck(64)
        for _ in range(30):
            chk.feed(sub.recv_multipart())
        assert len(chk.order) == 1
    finally:
        gw.stop()
        if dev is not None:
            dev.kill()
            dev.wait()
        if cable is not None:
            cable.stop()
