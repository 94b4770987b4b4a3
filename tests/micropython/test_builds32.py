"""The device scenarios (tests/micropython/mp_device.py) on the 32-bit MicroPython builds,
each against its real libzmq peer (pyzmq), each at an explicit heap.

Memory goals (issue 11) are judged here, not on the 64-bit PyPI port: a
board is 32-bit and keeps frozen code in flash. Each scenario runs at its
goal heap when it meets it, else at the smallest heap it passes in
(measured with benchmarks/mp_builds.py, 4K steps, three passes there),
with a strict xfail at the goal that gives the measured figure: when the
core's diet makes one pass, the xfail fails and the table below moves.
"""
import pytest
from mpscenarios import run

pytestmark = pytest.mark.micropython

GOAL = {"unix32f": 32, "unix32": 64}  # KiB: client scenarios, frozen / .mpy in RAM
CURVE_GOAL = 48  # KiB: a CURVE client, frozen
# smallest heap (KiB) each scenario passed in, measured on today's core
FROZEN = {
    "push_connect": 32, "sub_connect": 32, "req_connect": 28, "dealer_connect": 28,
    "push_bind": 44, "pull_bind": 40, "pull_connect": 40, "rep_bind": 32, "rep_connect": 32,
    "req_bind": 32, "sub_bind": 32, "pub_bind": 36, "pub_connect": 40, "push_ipc": 40,
    "rep_ipc": 32, "connect_before_bind": 44, "asyncio": 40, "curve_connect": 44,
    # the PUSH client with a 3,000-byte frame (bigger than a pool slot): the
    # application's bytes and the connection's copy of them need two 3 KB blocks
    "push_big_connect": 40,
}
IN_RAM = {"push_connect": 96, "sub_connect": 100, "req_connect": 96, "dealer_connect": 96, "push_big_connect": 112}
CLIENTS = ("push_connect", "sub_connect", "req_connect", "dealer_connect")


def goal(build, scenario):
    if scenario == "curve_connect":
        return CURVE_GOAL
    return GOAL[build] if scenario in CLIENTS else None


# the smallest heap is where a scenario passed three times on a quiet machine;
# the tests run this much above it, so a busy machine's timing does not flake them
MARGIN = 4


def heap_for(build, scenario):
    """The goal when the scenario meets it, else a little above the smallest
    heap it passed in."""
    measured = (FROZEN if build == "unix32f" else IN_RAM)[scenario]
    g = goal(build, scenario)
    return g if g is not None and measured <= g else measured + MARGIN


CASES = [("unix32f", s) for s in FROZEN] + [("unix32", s) for s in IN_RAM]
MISSED = [(b, s) for b, s in CASES if goal(b, s) is not None and heap_for(b, s) > goal(b, s)]


@pytest.mark.parametrize("build,scenario", CASES, ids=["%s-%s" % c for c in CASES])
def test_scenario_at_its_heap(mp32, tmp_path, build, scenario):
    """The exchange is right (bytes and order checked on both sides) at the heap named."""
    run(mp32[build], scenario, "%dK" % heap_for(build, scenario), str(tmp_path))


@pytest.mark.parametrize("build,scenario", [
    pytest.param(b, s, id="%s-%s" % (b, s), marks=pytest.mark.xfail(
        strict=True, raises=AssertionError,
        reason="goal %dK not met: %s passes at %dK on %s (measured; issue 11 items 3-4 are cutting it)"
        % (goal(b, s), s, heap_for(b, s), "the frozen 32-bit build" if b == "unix32f" else
           "the 32-bit build with .mpy in RAM")))
    for b, s in MISSED])
def test_scenario_at_the_goal_heap(mp32, tmp_path, build, scenario):
    run(mp32[build], scenario, "%dK" % goal(build, scenario), str(tmp_path), timeout=8.0)
