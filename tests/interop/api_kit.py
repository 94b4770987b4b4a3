"""Sockets with bounded waits and a libzmq peer process, for the API tests."""

import pytest
from peers.remote import Peer
from support import T_MS

T = T_MS  # ms: every blocking call here has a timeout


def sock(ctx, stype, **opts):
    s = ctx.socket(stype)
    s.linger = 0
    s.rcvtimeo = T
    s.sndtimeo = T
    for k, v in opts.items():
        setattr(s, k, v)
    return s


def pair(ctx, a_type, b_type, ep="tcp://127.0.0.1:*", **b_opts):
    a = sock(ctx, a_type)
    a.bind(ep)
    b = sock(ctx, b_type, **b_opts)
    b.connect(a.last_endpoint)
    return a, b


@pytest.fixture(scope="module", name="peer")
def peer_fixture():
    p = Peer()
    yield p
    p.close()
