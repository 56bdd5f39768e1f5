"""A real SMTP server for the e-mail tests: aiosmtpd on a free loopback port, with
AUTH PLAIN/LOGIN for one user (allowed without TLS, as only a loopback test may), that
writes every message it accepts to a directory as <n>.eml. A recipient whose local part
is `reject` gets a permanent 550, as a mailbox that does not exist would.

Usage: smtp_server.py <directory> <username> <password>
Prints the port on the first line of stdout, then serves until stdin closes.
"""

import itertools
import pathlib
import socket
import sys
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Keep:
    def __init__(self, directory):
        self.directory = pathlib.Path(directory)
        self.counter = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@", 1)[0] == "reject":
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        number = next(self.counter)
        path = self.directory / f"{number}.eml"
        partial = path.with_suffix(".part")
        header = (
            f"X-Envelope-From: {envelope.mail_from}\r\n"
            f"X-Envelope-To: {','.join(envelope.rcpt_tos)}\r\n"
            f"X-Authenticated-As: {session.auth_data.login.decode()}\r\n"
        )
        partial.write_bytes(header.encode() + envelope.original_content)
        partial.rename(path)
        return "250 Message accepted for delivery"


def main():
    # AUTH without TLS is what this loopback test server is for.
    warnings.simplefilter("ignore")
    directory, username, password = sys.argv[1:4]

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == username
            and auth_data.password.decode() == password
        )
        return AuthResult(success=ok, auth_data=auth_data if ok else None)

    # The controller checks its server by connecting to its port, so it cannot be 0:
    # take a free one from the system.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        Keep(directory),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    print(port, flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
