"""ZMTP fast paths in C (cffi), installed into the core if built.

    from edgezmq.ports.cpython import zmtpfast
    zmtpfast.install()          # True if the C versions are now in use

- frame scanning: one C call splits a receive buffer into its complete
  frames; FrameDecoder's Python loop then handles only what the scanner
  leaves (a frame cut by the buffer's end, one over a limit, bad input);
- subscription matching: a prefix test over a packed table when a
  subscriber has many topics;
- CURVE MESSAGE boxes: a received run opened, a sent frame sealed, in one
  C call each (boxruns.py).

Both give the same results as the pure-Python code they replace; when the
extension is not built (ports/cpython/_zmtpfast_build.py), or EDGEZMQ_PURE=1,
the pure versions stay in place.
"""
from __future__ import annotations

import os

_lib = None
_ffi = None
_BATCH = 512  # frames per C call
_SMALL = 4096  # mean body size up to which a run is copied once and sliced (two copies)
_MIN_SCAN = 256  # bytes under which the decoder's own loop is quicker (a reply or two: the call costs more)
active = False  # the C versions are installed


def load(path: str | None = None) -> bool:
    """Import the compiled module (from path, or beside this file); -> bool."""
    global _lib, _ffi
    from edgezmq.ports.cpython import _cffi_ext

    mod = _cffi_ext.load("_zmtpfast", path)
    if mod is None or not hasattr(mod.lib, "zf_frames"):  # (a build older than this file)
        return False
    _lib, _ffi = mod.lib, mod.ffi
    return True


def scan(dec, data, pos: int, end: int) -> int:
    """Deliver the complete frames at data[pos:end] to dec.sink; -> where it stopped.

    Frames go to sink.on_frame exactly as FrameDecoder.feed would give them
    (a fresh bytes body per frame), or a run of data frames to
    sink.on_data_run(flags, bodies, sizes) when the sink has it and takes
    them (-> True); the decoder's state is untouched."""
    if end - pos < _MIN_SCAN or dec.pool is not None:
        return pos  # a few frames, or a decoder that puts short frames in pool slots: its own loop
    try:  # (not dec.__dict__: reading it makes every attribute read of the decoder a generic lookup)
        bufs = dec._zf
    except AttributeError:  # per decoder: cffi releases the GIL, so buffers are not shared
        bufs = dec._zf = (_ffi.new("long long[]", 4 * _BATCH), _ffi.new("size_t *"))
    out, used = bufs
    src = _ffi.from_buffer(data)
    sink = dec.sink
    on_frame = sink.on_frame
    on_data_run = getattr(sink, "on_data_run", None)
    on_box_run = getattr(sink, "on_box_run", None)
    mv = memoryview(data)
    while end - pos >= 2:
        k = _lib.zf_frames(src + pos, end - pos, dec.limit, dec.command_limit, out, _BATCH, used)
        if k == 0:
            break
        n = used[0]
        v = _ffi.unpack(out, 4 * k)  # flags, start, end, size of each frame
        flags = v[0::4]
        sizes = v[3::4]
        if n <= _SMALL * k:
            # small frames: the run copied once, each body sliced out of it in C
            # (map over slices: no bytecode per frame)
            run = bytes(mv[pos : pos + n])
            bodies = list(map(run.__getitem__, map(slice, v[1::4], v[2::4])))
        else:  # big ones: each copied once, straight from the buffer
            m = mv[pos:]
            bodies = [bytes(m[o:e]) for o, e in zip(v[1::4], v[2::4])]
        # data frames only (no COMMAND bit), or boxes to open (CURVE's MESSAGE
        # commands): the whole run in one call, when the sink takes it; else
        # frame by frame, as FrameDecoder.feed would
        if max(flags) & 4:
            taken = on_box_run is not None and on_box_run(flags, bodies, sizes)
        else:
            taken = on_data_run is not None and on_data_run(flags, bodies, sizes)
        if not taken:
            for f, b, s in zip(flags, bodies, sizes):
                on_frame(f, b, s)
        pos += n
        if k < _BATCH:
            break
    return pos


def match(topics, data) -> bool:
    """Topics.match in C, over a table packed once per change of the set."""
    table = topics.table
    if table is None:
        parts = []
        for t in topics.counts:
            parts.append(len(t).to_bytes(4, "big"))
            parts.append(t)
        table = topics.table = b"".join(parts)
    src = data if type(data) is bytes else _ffi.from_buffer(data)
    return _lib.zf_match(src, len(data), table, len(table)) == 1


def install(path: str | None = None) -> bool:
    """Use the C versions in the core if they load and EDGEZMQ_PURE is not 1; -> bool."""
    global active
    if os.environ.get("EDGEZMQ_PURE") == "1":
        return False
    if _lib is None and not load(path):
        return False
    from edgezmq import runs
    from edgezmq.patterns import pubsub
    from edgezmq.ports.cpython import bigbodies, boxruns
    from edgezmq.zmtp import frames

    frames.install(scan_fn=scan)
    pubsub.install(match_fn=match)
    runs.install()  # the scanner hands runs of data frames over in one call
    bigbodies.install(_ffi)  # big bodies received into the bytes recv() returns
    boxruns.install(_ffi, _lib)  # CURVE boxes opened a run at a time, sealed into the output
    active = True
    return True


def uninstall() -> None:
    """Back to the pure-Python versions (tests compare both)."""
    global active
    from edgezmq.patterns import pubsub
    from edgezmq.ports.cpython import bigbodies, boxruns
    from edgezmq.zmtp import frames

    frames.install(scan_fn=None)
    pubsub.install(match_fn=None)
    bigbodies.uninstall()
    boxruns.uninstall()
    active = False
