"""A fault-injecting TCP proxy for the reliability tests (threads, 127.0.0.1 only).

    proxy = FaultProxy(("127.0.0.1", upstream_port), seed=1)
    proxy.start()                      # listens on proxy.port
    proxy.faults = True                # inject faults into new and live connections
    ...
    proxy.faults = False               # pass bytes through untouched
    proxy.stop()

Each accepted connection dials the upstream and relays both directions in
chunks. While `faults` is on, every chunk relayed may (randomly, seeded):
  - be delayed by a few milliseconds,
  - stall the direction for a while (the peer sees a silent link),
  - be cut short: only a prefix is written, then the connection is closed
    (a truncated write: the receiver sees half a frame),
  - reset the connection (SO_LINGER 0: the peer gets RST, not FIN).
The proxy never alters bytes it forwards: corruption is not a fault ZMTP over
TCP claims to survive. `counts` records what was injected.
"""
import random
import socket
import struct
import threading
import time


class FaultProxy:
    def __init__(self, upstream, seed=0, p_delay=0.05, p_stall=0.01, p_truncate=0.01,
                 p_reset=0.01, max_delay=0.01, max_stall=0.3):
        self.upstream = upstream
        self.rng = random.Random(seed)
        self.rng_lock = threading.Lock()
        self.p_delay = p_delay
        self.p_stall = p_stall
        self.p_truncate = p_truncate
        self.p_reset = p_reset
        self.max_delay = max_delay
        self.max_stall = max_stall
        self.faults = False
        self.counts = {"connections": 0, "delays": 0, "stalls": 0, "truncations": 0,
                       "resets": 0, "bytes": 0}
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.running = False
        self.threads = []
        self.live = set()
        self.lock = threading.Lock()

    def start(self):
        self.running = True
        t = threading.Thread(target=self._accept_loop, name="faultproxy-accept", daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def stop(self):
        self.running = False
        try:
            self.lsock.close()
        except OSError:
            pass
        with self.lock:
            socks = list(self.live)
        for s in socks:
            _close(s)
        for t in self.threads:
            t.join(2.0)

    def reset_all(self):
        """Reset every live connection now."""
        with self.lock:
            socks = list(self.live)
        for s in socks:
            _reset(s)

    def _roll(self):
        with self.rng_lock:
            return self.rng.random()

    def _accept_loop(self):
        self.lsock.settimeout(0.2)
        while self.running:
            try:
                c, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                u = socket.create_connection(self.upstream, timeout=2.0)
            except OSError:
                _close(c)
                continue
            c.settimeout(None)
            u.settimeout(None)
            with self.lock:
                self.counts["connections"] += 1
                self.live.update((c, u))
            done = threading.Event()
            for a, b in ((c, u), (u, c)):
                t = threading.Thread(target=self._relay, args=(a, b, done), daemon=True)
                t.start()
                self.threads.append(t)

    def _relay(self, src, dst, done):
        try:
            while self.running and not done.is_set():
                try:
                    data = src.recv(16384)
                except OSError:
                    break
                if not data:
                    break
                if self.faults:
                    r = self._roll()
                    if r < self.p_reset:
                        self._count("resets")
                        break
                    r -= self.p_reset
                    if r < self.p_truncate:
                        self._count("truncations")
                        cut = 1 + int(self._roll() * max(1, len(data) - 1))
                        try:
                            dst.sendall(data[:cut])
                        except OSError:
                            pass
                        break
                    r -= self.p_truncate
                    if r < self.p_stall:
                        self._count("stalls")
                        time.sleep(self._roll() * self.max_stall)
                    elif r - self.p_stall < self.p_delay:
                        self._count("delays")
                        time.sleep(self._roll() * self.max_delay)
                try:
                    dst.sendall(data)
                except OSError:
                    break
                with self.lock:
                    self.counts["bytes"] += len(data)
        finally:
            done.set()
            for s in (src, dst):
                _reset(s) if self.faults else _close(s)
            with self.lock:
                self.live.discard(src)
                self.live.discard(dst)

    def _count(self, key):
        with self.lock:
            self.counts[key] += 1


def _reset(s):
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    _close(s)


def _close(s):
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass
