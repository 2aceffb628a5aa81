"""XAdES level T: a SignatureTimeStamp from a local RFC 3161 timestamp server (``openssl ts -reply`` behind an HTTP
server on 127.0.0.1), checked with ``openssl ts -verify``; the signature still verifies with both verifiers."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from asn1crypto import cms, tsp  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from lxml import etree

from certificates.timestamp import TimestampError, request_der, token_from_response
from certificates.xades import sign_dcc, timestamp_imprint
from tests.certificates.conftest import Identity, Pki
from tests.certificates.test_xades import NS, IdentitySigner, outcomes, unsigned_bytes, verify, xmlsec1_ok

OPENSSL = shutil.which("openssl")


def _tsa_identity(root: Identity) -> Identity:
    """A TSA certificate from ``root``: EC P-256, extendedKeyUsage timeStamping only and critical (RFC 3161 2.3)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "caltrace test TSA")]))
        .issuer_name(root.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(root.key, hashes.SHA256())
    )
    return Identity(key, cert)


class Tsa:
    """A local timestamp server: POSTed requests are answered by ``openssl ts -reply``."""

    def __init__(self, directory: Path, root: Identity) -> None:
        self.dir = directory
        self.identity = _tsa_identity(root)
        (directory / "tsa.pem").write_bytes(self.identity.cert_pem())
        (directory / "tsa.key").write_bytes(self.identity.key_pem())
        (directory / "root.pem").write_bytes(root.cert_pem())
        (directory / "serial").write_text("01\n")
        (directory / "ts.cnf").write_text(
            "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\n"
            f"serial = {directory / 'serial'}\ncrypto_device = builtin\n"
            f"signer_cert = {directory / 'tsa.pem'}\nsigner_key = {directory / 'tsa.key'}\n"
            "signer_digest = sha256\ndefault_policy = 1.3.6.1.4.1.99999.1\ndigests = sha256\n"
            "accuracy = secs:1\nordering = no\ntsa_name = no\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n"
        )
        self.requests = 0
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                tsa.requests += 1
                query = tsa.dir / f"q{tsa.requests}.tsq"
                query.write_bytes(body)
                done = subprocess.run(
                    [str(OPENSSL), "ts", "-reply", "-config", str(tsa.dir / "ts.cnf"), "-queryfile", str(query)],
                    capture_output=True,
                    timeout=30,
                    check=False,
                )
                self.send_response(200 if done.returncode == 0 else 500)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(done.stdout)))
                self.end_headers()
                self.wfile.write(done.stdout)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tsa"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def tsa(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tsa]:
    if OPENSSL is None:
        pytest.skip("openssl is not installed")
    server = Tsa(tmp_path_factory.mktemp("tsa"), pki.root)
    yield server
    server.close()


def test_level_t_carries_a_timestamp_of_the_signature_value(
    examples: Path, schemas: Path, pki: Pki, tsa: Tsa, tmp_path: Path
) -> None:
    signer = IdentitySigner(pki.signer, [pki.root.cert])
    signed = sign_dcc(unsigned_bytes(examples), signer, signing_time=datetime.now(UTC), timestamp_url=tsa.url)
    root = etree.fromstring(signed)
    stamp = root.find(
        "ds:Signature/ds:Object/xades:QualifyingProperties/xades:UnsignedProperties/"
        "xades:UnsignedSignatureProperties/xades:SignatureTimeStamp",
        NS,
    )
    assert stamp is not None
    method = stamp.find("ds:CanonicalizationMethod", NS)
    assert method is not None and method.get("Algorithm") == "http://www.w3.org/2001/10/xml-exc-c14n#"
    # the imprint a verifier expects: SHA-256 of the exclusive-C14N ds:SignatureValue element, computed here
    value = root.find("ds:Signature/ds:SignatureValue", NS)
    assert value is not None
    imprint = hashlib.sha256(etree.tostring(value, method="c14n", exclusive=True)).hexdigest()
    token = tmp_path / "token.der"
    token.write_bytes(base64.b64decode(stamp.findtext("xades:EncapsulatedTimeStamp", namespaces=NS) or ""))
    check = [str(OPENSSL), "ts", "-verify", "-token_in", "-in", str(token), "-CAfile", str(tsa.dir / "root.pem")]
    good = subprocess.run([*check, "-digest", imprint], capture_output=True, text=True, timeout=30, check=False)
    assert good.returncode == 0 and "Verification: OK" in good.stdout, good.stdout + good.stderr
    other = hashlib.sha256(b"another signature value").hexdigest()
    bad = subprocess.run([*check, "-digest", other], capture_output=True, text=True, timeout=30, check=False)
    assert bad.returncode != 0  # the token covers this signature value only
    # unsigned properties do not change what is signed: both verifiers still accept it
    report = verify(signed, schemas, pki.root.cert)
    got = outcomes(report)
    assert got["signature"] == got["signing-certificate"] == got["chain"] == "pass"
    # the TSA chains to the same root: the token proves the time (its genTime, read here from the token itself)
    info = tsp.TSTInfo.load(
        cms.ContentInfo.load(token.read_bytes())["content"]["encap_content_info"]["content"].contents
    )
    stamped = info["gen_time"].native.strftime("%Y-%m-%dT%H:%M:%SZ")
    time_step = report.step("signing-time")
    assert time_step is not None and time_step.outcome == "pass"
    assert f"proves the signature existed at {stamped}" in time_step.en and "caltrace test TSA" in time_step.en
    assert xmlsec1_ok(signed, pki.root.cert, tmp_path)


def test_a_timestamp_server_that_does_not_answer_is_a_plain_error(examples: Path, pki: Pki, tsa: Tsa) -> None:
    signer = IdentitySigner(pki.signer, [pki.root.cert])
    closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = closed.server_address[1]
    closed.server_close()  # nothing listens there now
    with pytest.raises(TimestampError, match="did not answer"):
        sign_dcc(
            unsigned_bytes(examples), signer, signing_time=datetime.now(UTC), timestamp_url=f"http://127.0.0.1:{port}/"
        )
    with pytest.raises(TimestampError, match="not an http"):
        sign_dcc(unsigned_bytes(examples), signer, signing_time=datetime.now(UTC), timestamp_url="ftp://example/")


def test_the_answer_must_stamp_our_digest_with_our_nonce(tsa: Tsa) -> None:
    digest, nonce = hashlib.sha256(b"signature value").digest(), 123456789
    request = urllib.request.Request(
        tsa.url, data=request_der(digest, nonce), headers={"Content-Type": "application/timestamp-query"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        response = answer.read()
    assert token_from_response(response, digest, nonce)  # the real answer is accepted
    with pytest.raises(TimestampError, match="stamped other data"):
        token_from_response(response, hashlib.sha256(b"something else").digest(), nonce)
    with pytest.raises(TimestampError, match="nonce"):
        token_from_response(response, digest, nonce + 1)
    with pytest.raises(TimestampError, match="not an RFC 3161 response"):
        token_from_response(b"<html>proxy login</html>", digest, nonce)


def test_the_imprint_agrees_with_a_third_party_long_term_signature(examples: Path) -> None:
    # the _signed_lt example was timestamped by another lab's tool: its token's imprint must be what
    # timestamp_imprint computes from that file's own ds:SignatureValue (an independent check of the input)
    root = etree.parse(examples / "dcc_gp_temperature_typical_v12_v3.2.0_signed_lt.xml")
    stamp = root.find(".//xades:SignatureTimeStamp", NS)
    value = root.find(".//ds:SignatureValue", NS)
    assert stamp is not None and value is not None
    method = stamp.find("ds:CanonicalizationMethod", NS)
    assert method is not None and method.get("Algorithm") == "http://www.w3.org/2001/10/xml-exc-c14n#"
    der = base64.b64decode("".join((stamp.findtext("xades:EncapsulatedTimeStamp", namespaces=NS) or "").split()))
    info = tsp.TSTInfo.load(cms.ContentInfo.load(der)["content"]["encap_content_info"]["content"].contents)
    assert info["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"
    assert info["message_imprint"]["hashed_message"].native == timestamp_imprint(value)
