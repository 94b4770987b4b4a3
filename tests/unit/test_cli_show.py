"""How the socket commands print messages and read what to send
(edgezmq.cli.show, edgezmq.cli.peer): no sockets, no subprocesses."""
import argparse
import io
import sys

import pytest
from edgezmq.cli import peer, show


@pytest.mark.parametrize("data, text", [
    (b"temp 21.5", "temp 21.5"),
    (b"caf\xc3\xa9 \xe2\x9c\x93", "caf\u00e9 \u2713"),  # UTF-8 text as it is
    (b"a\nb\tc\rd", "a\\nb\\tc\\rd"),
    (b"C:\\dir", "C:\\\\dir"),  # a backslash is doubled, so an escape is never ambiguous
    (b"\x00\x01\x7f", "\\x00\\x01\\x7f"),
    (b"\x00k\x8bEg\xff", "\\x00k\\x8bEg\\xff"),  # not UTF-8: bytes escaped one by one
    (b"zero\xe2\x80\x8bwidth", "zero\\u200bwidth"),  # a non-printable character of valid UTF-8
    (b"", ""),
])
def test_escape(data, text):
    assert show.escape(data) == text


def test_json_object_is_indented_and_compact_in_line_format():
    frame = b'{"seq": 7, "led": "on", "t": [21.5, 22]}'
    assert show.render_frame(frame, "text") == (
        '{\n  "seq": 7,\n  "led": "on",\n  "t": [\n    21.5,\n    22\n  ]\n}')
    assert show.render_frame(frame, "line") == '{"seq": 7, "led": "on", "t": [21.5, 22]}'


@pytest.mark.parametrize("frame", [b"42", b'"quoted"', b"true", b"{not json", b"[1, 2", b"{\xff}"])
def test_only_json_objects_and_arrays_are_reformatted(frame):
    assert show.render_frame(frame, "text") == show.escape(frame)


def test_printer_formats():
    frames = [b"temp", b'{"c": 1}', b"\x00\xff"]
    assert show.Printer("text").render(frames) == b'temp {\n  "c": 1\n} \\x00\\xff\n'
    assert show.Printer("line").render(frames) == b'temp {"c": 1} \\x00\\xff\n'
    assert show.Printer("line", "|").render(frames) == b'temp|{"c": 1}|\\x00\\xff\n'
    assert show.Printer("raw", "|").render(frames) == b'temp|{"c": 1}|\x00\xff\n'


def _args(**kw):
    base = dict(separator=None, count=0)
    base.update(kw)
    return argparse.Namespace(**base)


def test_arguments_are_frames_of_one_message_sent_count_times():
    assert list(peer.messages(["set", "led on"], _args())) == [[b"set", b"led on"]]
    assert list(peer.messages(["a|b", "c"], _args(separator="|", count=2))) == [[b"a", b"b", b"c"]] * 2


def test_stdin_lines_are_messages(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"one\ntwo|2\r\n\nlast")))
    assert list(peer.messages([], _args(separator="|"))) == [[b"one"], [b"two", b"2"], [b""], [b"last"]]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"1\n2\n3\n")))
    assert list(peer.messages([], _args(count=2))) == [[b"1"], [b"2"]]


def _curve_args(**kw):
    base = dict(curve_server=False, curve_serverkey=None, curve_publickey=None, curve_secretkey=None,
                curve_cert=None)
    base.update(kw)
    return argparse.Namespace(**base)


class _Sock:
    """Records the options set: apply_curve's only effect on a socket."""


def test_curve_options():
    import edgezmq

    public, secret = edgezmq.curve_keypair()
    s = _Sock()
    peer.apply_curve(s, _curve_args(curve_server=True, curve_secretkey=secret.decode()))
    assert (s.curve_server, s.curve_publickey, s.curve_secretkey) == (True, public, secret)
    c = _Sock()
    peer.apply_curve(c, _curve_args(curve_serverkey=public.decode()))  # a throwaway client keypair
    assert c.curve_serverkey == public and edgezmq.curve_public(c.curve_secretkey) == c.curve_publickey
    other, _ = edgezmq.curve_keypair()
    for bad in (dict(curve_server=True),  # no keys
                dict(curve_serverkey="," * 40),  # not Z85
                dict(curve_serverkey="/no/such/file"),
                dict(curve_server=True, curve_secretkey=secret.decode(), curve_publickey=other.decode()),
                dict(curve_secretkey=secret.decode()),  # keys, but neither client nor server
                dict(curve_server=True, curve_serverkey=public.decode(), curve_secretkey=secret.decode())):
        with pytest.raises(peer.UsageError):
            peer.apply_curve(_Sock(), _curve_args(**bad))
