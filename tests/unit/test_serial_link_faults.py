"""Serial link under line faults (seeded, simulated): bit errors, dropped and
duplicated bytes, garbage bursts, a 5-second cable pull, a peer reboot.

What must hold: nothing corrupt is ever delivered (every channel's received
bytes are a prefix of what the peer sent); every byte sent on a channel that
no link reset cut arrives exactly once and in order; the link comes back by
itself. Line noise alone must never reset the link.
"""
import pytest
from linksim import Endpoint, Faults, Link, Sim, linkchannel, seriallink

pytestmark = pytest.mark.fastpath  # the serial link's byte stuffing and CRC on a faulty line: also run with EDGEZMQ_PURE=1

DOWN = seriallink.EV_LINK_DOWN
UP = seriallink.EV_LINK_UP


def endpoints(mtu=256, baud=115200, a_kw=None, b_kw=None, a_total=60000, b_total=30000,
              reply=15000):
    kw = {"mtu": mtu, "rx_buffer": 4 * mtu, "tx_buffer": 4 * mtu, "baud": baud}
    a = Endpoint(Link(0, **dict(kw, **(a_kw or {}))), "a", seed=11, streams=2, total=a_total,
                 reply=reply, chunk=900)
    b = Endpoint(Link(0, **dict(kw, **(b_kw or {}))), "b", seed=12, streams=1, total=b_total,
                 reply=reply, chunk=500)
    return a, b


def run_to_completion(sim, limit_ms=400000):
    assert sim.run(limit_ms, until=sim.settled), "transfer did not finish"
    return sim.check()


def no_resets(*eps):
    for ep in eps:
        s = ep.link.stats
        assert s["resets"] == 0 and s["protocol_errors"] == 0, s
        assert [e for e in ep.events if e[1] == DOWN] == []


@pytest.mark.parametrize("ber", [1e-5, 1e-4])
@pytest.mark.parametrize("mtu", [256, 1024])
def test_bit_errors_cost_retries_not_data(ber, mtu):
    a, b = endpoints(mtu=mtu)
    f = Faults(ber=ber)
    sim = Sim(a, b, faults_ab=f, faults_ba=f, seed=3)
    complete, cut = run_to_completion(sim)
    assert (complete, cut) == (6, 0)
    no_resets(a, b)
    if ber >= 1e-4:
        assert sim.ab.flipped > 20 and sim.ba.flipped > 10
        assert a.link.stats["retransmits"] > 0 and b.link.stats["crc_errors"] > 0


@pytest.mark.parametrize("faults", [
    Faults(drop=2e-4),
    Faults(dup=2e-4),
    Faults(garbage_per_s=5, garbage_max=64),
    Faults(ber=1e-4, drop=1e-4, dup=1e-4, garbage_per_s=2),
], ids=["drop", "dup", "garbage", "all"])
@pytest.mark.parametrize("seed", [1, 2])
def test_dropped_duplicated_and_invented_bytes(faults, seed):
    a, b = endpoints()
    sim = Sim(a, b, faults_ab=faults, faults_ba=faults, seed=seed)
    assert run_to_completion(sim) == (6, 0)
    no_resets(a, b)
    assert (sim.ab.dropped + sim.ab.duplicated + sim.ab.garbage + sim.ab.flipped) > 0


def test_fast_line_with_big_frames_and_noise():
    a, b = endpoints(mtu=1024, baud=1000000, a_total=300000, b_total=100000, reply=50000)
    f = Faults(ber=1e-5, drop=2e-5, dup=2e-5, garbage_per_s=2)
    sim = Sim(a, b, baud=1000000, faults_ab=f, faults_ba=f, seed=9)
    assert run_to_completion(sim) == (6, 0)
    no_resets(a, b)


def test_five_second_cable_pull_resets_then_recovers():
    a, b = endpoints(a_total=200000, b_total=100000, reply=50000)
    f = Faults(ber=1e-5, cuts=[(4000, 9000)])
    sim = Sim(a, b, faults_ab=f, faults_ba=f, seed=4)
    complete, cut = run_to_completion(sim)
    assert cut == 6  # the three channels open during the pull, seen from both ends
    assert complete == 6  # the three reopened after it are complete
    for ep in (a, b):
        downs = [e for e in ep.events if e[1] == DOWN]
        ups = [e for e in ep.events if e[1] == UP]
        assert len(downs) == 1 and downs[0][2] == "timeout"
        assert 4000 + 3000 - 100 <= downs[0][0] <= 4000 + 3000  # after timeout_ms of silence
        assert len(ups) == 2 and 9000 <= ups[1][0] <= 9000 + 600  # back by itself
        assert ep.link.stats["resets"] == 1
        for ch in ep.reset_channels:
            assert ch.state == linkchannel.CLOSED and ch.reason == "reset"
    assert sim.ab.cut_bytes > 0


def test_cable_pull_shorter_than_the_timeout_loses_nothing():
    a, b = endpoints(a_kw={"timeout_ms": 8000}, b_kw={"timeout_ms": 8000},
                     a_total=200000, b_total=100000, reply=50000)
    f = Faults(cuts=[(4000, 9000)])
    sim = Sim(a, b, faults_ab=f, faults_ba=f, seed=5)
    assert run_to_completion(sim) == (6, 0)
    no_resets(a, b)
    assert a.link.stats["timeouts"] > 0  # it did retransmit through the pull


def test_one_way_cut_recovers():
    a, b = endpoints(a_total=150000, b_total=60000, reply=30000)
    sim = Sim(a, b, faults_ab=Faults(cuts=[(3000, 8000)]), seed=6)
    complete, cut = run_to_completion(sim)
    assert complete == 6
    # b heard nothing and reset; a then saw b's new session and reset too
    assert [e[2] for e in b.events if e[1] == DOWN] == ["timeout"]
    assert [e[2] for e in a.events if e[1] == DOWN] == ["peer restarted"]


def test_garbage_bursts_alone_keep_the_link_up():
    a, b = endpoints(a_total=100000, b_total=40000, reply=20000)
    sim = Sim(a, b, seed=7)
    sim.run(3000)
    for w in (sim.ab, sim.ba):
        w.f.garbage_per_s = 1000  # a burst every millisecond, for 5 s
        w.f.garbage_max = 40
    sim.run(5000)
    for w in (sim.ab, sim.ba):
        w.f.garbage_per_s = 0
    assert run_to_completion(sim) == (6, 0)
    no_resets(a, b)
    assert a.link.stats["crc_errors"] + a.link.stats["bad_frames"] > 50


def test_line_drowned_in_noise_resets_then_recovers():
    a, b = endpoints(a_total=100000, b_total=40000, reply=20000)
    sim = Sim(a, b, seed=7)
    sim.run(3000)
    for w in (sim.ab, sim.ba):
        w.f = Faults(ber=0.2, garbage_per_s=200)
        w._to_flip = 0
    sim.run(5000)
    for w in (sim.ab, sim.ba):
        w.f = Faults()
    complete, cut = run_to_completion(sim)
    assert complete == 6 and cut == 6
    for ep in (a, b):
        assert ep.link.stats["resets"] >= 1
        assert ep.link.stats["crc_errors"] + ep.link.stats["bad_frames"] > 50


def test_peer_reboot_is_reported_and_new_channels_work():
    a, b = endpoints(a_total=100000, b_total=50000, reply=20000)
    sim = Sim(a, b, seed=8)
    sim.run(3000)
    old = list(a.log)
    assert len(old) == 3
    # the device reboots: a fresh Link (new session id) on the same wire
    b2 = Endpoint(Link(0, mtu=256, rx_buffer=1024, tx_buffer=1024, baud=115200), "b2",
                  seed=13, streams=1, total=50000, reply=20000, chunk=500)
    sim.replace_b(b2)
    complete, cut = run_to_completion(sim)
    downs = [e for e in a.events if e[1] == DOWN]
    assert len(downs) == 1 and downs[0][2] == "peer restarted"
    assert downs[0][0] - 3000 < 50  # at b2's first HELLO
    closed = [e for e in a.events if e[1] == seriallink.EV_CHANNEL_CLOSED]
    assert len(closed) == 3
    for ch in old:
        assert ch.state == linkchannel.CLOSED and ch.reason == "reset"
    assert complete == 3 * 2 - 3 + 3  # a's new channels (both ways) and b2's channel
    assert not a.corrupt and not b2.corrupt


def test_combined_faults_and_pull_with_several_seeds():
    for seed in (21, 22, 23):
        a, b = endpoints(a_total=120000, b_total=60000, reply=20000)
        f = Faults(ber=1e-4, drop=5e-5, dup=5e-5, garbage_per_s=3, cuts=[(5000, 10000)])
        sim = Sim(a, b, faults_ab=f, faults_ba=f, seed=seed)
        complete, cut = run_to_completion(sim)
        assert complete == 6 and cut == 6
        for ep in (a, b):
            assert ep.link.stats["resets"] == 1  # the pull, never the noise
