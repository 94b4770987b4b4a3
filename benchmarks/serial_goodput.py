"""Serial link goodput on the simulated line, as a share of the line rate.

    python benchmarks/serial_goodput.py [--seconds 20]

One channel, a sender that always has messages queued, a reader that takes
everything. Each message travels as a ZMTP frame (2-byte header up to 255
bytes, 9-byte header above), and only message bytes count as goodput; the
line rate is baud / 10 bytes per second (8N1). Bit errors hit both
directions (data and acknowledgements). The simulator is deterministic
(tests/linksim.py), so the table is the same on every machine.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))

from linksim import Endpoint, Faults, Link, Sim  # noqa: E402

PROFILES = {
    # name: Link keyword arguments
    "device": {"window": 4, "mtu": 256, "rx_buffer": 1024, "tx_buffer": 1024},
    "gateway": {"window": 4, "mtu": 1024, "rx_buffer": 8192, "tx_buffer": 8192},
}


class Sender(Endpoint):
    """Keeps the channel full of ZMTP-framed messages of one size."""

    def __init__(self, link, size):
        super().__init__(link, "tx", streams=1, reading=False)
        head = bytes((0, size)) if size < 256 else b"\x02" + size.to_bytes(8, "big")
        self.frame = head + bytes((i * 31 + 7) & 0xFF for i in range(size))
        self.off = 0

    def step(self, now):
        link = self.link
        while link.poll_event() is not None:
            pass
        if link.established and not self.log:
            self.log.append(link.open_channel())
        for ch in self.log:
            while True:
                k = ch.send(memoryview(self.frame)[self.off:])
                if not k:
                    break
                self.off = (self.off + k) % len(self.frame)


class Reader(Endpoint):
    def __init__(self, link):
        super().__init__(link, "rx")
        self.count = 0
        self.buf = bytearray(16384)

    def step(self, now):
        link = self.link
        while link.poll_event() is not None:
            pass
        for ch in link.channels.values():
            while True:
                n = ch.recv_into(self.buf)
                if not n:
                    break
                self.count += n


def measure(profile, baud, size, ber, seconds, seed=1):
    kw = dict(PROFILES[profile], baud=baud)
    tx = Sender(Link(0, **kw), size)
    rx = Reader(Link(0, **kw))
    f = Faults(ber=ber)
    sim = Sim(tx, rx, baud=baud, faults_ab=f, faults_ba=Faults(ber=ber), seed=seed)
    sim.run(1000)  # handshake and warm-up
    start = rx.count
    ms = int(seconds * 1000)
    sim.run(ms)
    stream = rx.count - start
    payload = stream * size / len(tx.frame)
    rate = payload / (ms / 1000.0) / (baud / 10.0)
    s = tx.link.stats
    assert tx.link.stats["resets"] == 0 and rx.link.stats["resets"] == 0
    return rate, s["retransmits"], tx.link._frame_size


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="simulated seconds per cell")
    args = ap.parse_args(argv)
    bers = [0.0, 1e-5, 1e-4]
    print("Serial link goodput, share of line rate (baud/10 B/s), %g s simulated per cell"
          % args.seconds)
    print("message bytes only; ZMTP frame headers, link framing, escaping, CRC, acks and")
    print("retransmissions are all overhead. retx = frames retransmitted per cell.")
    print()
    head = "%-8s %8s %6s" % ("profile", "baud", "msg") + "".join(
        "  %-16s" % ("clean" if b == 0 else "BER %g" % b) for b in bers)
    print(head)
    print("-" * len(head))
    for profile in PROFILES:
        for baud in (115200, 1000000):
            for size in (64, 1024):
                cells = []
                for ber in bers:
                    rate, retx, _ = measure(profile, baud, size, ber, args.seconds)
                    cells.append("  %5.1f%% retx %-5d" % (rate * 100, retx))
                print("%-8s %8d %6d" % (profile, baud, size) + "".join(cells))
    print()
    print("profiles: " + "; ".join(
        "%s %s" % (k, ", ".join("%s=%s" % kv for kv in v.items())) for k, v in PROFILES.items()))


if __name__ == "__main__":
    main()
