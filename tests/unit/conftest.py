"""Fixtures shared by the unit tests that drive engines on fake streams."""
import pytest
from edgezmq import reactor as reactor_mod
from edgezmq.transports import stream as stream_mod
from port_kit import Clock


@pytest.fixture
def clock(monkeypatch):
    """A clock the test moves by hand, as the engines' and the reactor's ticks_ms."""
    c = Clock()
    monkeypatch.setattr(stream_mod, "ticks_ms", c)
    monkeypatch.setattr(reactor_mod, "ticks_ms", c)
    return c
