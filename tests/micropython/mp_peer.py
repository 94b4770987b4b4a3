# edgezmq on the MicroPython unix port, driven like tests/peers/pyzmq_peer.py:
# one JSON command per stdin line, one JSON answer per stdout line, bytes as
# hex (the same protocol, so tests/peers/remote.py's RemoteSock drives it).
# Between commands the device keeps running its reactor, as a device's main
# loop does, so handshakes and heartbeats go on while the test talks to libzmq.
import json
import select
import sys
from binascii import hexlify, unhexlify

import edgezmq as zmq

ctx = zmq.Context()
socks = {}


def _value(v):
    return unhexlify(v) if isinstance(v, str) else v


def _hex(b):
    return hexlify(b).decode()


def handle(cmd):
    op = cmd["op"]
    if op == "socket":
        s = ctx.socket(getattr(zmq, cmd["type"]))
        s.linger = 0
        s.sndtimeo = 5000
        for k, v in cmd.get("opts", {}).items():
            s.setsockopt(getattr(zmq, k.upper()), _value(v))
        socks[cmd["name"]] = s
        return {"ok": True}
    s = socks.get(cmd.get("name"))
    if op == "bind" or op == "connect":
        getattr(s, op)(cmd["ep"])
        return {"ep": s.last_endpoint.decode()}
    if op == "send":
        try:
            s.send_multipart([unhexlify(p) for p in cmd["parts"]], cmd.get("flags", 0))
        except zmq.ZMQError as e:
            return {"errno": e.errno}
        return {"ok": True}
    if op == "recv":
        if not s.poll(cmd.get("timeout", 2000)):
            return {"timeout": True}
        return {"parts": [_hex(p) for p in s.recv_multipart()]}
    if op == "setopt":
        s.setsockopt(getattr(zmq, cmd["opt"]), _value(cmd["value"]))
        return {"ok": True}
    if op == "close":
        s.close(0)
        del socks[cmd["name"]]
        return {"ok": True}
    if op == "quit":
        return {"ok": True}
    return {"error": "unknown op %s" % op}


def main():
    print(json.dumps({"ready": True}))
    p = select.poll()
    p.register(sys.stdin, select.POLLIN)
    while True:
        if not p.poll(5):
            ctx.reactor.run_once(0)
            continue
        line = sys.stdin.readline()
        if not line:
            break
        cmd = json.loads(line)
        try:
            r = handle(cmd)
        except zmq.ZMQError as e:
            r = {"errno": e.errno, "error": str(e)}
        print(json.dumps(r))
        if cmd["op"] == "quit":
            break
    for s in socks.values():
        s.close(0)
    ctx.term()


main()
