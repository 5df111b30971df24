"""A real IMAP server for the mailbox tests: Debian's dovecot, started by the test run with a config of
its own in a temporary folder (loopback, a free port, one passwd-file user), never the system
service; stopped when the tests are done. Plain IMAP always (the tests' own reads and appends);
with `tls=True` also IMAPS on a second port, with a certificate of the test's own for 127.0.0.1
(`Dovecot.ca_file`: what a client must trust, as an on-premises server's private CA).

Optionally with XOAUTH2: dovecot's oauth2 passdb asks a token-introspection URL (a small HTTP server
of the test's own, which also plays the OAuth2 token endpoint) whether a bearer token is good.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DOVECOT = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
USER, PASSWORD = "helpdesk", "mailbox-password-for-tests"


@dataclass
class Dovecot:
    port: int
    process: subprocess.Popen
    folder: Path
    tls_port: int = 0

    def url(self, *, folder: str = "INBOX", password: bool = True) -> str:
        secret = f":{PASSWORD}" if password else ""
        return f"imap://{USER}{secret}@127.0.0.1:{self.port}/{folder}"

    def imaps_url(self, *, folder: str = "INBOX") -> str:
        assert self.tls_port, "started without tls=True"
        return f"imaps://{USER}:{PASSWORD}@127.0.0.1:{self.tls_port}/{folder}"

    @property
    def ca_file(self) -> Path:
        return self.folder / "cert.pem"

    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _mail_owner() -> tuple[int, int]:
    """Dovecot refuses mail access as root: as root, the mail belongs to the `dovecot` user."""
    if os.getuid() != 0:
        return os.getuid(), os.getgid()
    owner = pwd.getpwnam("dovecot")
    return owner.pw_uid, owner.pw_gid


def _certificate(folder: Path) -> None:
    """A self-signed certificate for 127.0.0.1 (cert.pem, key.pem): its own CA."""
    from datetime import UTC, datetime, timedelta
    from ipaddress import ip_address

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "helpdesk test IMAP server")])
    now = datetime.now(tz=UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def _config(folder: Path, port: int, *, introspection_url: str, tls_port: int = 0) -> str:
    uid, gid = _mail_owner()
    mail = folder / "mail"
    mail.mkdir()
    os.chown(mail, uid, gid)
    (folder / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{mail / USER}::\n")
    lines = [
        "protocols = imap",
        "listen = 127.0.0.1",
        f"base_dir = {folder / 'run'}",
        f"state_dir = {folder / 'state'}",
        f"log_path = {folder / 'dovecot.log'}",
        *(
            [f"ssl = yes\nssl_cert = <{folder / 'cert.pem'}\nssl_key = <{folder / 'key.pem'}"]
            if tls_port
            else ["ssl = no"]
        ),
        "disable_plaintext_auth = no",
        "auth_mechanisms = plain login" + (" xoauth2 oauthbearer" if introspection_url else ""),
        "mail_location = maildir:~/Maildir:LAYOUT=fs",
        "namespace inbox {\n  inbox = yes\n  separator = /\n}",  # folders as Exchange and Gmail name them
        "first_valid_uid = 1",
        "auth_failure_delay = 0",  # a refused sign-in answers at once (tests)
        f"passdb {{\n  driver = passwd-file\n  mechanisms = plain login\n  args = scheme=PLAIN {folder / 'passwd'}\n}}",
        f"userdb {{\n  driver = passwd-file\n  args = {folder / 'passwd'}\n}}",
        "service imap-login {\n  inet_listener imap {\n    address = 127.0.0.1\n"
        f"    port = {port}\n  }}\n  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {tls_port}\n  }}\n}}",
        "service stats {\n  unix_listener stats-writer {\n    mode = 0666\n  }\n}",
    ]
    if os.getuid() != 0:
        user = pwd.getpwuid(os.getuid()).pw_name
        lines += [f"default_login_user = {user}", f"default_internal_user = {user}"]
    if introspection_url:
        (folder / "oauth2.conf").write_text(
            f"introspection_url = {introspection_url}\nintrospection_mode = post\n"
            "username_attribute = username\nactive_attribute = active\nactive_value = true\n"
        )
        lines.append(
            f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {folder / 'oauth2.conf'}\n}}"
        )
    return "\n".join(lines) + "\n"


def start(*, introspection_url: str = "", tls: bool = False) -> Dovecot:
    """Start dovecot in a fresh temporary folder (readable by dovecot's unprivileged processes: not
    under pytest's own 0700 folders); with `tls`, IMAPS too."""
    assert DOVECOT, "dovecot is not installed"
    folder = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-"))
    folder.chmod(0o755)
    port = free_port()
    tls_port = free_port() if tls else 0
    if tls:
        _certificate(folder)
    config = folder / "dovecot.conf"
    config.write_text(_config(folder, port, introspection_url=introspection_url, tls_port=tls_port))
    output = (folder / "dovecot.out").open("wb")
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)], stdout=output, stderr=subprocess.STDOUT)
    server = Dovecot(port=port, process=process, folder=folder, tls_port=tls_port)
    deadline = time.monotonic() + 15
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                if connection.recv(100).startswith(b"* OK"):
                    return server
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop(server)
            raise RuntimeError(f"dovecot did not start:\n{(folder / 'dovecot.out').read_text()}\n{server.log()}")
        time.sleep(0.1)


def stop(server: Dovecot) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    shutil.rmtree(server.folder, ignore_errors=True)


if __name__ == "__main__":  # `python -m tests.intake.dovecot`: a mailbox for docs/walkthroughs.md, "Email in"
    running = start()
    print(f"IMAP_URL={running.url()}  (Ctrl-C stops it and deletes its mail)", flush=True)
    try:
        running.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop(running)
