"""Verify a Digital Calibration Certificate (PTB DCC XML), ours or another lab's, step by step.

Steps, in order (each reported with an outcome and a detail in Vietnamese and English, :mod:`.report`):

1. ``well-formed`` — parsed with a safe parser (no network, no entity expansion, no huge trees).
2. ``schema-version`` — the root's ``schemaVersion`` is one caltrace knows (2.4.0 to 3.3.0).
3. ``schema`` — XSD validation against that version's schema from the configured schema directory; a ``warn``
   saying so when no directory is configured.
4. ``signature`` — every ds:Reference digest and the SignatureValue (:mod:`.xmlsig`); a failing reference is named.
5. ``signing-certificate`` — the XAdES SigningCertificate(V2) digest matches the certificate that verified.
6. ``signing-time`` — the XAdES SigningTime, and whether a trusted timestamp proves it: a SignatureTimeStamp's
   RFC 3161 token is checked (:mod:`.tst`); when it covers this signature value and its TSA chains to a ``--trust``
   anchor, the stamped time is proven (``pass``) and the chain is judged at it; otherwise the time rests on the
   signer's claim (``warn``), and a token that is altered or stamps something else fails.
7. ``chain`` — a path from the signer to a ``--trust`` anchor, valid at the signing time and now (:mod:`.pki`).
8. ``revocation`` — embedded XAdES RevocationValues (CRL, OCSP); with a registry, a lab-issued signing certificate
   revoked there (``caltrace pki revoke``) fails and one not revoked passes on the registry's word.
9. With a registry (``registry=`` a session), for our own certificates (:mod:`.registry`): ``registry-status``
   (issued; substituted and revoked fail with the replacing number or the reason), ``stored-hash`` (the file is the
   one stored at issue) and ``authorisation`` (the signer was authorised at the signing time, not the technician).

A PDF (data starting ``%PDF-``) is verified by :mod:`.pdf`: its PAdES signature over the whole file, chain,
timestamp, PDF/A identification, the one attached DCC and its tie to the pages, then the attached DCC's own steps
above, each named ``dcc/<step>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from lxml import etree
from sqlalchemy.orm import Session

from certificates.pki import PkiPaths, pki_paths
from certificates.verify import pki, schema, tst, xmlsig
from certificates.verify.pdf import verify_pdf
from certificates.verify.registry import registry_steps
from certificates.verify.report import OUTCOME_WORDS, STEP_TITLES, Report, Step, step_title

__all__ = ["OUTCOME_WORDS", "STEP_TITLES", "Report", "Step", "step_title", "verify_bytes", "verify_file"]

DCC_NS = "https://ptb.de/dcc"
#: tolerated difference between the signer's clock and ours before a signing time counts as "in the future"
CLOCK_SKEW = timedelta(minutes=5)


def verify_file(
    path: Path,
    trust: Sequence[x509.Certificate] = (),
    *,
    schema_directory: Path | None = None,
    use_default_schema_dir: bool = True,
    now: datetime | None = None,
) -> Report:
    """Verify the DCC XML (or the certificate PDF) at ``path``; ValueError when it cannot be read."""
    data = path.read_bytes()
    return verify_bytes(
        data,
        str(path),
        trust,
        schema_directory=schema_directory,
        use_default_schema_dir=use_default_schema_dir,
        now=now,
    )


def verify_bytes(
    data: bytes,
    name: str,
    trust: Sequence[x509.Certificate] = (),
    *,
    schema_directory: Path | None = None,
    use_default_schema_dir: bool = True,
    now: datetime | None = None,
    registry: Session | None = None,
    pki_dir: PkiPaths | None = None,
) -> Report:
    """Verify a DCC given as bytes (XML, or a PDF carrying one). ``schema_directory`` overrides the setting
    (:func:`schema.schema_dir`). ``registry``: a session of our registry, for the steps of :mod:`.registry`
    (``pki_dir``: the lab's PKI directory, default that of the data directory); for a PDF they run on its attached
    DCC."""
    report = Report(name)
    when = now or datetime.now(UTC)
    if data.lstrip()[:5] == b"%PDF-":

        def inner(xml: bytes, inner_name: str) -> Report:
            return verify_bytes(
                xml,
                inner_name,
                trust,
                schema_directory=schema_directory,
                use_default_schema_dir=use_default_schema_dir,
                now=when,
                registry=registry,
                pki_dir=pki_dir,
            )

        return verify_pdf(data, report, trust, when, inner)
    try:
        tree = etree.ElementTree(etree.fromstring(data, schema.safe_parser()))
    except etree.XMLSyntaxError as exc:
        report.add("well-formed", "fail", f"XML sai cú pháp: {exc}", f"not well-formed XML: {exc}")
        return report
    root = tree.getroot()
    report.add("well-formed", "pass", "XML đúng cú pháp.", "well-formed XML.")
    if root.tag != f"{{{DCC_NS}}}digitalCalibrationCertificate":
        report.add(
            "schema-version",
            "fail",
            f"Phần tử gốc {root.tag} không phải dcc:digitalCalibrationCertificate.",
            f"the root element {root.tag} is not dcc:digitalCalibrationCertificate.",
        )
        return report
    version = root.get("schemaVersion")
    if version not in schema.SUPPORTED_VERSIONS:
        known = ", ".join(schema.SUPPORTED_VERSIONS)
        report.add(
            "schema-version",
            "fail",
            f"schemaVersion {version!r} không được hỗ trợ (hỗ trợ: {known}).",
            f"schemaVersion {version!r} is not supported (supported: {known}).",
        )
        return report
    report.add("schema-version", "pass", f"DCC phiên bản {version}.", f"DCC version {version}.")
    _schema_step(report, tree, version, schema_directory or (schema.schema_dir() if use_default_schema_dir else None))
    signed = _signature_steps(report, tree, list(trust), when)
    if registry is not None:
        paths = pki_dir if pki_dir is not None else pki_paths()
        signer, signing_time = signed if signed is not None else (None, None)
        registry_steps(report, root, data, signer, signing_time, registry, paths)
    return report


def _schema_step(report: Report, tree: etree._ElementTree, version: str, directory: Path | None) -> None:
    if directory is None:
        report.add(
            "schema",
            "warn",
            "Chưa kiểm tra theo lược đồ: chưa cấu hình thư mục lược đồ (CALTRACE_SCHEMA_DIR).",
            "schema validation is OFF: no schema directory is configured (CALTRACE_SCHEMA_DIR).",
        )
        return
    try:
        xsd = schema.load_schema(directory, version)
    except (ValueError, etree.XMLSchemaParseError, etree.XMLSyntaxError, OSError) as exc:
        report.add(
            "schema", "warn", f"Không nạp được lược đồ {version}: {exc}", f"could not load the {version} schema: {exc}"
        )
        return
    if xsd.validate(tree):
        report.add("schema", "pass", f"Hợp lệ theo lược đồ DCC {version}.", f"valid against the DCC {version} schema.")
        return
    log: Any = xsd.error_log  # lxml-stubs 0.5 do not declare _ErrorLog iterable
    errors = "; ".join(f"line {e.line}: {e.message}" for e in list(log)[:3])
    vi = f"Không hợp lệ theo lược đồ DCC {version}: {errors}"
    report.add("schema", "fail", vi, f"invalid against the DCC {version} schema: {errors}")


def _skip_rest(report: Report, vi: str, en: str) -> None:
    for name in ("signing-certificate", "signing-time", "chain", "revocation"):
        report.add(name, "skip", vi, en)


def _signature_steps(
    report: Report, tree: etree._ElementTree, trust: list[x509.Certificate], now: datetime
) -> tuple[x509.Certificate, datetime | None] | None:
    """The signature steps; returns (the signer's certificate, the signed signing time) of a valid signature."""
    sigs = xmlsig.find_signatures(tree.getroot())
    if not sigs:
        report.add(
            "signature",
            "warn",
            "Tệp không có chữ ký số: đã kiểm tra nội dung và lược đồ, không xác minh được nguồn gốc.",
            "the file is not signed: content and schema were checked, its origin cannot be verified.",
        )
        _skip_rest(report, "Không có chữ ký.", "no signature.")
        return None
    if len(sigs) > 1:
        report.add(
            "signature",
            "fail",
            f"Có {len(sigs)} chữ ký; caltrace chỉ kiểm tra tệp có một chữ ký.",
            f"{len(sigs)} signatures found; caltrace verifies files with exactly one.",
        )
        _skip_rest(report, "Không kiểm tra.", "not checked.")
        return None
    try:
        check = xmlsig.check_signature(tree, sigs[0])
    except (ValueError, TypeError) as exc:
        report.add("signature", "fail", f"Chữ ký hỏng, không kiểm tra được: {exc}", f"malformed signature: {exc}")
        _skip_rest(report, "Không kiểm tra.", "not checked.")
        return None
    bad = [r for r in check.references if not r.ok]
    if bad or not check.value_ok or not any(r.covers_document for r in check.references):
        parts = [f"reference {r.ref_id or r.uri!r} (URI {r.uri!r}): {r.problem}" for r in bad]
        parts_vi = [f"tham chiếu {r.ref_id or r.uri!r} (URI {r.uri!r}): {_vi_problem(r.problem)}" for r in bad]
        if not check.value_ok:
            parts.append(check.value_problem)
            parts_vi.append(f"giá trị chữ ký không xác minh được ({check.value_problem})")
        if not any(r.covers_document for r in check.references):
            parts.append("no reference covers the whole certificate")
            parts_vi.append("không tham chiếu nào bao trùm toàn bộ giấy chứng nhận")
        report.add("signature", "fail", "; ".join(parts_vi), "; ".join(parts))
        _skip_rest(report, "Không kiểm tra vì chữ ký không hợp lệ.", "not checked: the signature is invalid.")
        return None
    assert check.signer is not None
    kind = "XAdES" if check.xades else "XML-DSig"
    n = len(check.references)
    report.add(
        "signature",
        "pass",
        f"Chữ ký {kind} hợp lệ: {n} tham chiếu khớp, giá trị chữ ký đúng; người ký {pki.name(check.signer)}.",
        f"{kind} signature valid: {n} reference digests match, signature value verifies; "
        f"signer {pki.name(check.signer)}.",
    )
    _signing_certificate_step(report, check)
    signing_time, proven = _signing_time_step(report, check, now, trust)
    time_index = len(report.steps) - 1
    path = _chain_step(report, check, trust, signing_time, now, proven)
    ok_now = path is not None and not pki.invalid_at(path, now)
    if ok_now and signing_time is not None and report.steps[time_index].outcome == "warn":
        # ETSI EN 319 102-1 validation of a basic signature (clause 5.3 as remembered, unverified): a chain valid
        # now needs no proof of when the signature was made
        claimed = report.steps[time_index]
        report.steps[time_index] = Step(
            claimed.name,
            "pass",
            claimed.vi + " Không cần chứng minh thời điểm vì chuỗi chứng thư còn hiệu lực hiện nay.",
            claimed.en + " No proof of the time is needed: the chain is valid now.",
        )
    _revocation_step(report, check, path)
    return check.signer, (check.signing_time if check.signing_time_signed else None)


def _vi_problem(problem: str) -> str:
    if problem.startswith("digest does not match"):
        return "giá trị băm không khớp: nội dung được tham chiếu đã bị thay đổi sau khi ký"
    return f"không kiểm tra được ({problem})"


def _signing_certificate_step(report: Report, check: xmlsig.SignatureCheck) -> None:
    if check.signing_cert_digest is None:
        report.add(
            "signing-certificate",
            "skip",
            "Không có thuộc tính SigningCertificate (chữ ký XML-DSig thuần).",
            "no SigningCertificate property (plain XML-DSig).",
        )
    elif check.signing_cert_digest:
        report.add(
            "signing-certificate",
            "pass",
            "Giá trị băm SigningCertificate khớp với chứng thư đã ký.",
            "the SigningCertificate digest matches the certificate that signed.",
        )
    else:
        report.add(
            "signing-certificate",
            "fail",
            "Giá trị băm SigningCertificate không khớp với chứng thư đã ký.",
            "the SigningCertificate digest does not match the certificate that signed.",
        )


def _signing_time_step(
    report: Report, check: xmlsig.SignatureCheck, now: datetime, trust: list[x509.Certificate]
) -> tuple[datetime | None, bool]:
    """The time the chain is judged at, and whether a trusted timestamp proves it (else only the signer claims it)."""
    if check.signing_time is None or not check.signing_time_signed:
        report.add(
            "signing-time",
            "warn",
            "Không có thời điểm ký được ký kèm (XAdES SigningTime); chuỗi chứng thư chỉ kiểm tra ở thời điểm hiện tại.",
            "no signed signing time (XAdES SigningTime); the chain is checked at the present time only.",
        )
        return None, False
    t = check.signing_time.strftime("%Y-%m-%dT%H:%M:%SZ")
    if check.signing_time > now + CLOCK_SKEW:
        report.add(
            "signing-time",
            "fail",
            f"Thời điểm ký đã khai {t} nằm ở tương lai.",
            f"the claimed signing time {t} is in the future.",
        )
        return check.signing_time, False
    if not check.timestamp_present:
        vi = f"Người ký khai thời điểm ký {t}; không có dấu thời gian tin cậy nào chứng minh thời điểm này."
        en = f"the signer claims signing time {t}; no trusted timestamp proves it."
        report.add("signing-time", "warn", vi, en)
        return check.signing_time, False
    if check.timestamp_token is None or check.timestamp_data is None:
        problem = check.timestamp_problem or "the SignatureTimeStamp cannot be read"
        report.add("signing-time", "fail", f"Dấu thời gian hỏng: {problem}.", f"broken timestamp: {problem}.")
        return check.signing_time, False
    token = tst.check_token(check.timestamp_token, check.timestamp_data, trust)
    if token.untrusted:
        assert token.gen_time is not None
        g = token.gen_time.strftime("%Y-%m-%dT%H:%M:%SZ")
        report.add(
            "signing-time",
            "warn",
            f"Người ký khai thời điểm ký {t}. Có dấu thời gian (SignatureTimeStamp) {g} đúng về mật mã nhưng đơn vị "
            f"cấp dấu thời gian không dẫn đến chứng thư gốc tin cậy nào ({token.problem}): thời điểm chỉ dựa vào lời "
            "khai của người ký. Thêm chứng thư gốc của đơn vị cấp dấu thời gian bằng --trust nếu tin cậy.",
            f"the signer claims signing time {t}. A SignatureTimeStamp is present ({g}), sound, but {token.problem}: "
            "the time rests on the signer's claim only. Add the TSA's root with --trust if you trust it.",
        )
        return check.signing_time, False
    if not token.ok:
        report.add(
            "signing-time",
            "fail",
            f"Dấu thời gian (SignatureTimeStamp) không hợp lệ: {token.problem}.",
            f"the SignatureTimeStamp is not valid: {token.problem}.",
        )
        return check.signing_time, False
    assert token.gen_time is not None and token.tsa is not None
    g = token.gen_time.strftime("%Y-%m-%dT%H:%M:%SZ")
    if check.signing_time > token.gen_time + CLOCK_SKEW:
        report.add(
            "signing-time",
            "fail",
            f"Thời điểm ký đã khai {t} sau thời điểm của dấu thời gian {g}: không thể có.",
            f"the claimed signing time {t} is after the timestamp's time {g}: impossible.",
        )
        return check.signing_time, False
    tsa = pki.name(token.tsa)
    report.add(
        "signing-time",
        "pass",
        f"Dấu thời gian tin cậy của {tsa} chứng minh chữ ký đã có lúc {g} (người ký khai {t}).",
        f"a trusted timestamp by {tsa} proves the signature existed at {g} (the signer claims {t}).",
    )
    return token.gen_time, True


def _chain_step(
    report: Report,
    check: xmlsig.SignatureCheck,
    trust: list[x509.Certificate],
    signing_time: datetime | None,
    now: datetime,
    proven: bool = False,
) -> list[x509.Certificate] | None:
    """The path to an anchor, judged at ``signing_time`` (proven by a trusted timestamp, or only claimed) and now."""
    assert check.signer is not None
    if not trust:
        report.add(
            "chain",
            "fail",
            "Chưa cho chứng thư gốc tin cậy (--trust): không xác lập được độ tin cậy của người ký.",
            "no trust anchor given (--trust): the signer cannot be trusted.",
        )
        return None
    path = pki.build_path(check.signer, check.certificates, trust)
    if path is None:
        report.add(
            "chain",
            "fail",
            f"Người ký {pki.name(check.signer)} không dẫn đến chứng thư gốc tin cậy nào.",
            f"the signer {pki.name(check.signer)} does not chain to any trust anchor given.",
        )
        return None
    names = " → ".join(pki.name(c) for c in path)
    bad_now = pki.invalid_at(path, now)
    if signing_time is None:
        if bad_now:
            which = ", ".join(f"{pki.name(c)} (hết hạn/expires {c.not_valid_after_utc:%Y-%m-%d})" for c in bad_now)
            report.add(
                "chain",
                "fail",
                f"Chuỗi {names} không hiệu lực hiện nay: {which}.",
                f"chain {names} not valid now: {which}.",
            )
        else:
            report.add("chain", "pass", f"Chuỗi hiệu lực hiện nay: {names}.", f"chain valid now: {names}.")
        return path
    when_vi, when_en = (
        ("thời điểm dấu thời gian chứng minh", "the time the timestamp proves")
        if proven
        else (
            "thời điểm ký đã khai",
            "the claimed signing time",
        )
    )
    bad_then = pki.invalid_at(path, signing_time)
    if bad_then:
        which = ", ".join(pki.name(c) for c in bad_then)
        report.add(
            "chain",
            "fail",
            f"Chuỗi {names} không hiệu lực tại {when_vi}: {which}.",
            f"chain {names} not valid at {when_en}: {which}.",
        )
        return path
    if not bad_now:
        report.add(
            "chain",
            "pass",
            f"Chuỗi hiệu lực tại {when_vi} và hiện nay: {names}.",
            f"chain valid at {when_en} and now: {names}.",
        )
        return path
    if proven:
        expired = ", ".join(f"{pki.name(c)} {c.not_valid_after_utc:%Y-%m-%d}" for c in bad_now)
        report.add(
            "chain",
            "pass",
            f"Chuỗi hiệu lực tại thời điểm dấu thời gian tin cậy chứng minh; nay đã hết hạn ({expired}), điều đó không "
            f"làm mất hiệu lực chữ ký đã có trước. Chuỗi: {names}.",
            f"valid at the time a trusted timestamp proves; expired now ({expired}), which does not undo a "
            f"signature proven to exist before. Chain: {names}.",
        )
        return path
    expired = ", ".join(f"{pki.name(c)} {c.not_valid_after_utc:%Y-%m-%d}" for c in bad_now)
    report.add(
        "chain",
        "warn",
        f"Hiệu lực tại thời điểm ký đã khai, hết hạn hiện nay ({expired}); không có dấu thời gian tin cậy nào "
        f"chứng minh thời điểm ký. Chuỗi: {names}.",
        f"valid at the claimed signing time, expired now ({expired}); no trusted timestamp proves the time. "
        f"Chain: {names}.",
    )
    return path


def _revocation_step(report: Report, check: xmlsig.SignatureCheck, path: list[x509.Certificate] | None) -> None:
    if path is None:
        report.add("revocation", "skip", "Không có chuỗi chứng thư để kiểm tra.", "no chain to check.")
        return
    if not check.crls and not check.ocsps:
        report.add(
            "revocation",
            "warn",
            "Chữ ký không kèm thông tin thu hồi (RevocationValues); chưa kiểm tra được tình trạng thu hồi.",
            "the signature carries no revocation values (RevocationValues); revocation status not checked.",
        )
        return
    statuses = [pki.revocation(c, path[i + 1], check.crls, check.ocsps) for i, c in enumerate(path[:-1])]
    revoked = [s for s in statuses if s.status == "revoked"]
    if revoked:
        which = ", ".join(
            f"{pki.name(s.cert)} ({s.source}, {s.revoked_at:%Y-%m-%dT%H:%M:%SZ})" if s.revoked_at else pki.name(s.cert)
            for s in revoked
        )
        report.add("revocation", "fail", f"Chứng thư đã bị thu hồi: {which}.", f"certificate revoked: {which}.")
        return
    unknown = [pki.name(s.cert) for s in statuses if s.status == "unknown"]
    if unknown:
        which = ", ".join(unknown)
        report.add(
            "revocation",
            "warn",
            f"Không có thông tin thu hồi đáng tin cho: {which}.",
            f"no trustworthy revocation value for: {which}.",
        )
        return
    sources = "; ".join(f"{pki.name(s.cert)}: {s.source}" for s in statuses)
    report.add(
        "revocation",
        "pass",
        f"Thông tin thu hồi kèm theo (đã kiểm tra chữ ký): không chứng thư nào trong chuỗi bị thu hồi ({sources}).",
        f"the embedded revocation values (signatures checked) show no certificate of the chain revoked ({sources}).",
    )
