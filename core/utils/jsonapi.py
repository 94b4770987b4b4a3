"""zmq.utils.jsonapi as pyzmq: JSON to and from UTF-8 bytes."""
import json

jsonmod = json


def dumps(o, **kwargs):
    return json.dumps(o, **kwargs).encode("utf8")


def loads(s, **kwargs):
    if isinstance(s, bytes):
        s = s.decode("utf8")
    return json.loads(s, **kwargs)
