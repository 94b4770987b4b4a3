"""Drive tests/peers/pyzmq_peer.py (real libzmq in its own process) from a test."""
import json
import os
import select
import subprocess
import sys

import edgezmq as ez

PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pyzmq_peer.py")
PY = sys.executable


class Peer:
    """One pyzmq process, driven by JSON lines."""

    def __init__(self, *args, argv=None, env=None):
        self.pump = None
        self.log = []
        self.p = subprocess.Popen(
            argv or [PY, PEER, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1, env=env
        )
        self.startup = []
        while True:
            r = self._read()
            if r.get("ready"):
                break
            self.startup.append(r)
        self.n = 0

    def _read(self):
        """The next JSON reply. Other lines are the peer's log (edgezmq on
        MicroPython prints it, e.g. a connection the other side closed): kept
        in self.log, and they may come before any reply."""
        while True:
            if self.pump is not None:
                # a cooperative edgezmq context moves bytes only inside its own
                # calls: keep driving it while the peer works on our command
                while not select.select([self.p.stdout], [], [], 0.005)[0]:
                    self.pump()
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError("peer died; its log:\n" + "".join(self.log[-20:]))
            if line.startswith("{"):
                return json.loads(line)
            self.log.append(line)

    def call(self, op, **kw):
        kw["op"] = op
        self.p.stdin.write(json.dumps(kw) + "\n")
        self.p.stdin.flush()
        return self._read()

    def socket(self, stype, **opts):
        self.n += 1
        name = "s%d" % self.n
        o = {k: (v.hex() if isinstance(v, bytes) else v) for k, v in opts.items()}
        r = self.call("socket", name=name, type=stype, opts=o)
        assert r.get("ok"), r
        return RemoteSock(self, name)

    def close(self):
        if self.p.poll() is None:
            try:
                self.call("quit")
            except (RuntimeError, BrokenPipeError, OSError):
                pass
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        for f in (self.p.stdin, self.p.stdout):
            try:
                f.close()
            except OSError:
                pass

    def kill(self):
        self.p.kill()
        self.p.wait()
        self.close()


def micropython_peer(bundle, heap="256K"):
    """edgezmq in the MicroPython unix port (tests/micropython/mp_peer.py, compiled
    into the bundle as mp_peer.mpy), driven with the same commands."""
    from support import micropython_binary

    return Peer(argv=[micropython_binary(), "-X", "heapsize=" + heap, "-m", "mp_peer"],
                env=dict(os.environ, MICROPYPATH=bundle))


class RemoteSock:
    def __init__(self, peer, name):
        self.peer = peer
        self.name = name

    def bind(self, ep):
        r = self.peer.call("bind", name=self.name, ep=ep)
        assert "ep" in r, r
        return r["ep"]

    def connect(self, ep):
        r = self.peer.call("connect", name=self.name, ep=ep)
        assert "ep" in r, r

    def send(self, parts):
        r = self.peer.call("send", name=self.name, parts=[bytes(p).hex() for p in parts])
        if "errno" in r:
            raise ez.ZMQError(r["errno"])

    def recv(self, timeout=3000):
        r = self.peer.call("recv", name=self.name, timeout=timeout)
        if r.get("timeout"):
            return None
        return [bytes.fromhex(p) for p in r["parts"]]

    def setopt(self, opt, value):
        r = self.peer.call("setopt", name=self.name, opt=opt, value=value.hex() if isinstance(value, bytes) else value)
        assert r.get("ok"), r

    def close(self):
        self.peer.call("close", name=self.name)

    def monitor(self):
        assert self.peer.call("monitor", name=self.name).get("ok")

    def events(self, timeout=0):
        return self.peer.call("events", name=self.name, timeout=timeout)["events"]
