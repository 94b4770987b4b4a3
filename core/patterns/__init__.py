"""Socket types as thin policies over pipes (load balance, fair queue, route, fan out)."""
from .. import constants as C


def create(sock):
    t = sock.socket_type
    if t in (C.PUB, C.SUB, C.XPUB, C.XSUB):
        from . import pubsub

        return {C.PUB: pubsub.Pub, C.SUB: pubsub.Sub, C.XPUB: pubsub.XPub, C.XSUB: pubsub.XSub}[t](sock)
    if t in (C.REQ, C.REP):
        from . import reqrep

        return (reqrep.Req if t == C.REQ else reqrep.Rep)(sock)
    if t == C.ROUTER:
        from .router import Router

        return Router(sock)
    from . import simple

    if t == C.PAIR:
        return simple.Pair(sock)
    if t == C.PUSH:
        return simple.Push(sock)
    if t == C.PULL:
        return simple.Pull(sock)
    if t == C.DEALER:
        return simple.Dealer(sock)
    raise ValueError("unknown socket type %r" % t)
