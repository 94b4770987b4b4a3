# MicroPython side of tests/micropython/test_device_asyncio_wifi.py::test_device_asyncio:
#   micropython mp_asyncio.py PULL_FROM PUSH_TO COUNT
# edgezmq.asyncio on MicroPython's asyncio: a coroutine echoes COUNT
# multipart messages from a PULL to a PUSH while another task keeps ticking
# (the loop is never blocked by a waiting socket). Prints TICKS and DONE.
import asyncio
import sys

import edgezmq as zmq
import edgezmq.asyncio as zaio


async def ticker(state):
    while not state["done"]:
        state["ticks"] += 1
        await asyncio.sleep_ms(5)


async def main():
    ctx = zaio.Context()
    pull = ctx.socket(zmq.PULL)
    pull.connect(sys.argv[1])
    push = ctx.socket(zmq.PUSH)
    push.connect(sys.argv[2])
    state = {"done": False, "ticks": 0}
    t = asyncio.create_task(ticker(state))
    for _ in range(int(sys.argv[3])):
        m = await pull.recv_multipart()
        await push.send_multipart([b"echo"] + m)
    state["done"] = True
    await t
    print("TICKS", state["ticks"])
    pull.close()
    push.close()
    ctx.term()
    print("DONE")


asyncio.run(main())
