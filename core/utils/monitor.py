"""zmq.utils.monitor as pyzmq: decode the two-frame event messages of a
monitor socket (Socket.get_monitor_socket()). On CPython event and value are
edgezmq.Event flags, as pyzmq's zmq.Event; on MicroPython plain ints."""
import struct
import sys


def parse_monitor_message(msg):
    """[b"<event u16><value u32>", endpoint] -> {"event", "value", "endpoint"}."""
    if len(msg) != 2 or len(msg[0]) != 6:
        raise RuntimeError("Invalid event message format: %s" % (msg,))
    event, value = struct.unpack("<hi", msg[0])
    if sys.implementation.name != "micropython":
        from ..enums import Event  # port-ok: CPython only

        event, value = Event(event), Event(value)
    return {"event": event, "value": value, "endpoint": msg[1]}


def recv_monitor_message(socket, flags=0):
    """Receive one event from a monitor socket and decode it (a Future's
    result on an edgezmq.asyncio socket, as pyzmq)."""
    msg = socket.recv_multipart(flags)
    if hasattr(msg, "__await__"):
        return _parse_later(msg)
    return parse_monitor_message(msg)


async def _parse_later(awaitable):
    return parse_monitor_message(await awaitable)
