"""A real-libzmq peer (pyzmq) in its own process, for interop tests.

Usage: pyzmq_peer.py [--socket NAME TYPE] [--bind EP | --connect EP] ...
then JSON commands, one per line on stdin, each answered by one JSON line on
stdout. Byte strings travel as hex. Commands:
  {"op": "socket", "name": n, "type": "PUB", "opts": {"linger": 0, ...}}
  {"op": "bind" | "connect", "name": n, "ep": "tcp://..."} -> {"ep": last_endpoint}
  {"op": "send", "name": n, "parts": [hex...]}               -> {"ok": true} | {"errno": e}
  {"op": "recv", "name": n, "timeout": ms}                   -> {"parts": [hex...]} | {"timeout": true}
  {"op": "setopt", "name": n, "opt": "SUBSCRIBE", "value": hex or int}
  {"op": "close", "name": n}
  {"op": "monitor", "name": n}  then {"op": "events", "name": n, "timeout": ms} -> {"events": [[event, addr]]}
  {"op": "quit"}
Command-line flags run the same commands at start-up (one socket named "s").
"""
import json
import sys

import zmq
from zmq.utils.monitor import parse_monitor_message

ctx = zmq.Context()
socks = {}
mons = {}


def _value(v):
    return bytes.fromhex(v) if isinstance(v, str) else v


def handle(cmd):
    op = cmd["op"]
    if op == "socket":
        s = ctx.socket(getattr(zmq, cmd["type"]))
        s.linger = 0
        s.sndtimeo = 5000  # a blocked send answers EAGAIN instead of hanging the test
        for k, v in cmd.get("opts", {}).items():
            s.setsockopt(getattr(zmq, k.upper()), _value(v))
        socks[cmd["name"]] = s
        return {"ok": True}
    s = socks.get(cmd.get("name"))
    if op in ("bind", "connect"):
        getattr(s, op)(cmd["ep"])
        return {"ep": s.last_endpoint.decode()}
    if op == "send":
        try:
            s.send_multipart([bytes.fromhex(p) for p in cmd["parts"]], cmd.get("flags", 0))
        except zmq.ZMQError as e:
            return {"errno": e.errno}
        return {"ok": True}
    if op == "recv":
        if not s.poll(cmd.get("timeout", 2000)):
            return {"timeout": True}
        return {"parts": [p.hex() for p in s.recv_multipart()]}
    if op == "setopt":
        s.setsockopt(getattr(zmq, cmd["opt"]), _value(cmd["value"]))
        return {"ok": True}
    if op == "close":
        s.close(0)
        del socks[cmd["name"]]
        return {"ok": True}
    if op == "monitor":
        mons[cmd["name"]] = s.get_monitor_socket()
        return {"ok": True}
    if op == "events":
        m = mons[cmd["name"]]
        out = []
        while m.poll(cmd.get("timeout", 0)):
            ev = parse_monitor_message(m.recv_multipart())
            out.append([ev["event"], ev["endpoint"].decode()])
        return {"events": out}
    if op == "quit":
        return {"ok": True}
    return {"error": "unknown op %r" % op}


def main(argv):
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--socket":
            handle({"op": "socket", "name": "s", "type": argv[i + 1]})
            i += 2
        elif a in ("--bind", "--connect"):
            print(json.dumps(handle({"op": a[2:], "name": "s", "ep": argv[i + 1]})), flush=True)
            i += 2
        else:
            raise SystemExit("unknown argument %r" % a)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            r = handle(cmd)
        except zmq.ZMQError as e:
            r = {"errno": e.errno, "error": str(e)}
        print(json.dumps(r), flush=True)
        if cmd["op"] == "quit":
            break
    for s in list(socks.values()) + list(mons.values()):
        s.close(0)
    ctx.term()


if __name__ == "__main__":
    main(sys.argv[1:])
