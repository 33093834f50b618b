#!/usr/bin/env python3
"""ack_server (Python asyncio streams): the ack protocol as an asyncio user writes it, one of the
peers bench/server.sh measures framekit against.

One coroutine per connection reads lines with StreamReader.readline() and answers each with
b"ack:<line>\\n" (the LF, and a CR before it, dropped), in order, then awaits drain() for
backpressure. asyncio sets TCP_NODELAY on its TCP transports itself. A line longer than the
reader's limit (64 KiB, asyncio's default) closes the connection.

    python3 bench/peers/asyncio/ack_server.py --addr 127.0.0.1:0   # "listening on 127.0.0.1:PORT"
"""

import argparse
import asyncio


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            line = await reader.readline()
            if not line.endswith(b"\n"):
                break  # EOF, with or without an unfinished line
            line = line[:-1]
            if line.endswith(b"\r"):
                line = line[:-1]
            writer.write(b"ack:" + line + b"\n")
            await writer.drain()
    except (ConnectionError, ValueError, asyncio.LimitOverrunError):
        pass  # a reset or an overlong line ends that connection, not the server
    finally:
        writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addr", default="127.0.0.1:7105", help="host:port (port 0 picks a free port)")
    args = parser.parse_args()
    host, _, port = args.addr.rpartition(":")
    server = await asyncio.start_server(serve, host, int(port))
    bound = server.sockets[0].getsockname()
    print(f"listening on {bound[0]}:{bound[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
