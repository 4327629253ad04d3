"""`clientfolio serve` as a user starts it: HTTPS with a certificate, HSTS and Secure cookies; plain HTTP
refused off loopback unless asked for."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import subprocess
import time

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .cfcli import CLI_CMD, clean_env


def self_signed(folder) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_https_with_hsts_and_secure_session_cookie(vault_cli, tmp_path):
    vault_cli("user", "passwd", "admin", "--password-stdin", input="Served-Over-TLS-2026\n")
    cert, key = self_signed(tmp_path)
    port = free_port()
    server = subprocess.Popen([*CLI_CMD, "--home", str(vault_cli.home), "serve", "--port", str(port),
                               "--tls-cert", cert, "--tls-key", key],
                              env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"https://127.0.0.1:{port}"
        with httpx.Client(verify=ssl.create_default_context(cafile=cert), timeout=10) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    r = client.get(base + "/api/v1/openapi.json")
                    break
                except httpx.TransportError:
                    assert server.poll() is None and time.monotonic() < deadline, server.stderr.read()
                    time.sleep(0.3)
            assert r.status_code == 200
            assert r.headers["strict-transport-security"].startswith("max-age=")
            signed = client.post(base + "/api/v1/auth/sign-in",
                                 json={"name": "admin", "password": "Served-Over-TLS-2026"})
            assert signed.status_code == 200, signed.text
            assert "Secure" in signed.headers["set-cookie"] and "HttpOnly" in signed.headers["set-cookie"]
        with httpx.Client(timeout=5) as plain:  # the TLS port does not answer plain HTTP
            try:
                answered = plain.get(f"http://127.0.0.1:{port}/api/v1/openapi.json").status_code == 200
            except httpx.HTTPError:
                answered = False
            assert not answered
    finally:
        server.terminate()
        server.wait(20)


def test_plain_http_off_loopback_is_refused_without_insecure_http(vault_cli):
    r = vault_cli("serve", "--host", "0.0.0.0", "--port", str(free_port()), rc=2)
    assert "--insecure-http" in r.err_flat and "TLS" in r.err_flat
    r = vault_cli("serve", "--tls-cert", "only-a-cert.pem", rc=2)
    assert "both --tls-cert and --tls-key" in r.err_flat


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except FileNotFoundError:
        return []


def _alive(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_serve_runs_the_worker_beside_it_and_stops_it_with_itself(vault_cli):
    port = free_port()
    server = subprocess.Popen([*CLI_CMD, "--home", str(vault_cli.home), "serve", "--port", str(port)],
                              env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/sign-in", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read()
                time.sleep(0.2)
        assert page.status_code == 200 and "<form" in page.text
        workers = [c for c in _children(server.pid)
                   if "worker" in open(f"/proc/{c}/cmdline").read().split("\0")]
        assert len(workers) == 1
    finally:
        server.terminate()
        server.wait(30)
    deadline = time.monotonic() + 15
    while _alive(workers[0]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(workers[0]), "the worker outlived the server"
