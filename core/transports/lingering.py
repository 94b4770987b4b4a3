"""A closed socket's connecter that still has messages queued for its peer.

Its own module: only a close() that has to wait for LINGER loads it (each
class costs heap on a device, even frozen).
"""


class Lingering:
    """A closed socket's connecter that still has messages queued for its peer
    (in Context.lingering: term() waits for it, LINGER bounds it)."""

    def __init__(self, connecter):
        self.c = connecter
        self.active = True

    def has_output(self):
        c = self.c
        s = c.session
        if s.outq is not None and s.outq.msgs:
            return True
        e = c.engine
        return e is not None and e.active and e.has_output()

    def close(self, reason=None):
        if self.active:
            self.active = False
            e = self.c.close()
            if e is not None:
                e.close(reason)
