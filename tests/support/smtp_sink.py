#!/usr/bin/python3
"""A real SMTP server for Vigil's tests: aiosmtpd on 127.0.0.1, storing every accepted message.

Each message is written to OUT_DIR/<ns>-<n>.json ({mail_from, rcpt_tos, data, received_ms})
before the server answers 250, so a message in the directory is one the server accepted.
Options: --refuse SUBSTR refuses (550) every recipient containing SUBSTR; --delay-ms N waits N ms
before accepting each message (to kill the sender mid-send); --auth USER:PASS requires AUTH
(LOGIN or PLAIN, allowed without TLS on loopback); --tls starttls|smtps with --cert/--key offers
STARTTLS (and requires it) or speaks TLS from the first byte. Each record says whether the
message came over TLS. The bound port is written to --port-file.
Must run under /usr/bin/python3: Debian's python3-aiosmtpd imports only there (PLATFORM.md).
"""
import argparse
import asyncio
import json
import os
import signal
import ssl
import time

from aiosmtpd.smtp import SMTP, AuthResult


class Sink:
    def __init__(self, out_dir, refuse, delay_ms):
        self.out_dir = out_dir
        self.refuse = refuse
        self.delay = delay_ms / 1000.0
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if any(r in address for r in self.refuse):
            return "550 5.1.1 <%s>: recipient refused by the test server" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        self.count += 1
        path = os.path.join(self.out_dir, "%d-%06d.json" % (time.time_ns(), self.count))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
            "received_ms": time.time_ns() // 1000000,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
        }
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 2.0.0 accepted"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--refuse", action="append", default=[])
    p.add_argument("--delay-ms", type=int, default=0)
    p.add_argument("--auth", default="")
    p.add_argument("--tls", choices=["", "starttls", "smtps"], default="")
    p.add_argument("--cert", default="")
    p.add_argument("--key", default="")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    sink = Sink(args.out, args.refuse, args.delay_ms)
    kwargs = {}
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login.decode() == user and auth_data.password.decode() == password
            return AuthResult(success=ok)

        kwargs = dict(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    context = None
    if args.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
    if args.tls == "starttls":
        kwargs.update(tls_context=context, require_starttls=True)

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(sink, hostname="sink.test", **kwargs), "127.0.0.1", args.port,
                                          reuse_address=True, ssl=context if args.tls == "smtps" else None)
        port = server.sockets[0].getsockname()[1]
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(args.port_file + ".tmp", args.port_file)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        await stop.wait()
        server.close()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
