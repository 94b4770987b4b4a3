"""tests/peers/pyzmq_peer.py plus libzmq's ZAP side: zmq.auth.ThreadAuthenticator.

Extra command: {"op": "auth", "allow": [addr...], "passwords": {user: pw},
"curve": "/dir/of/public/certs" or "*"} starts the authenticator (once).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyzmq_peer as P  # noqa: E402
import zmq.auth  # noqa: E402
from zmq.auth.thread import ThreadAuthenticator  # noqa: E402

_handle = P.handle
_auth = []


def handle(cmd):
    if cmd["op"] == "auth":
        a = ThreadAuthenticator(P.ctx)
        a.start()
        if cmd.get("allow"):
            a.allow(*cmd["allow"])
        if cmd.get("passwords"):
            a.configure_plain(domain="*", passwords=cmd["passwords"])
        if cmd.get("curve"):
            loc = cmd["curve"]
            a.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY if loc == "*" else loc)
        _auth.append(a)
        return {"ok": True}
    if cmd["op"] == "quit":
        for a in _auth:
            a.stop()
    return _handle(cmd)


P.handle = handle

if __name__ == "__main__":
    P.main(sys.argv[1:])
