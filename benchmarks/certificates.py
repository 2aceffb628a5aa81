"""Issuing and verifying one certificate, against a bare signxml sign/verify of the same document (issue 17.11).

    python benchmarks/certificates.py [--quick]

Set-up (not timed): a fresh data directory, the demo lab seeded, a cg-18 balance calibration run on the virtual
lab and reviewed, the lab CA and the demo signatory's key (:mod:`lab.showcase`).

Timed, best of several repetitions (the machine may be shared):

(a) **issue**: build the DCC from the registry (:func:`certificates.dcc.build_dcc`), validate it against the DCC
    3.3.0 XSD, render the PDF embedded in it, sign it (XAdES-B-B, :func:`certificates.xades.sign_dcc`), render the
    PDF/A-3 with the signed DCC attached and sign it (PAdES): what ``certificate issue`` does (the registry
    writes and stored files aside). Target: <= 1 s.
(b) **verify** the signed XML (:func:`certificates.verify.verify_bytes`, every step incl. XSD). Target: <= 50 ms.
(c) the floor, measured in the same run: signxml's own enveloped sign and verify (RSA-SHA256, exclusive C14N,
    no XAdES properties, no schema) of the same unsigned DCC with the same key; the ratios of (a)'s XML signing
    and of (b) to it are printed for information.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PASSPHRASE = "benchmark-passphrase-1"


def best(fn: Callable[[], object], repeat: int) -> float:
    """Best time of one call (s) over ``repeat`` calls."""
    return min(timeit.repeat(fn, number=1, repeat=repeat))


def line(name: str, seconds: float, limit: float) -> None:
    ratio = seconds / limit
    verdict = "OK" if ratio <= 1 else "MISSED"
    print(f"{name:<52} {seconds * 1000:9.1f} ms  limit {limit * 1000:7.0f} ms  ratio {ratio:6.3f} {verdict}")


def info(name: str, seconds: float, floor: float) -> None:
    ratio = seconds / floor
    print(f"{name:<52} {seconds * 1000:9.1f} ms  floor {floor * 1000:7.1f} ms  ratio {ratio:6.2f} (information)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke test)")
    args = parser.parse_args()
    repeat = 3 if args.quick else 15

    with tempfile.TemporaryDirectory(prefix="caltrace-bench-cert-") as tmp:
        os.environ["CALTRACE_DATA_DIR"] = tmp
        os.environ.pop("CALTRACE_DATABASE_URL", None)
        run(Path(tmp), repeat)


def run(data: Path, repeat: int) -> None:
    from lxml import etree
    from signxml.algorithms import CanonicalizationMethod
    from signxml.signer import XMLSigner
    from signxml.verifier import XMLVerifier

    from acquisition.store import SQLiteReadingStore
    from certificates.dcc import build_dcc, to_bytes
    from certificates.pades import PdfA3
    from certificates.pdf import verification_url
    from certificates.pki import PkiPaths, current_crl, load_ca
    from certificates.verify import verify_bytes
    from certificates.verify.schema import load_schema, safe_parser, schema_dir
    from certificates.xades import sign_dcc
    from lab.showcase import reviewed_run, seed, signatory_key
    from registry.db import make_engine, session_scope
    from registry.settings import get_settings

    schemas = schema_dir()
    if schemas is None:
        sys.exit("no DCC schema directory (CALTRACE_SCHEMA_DIR, default ../shared/schemas/dcc): cannot validate")
    registry = make_engine(f"sqlite:///{data / 'caltrace.db'}")
    today = get_settings().lab_today()
    seed(registry, today)
    store = SQLiteReadingStore(data / "readings.db")
    try:
        run_id = reviewed_run(registry, store, "nawi-calibration-cg18", today)
    finally:
        store.close()
    paths = PkiPaths(data / "pki")
    signer = signatory_key(registry, paths, PASSPHRASE, today, datetime.now(UTC))
    ca = load_ca(paths)
    crl = current_crl(paths)
    assert crl is not None  # signatory_key publishes one
    xsd = load_schema(schemas, "3.3.0")

    def build() -> bytes:
        with session_scope(registry, "bench") as s:
            return to_bytes(build_dcc(s, run_id, number="BENCH-000001", issued_on=today))

    def issue_xml() -> bytes:
        unsigned = build()
        if not xsd.validate(etree.ElementTree(etree.fromstring(unsigned, safe_parser()))):
            raise SystemExit(f"the DCC is not valid: {xsd.error_log}")
        return sign_dcc(unsigned, signer, signing_time=datetime.now(UTC), crls=[crl])

    signed = issue_xml()
    report = verify_bytes(signed, "bench.xml", [ca], schema_directory=schemas)
    if not report.verified:
        raise SystemExit(f"the benchmark's own certificate does not verify: {report.steps}")

    unsigned = build()
    key = signer.private_key
    cert = signer.certificate

    def floor_sign() -> bytes:
        doc = etree.fromstring(unsigned)
        done = XMLSigner(c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0).sign(
            doc, key=key, cert=[cert]
        )
        return bytes(etree.tostring(done))

    floor_signed = floor_sign()

    def floor_verify() -> object:
        return XMLVerifier().verify(floor_signed, x509_cert=cert)

    t_build = best(build, repeat)
    t_issue_xml = best(issue_xml, repeat)
    t_verify = best(lambda: verify_bytes(signed, "bench.xml", [ca], schema_directory=schemas), repeat)
    t_floor_sign = best(floor_sign, repeat)
    t_floor_verify = best(floor_verify, repeat)

    print(f"caltrace certificate benchmark: cg-18 run {run_id[:8]}, DCC {len(signed)} bytes, best of {repeat}")
    info("(a1) build the DCC from the registry", t_build, t_floor_sign)
    info("(a2) build + XSD + XAdES-B-B sign (vs signxml sign)", t_issue_xml, t_floor_sign)
    maker = PdfA3()

    def issue_all() -> bytes:
        with session_scope(registry, "bench") as s:
            root = build_dcc(s, run_id, number="BENCH-000001", issued_on=today)
        if not xsd.validate(etree.ElementTree(root)):
            raise SystemExit(f"the DCC is not valid: {xsd.error_log}")
        maker.embed(root, verify_url=verification_url("BENCH-000001"))
        signed_xml = sign_dcc(to_bytes(root), signer, signing_time=datetime.now(UTC), crls=[crl])
        url = verification_url("BENCH-000001", signed_xml)
        return maker.signed_pdf(signed_xml, verify_url=url, signer=signer, signing_time=datetime.now(UTC),
                                timestamp_url=None)  # fmt: skip

    pdf = issue_all()
    pdf_report = verify_bytes(pdf, "bench.pdf", [ca], schema_directory=schemas)
    if not pdf_report.verified:
        raise SystemExit(f"the benchmark's own PDF does not verify: {pdf_report.steps}")
    pdf_repeat = max(2, repeat // 5)  # two renderings of about a second each per issue
    t_issue = best(issue_all, pdf_repeat)
    t_verify_pdf = best(lambda: verify_bytes(pdf, "bench.pdf", [ca], schema_directory=schemas), pdf_repeat)
    info("(a3) the whole issue incl. 2 PDF renders + PAdES (vs signxml)", t_issue, t_floor_sign)
    line("(a) issue one certificate (DCC + PDF/A-3, both signed)", t_issue, 1.0)
    info("(b2) verify the signed PDF and its DCC (vs signxml verify)", t_verify_pdf, t_floor_verify)
    info("(b) verify the signed DCC (vs signxml verify)", t_verify, t_floor_verify)
    line("(b) verify the signed DCC", t_verify, 0.050)


if __name__ == "__main__":
    main()
