"""The certificate PDF (caltrace issue 17 items 4, 5, 7, 10): PDF/A-3b rendered from the DCC, PAdES-signed, verified;
independent tools agree (poppler's pdfsig, pdffonts, pdftotext; fontTools; pyHanko's validator through our verifier).

Cheap tests use a small DCC written here (:func:`small_dcc`); the story test renders the DCC of a reviewed cg-18 demo
run and checks what the page shows against that DCC's own numbers.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from certificates.pades import sign_pdf
from certificates.pdf import embed_document, read_view, render_html, render_pdf, verification_url
from certificates.pdf_chart import chart
from certificates.pdf_view import unit_text
from certificates.verify import Report, verify_bytes
from certificates.xades import sign_dcc
from tests.acquisition.conftest import demo_run  # noqa: F401  (the fixture reviewed_story uses)
from tests.certificates.conftest import Pki
from tests.certificates.test_dcc_build import reviewed_story, schema_errors  # noqa: F401  (the fixture)
from tests.certificates.test_xades import IdentitySigner
from tests.certificates.test_xades_timestamp import tsa  # noqa: F401  (the local timestamp server)

NS = {"dcc": "https://ptb.de/dcc", "si": "https://ptb.de/si"}
NUMBER = "HC-2026-000123"
#: every Vietnamese letter with its tone marks that a name or an address may hold (the issue's test string)
VIETNAMESE = "ẮẰẲẴẶăắằẳẵặ ĐđƠơỚớỜờỞởỠỡỢợƯưỨứỪừỬửỮữỰự ệếềểễ ộốồổỗ ịỉĩ ụủũ ỳýỷỹỵ"


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is not installed (Debian poppler-utils; scripts/debian-packages.txt)")
    return path


def small_dcc(customer: str = "Công ty TNHH Đo lường Thử", number: str = NUMBER) -> bytes:
    """A small DCC 3.3.0 with two error-of-indication results with U, one with MPE limits (PTB's
    basic_acceptanceLimitLower/Upper), and a conformity statement."""
    rows = ""
    for point, error, U, mpe in (("100", "0.12", "0.05", "0.5"), ("200", "-0.08", "0.06", "1.0")):
        rows += f"""
      <dcc:result><dcc:name><dcc:content lang="vi">sai số chỉ thị</dcc:content>
        <dcc:content lang="en">error of indication</dcc:content></dcc:name>
        <dcc:data>
          <dcc:quantity refType="basic_referenceValue"><si:real><si:value>{point}</si:value>
            <si:unit>\\kilogram</si:unit></si:real></dcc:quantity>
          <dcc:quantity refType="basic_measurementError"><si:real><si:value>{error}</si:value><si:unit>\\gram</si:unit>
            <si:measurementUncertaintyUnivariate><si:expandedMU><si:valueExpandedMU>{U}</si:valueExpandedMU>
            <si:coverageFactor>2</si:coverageFactor><si:coverageProbability>0.95</si:coverageProbability></si:expandedMU>
            </si:measurementUncertaintyUnivariate></si:real>
            <dcc:measurementMetaData><dcc:metaData refType="basic_conformity"><dcc:declaration>
              <dcc:content lang="vi">đạt. Quy tắc quyết định: chấp nhận đơn giản</dcc:content>
              <dcc:content lang="en">pass. Decision rule: simple acceptance</dcc:content></dcc:declaration>
              <dcc:conformity>pass</dcc:conformity></dcc:metaData></dcc:measurementMetaData></dcc:quantity>
          <dcc:quantity refType="basic_acceptanceLimitLower"><si:real><si:value>-{mpe}</si:value>
            <si:unit>\\gram</si:unit></si:real></dcc:quantity>
          <dcc:quantity refType="basic_acceptanceLimitUpper"><si:real><si:value>{mpe}</si:value>
            <si:unit>\\gram</si:unit></si:real></dcc:quantity>
        </dcc:data></dcc:result>"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<dcc:digitalCalibrationCertificate xmlns:dcc="https://ptb.de/dcc" xmlns:si="https://ptb.de/si" schemaVersion="3.3.0">
  <dcc:administrativeData>
    <dcc:dccSoftware><dcc:software><dcc:name><dcc:content>caltrace</dcc:content></dcc:name>
      <dcc:release>v0.1.0</dcc:release></dcc:software></dcc:dccSoftware>
    <dcc:coreData><dcc:countryCodeISO3166_1>VN</dcc:countryCodeISO3166_1>
      <dcc:usedLangCodeISO639_1>vi</dcc:usedLangCodeISO639_1><dcc:usedLangCodeISO639_1>en</dcc:usedLangCodeISO639_1>
      <dcc:mandatoryLangCodeISO639_1>vi</dcc:mandatoryLangCodeISO639_1>
      <dcc:uniqueIdentifier>{number}</dcc:uniqueIdentifier>
      <dcc:beginPerformanceDate>2026-11-20</dcc:beginPerformanceDate><dcc:endPerformanceDate>2026-11-21</dcc:endPerformanceDate>
      <dcc:performanceLocation>laboratory</dcc:performanceLocation><dcc:issueDate>2026-11-22</dcc:issueDate></dcc:coreData>
    <dcc:items><dcc:item><dcc:name><dcc:content>Cân bàn điện tử</dcc:content></dcc:name>
      <dcc:identifications><dcc:identification><dcc:issuer>manufacturer</dcc:issuer><dcc:value>SN-1</dcc:value>
      </dcc:identification></dcc:identifications></dcc:item></dcc:items>
    <dcc:calibrationLaboratory><dcc:contact><dcc:name><dcc:content>Trung tâm Đo lường Thử</dcc:content></dcc:name>
      <dcc:location><dcc:further><dcc:content>Số 1, tỉnh Thử</dcc:content></dcc:further></dcc:location></dcc:contact>
    </dcc:calibrationLaboratory>
    <dcc:respPersons><dcc:respPerson>
      <dcc:person><dcc:name><dcc:content>Nguyễn Thị Hoa</dcc:content></dcc:name></dcc:person>
      <dcc:role>signatory</dcc:role><dcc:mainSigner>true</dcc:mainSigner></dcc:respPerson></dcc:respPersons>
    <dcc:customer><dcc:name><dcc:content>{customer}</dcc:content></dcc:name>
      <dcc:location><dcc:further><dcc:content>KCN Thử</dcc:content></dcc:further></dcc:location></dcc:customer>
  </dcc:administrativeData>
  <dcc:measurementResults><dcc:measurementResult><dcc:name><dcc:content>Kết quả</dcc:content></dcc:name>
    <dcc:results>{rows}
    </dcc:results></dcc:measurementResult></dcc:measurementResults>
</dcc:digitalCalibrationCertificate>""".encode()


def signed_pdf(pki: Pki, dcc: bytes | None = None, **sign: object) -> tuple[bytes, bytes]:
    """(signed DCC, signed PDF carrying it) by the test signer."""
    signer = IdentitySigner(pki.signer, [pki.root.cert])
    xml = sign_dcc(dcc or small_dcc(), signer, signing_time=datetime.now(UTC))
    number = etree.fromstring(xml).findtext("dcc:administrativeData/dcc:coreData/dcc:uniqueIdentifier", namespaces=NS)
    assert number
    pdf = render_pdf(xml, verify_url=verification_url(number, xml, base="https://cal.example.vn"), attachment=xml)
    return xml, sign_pdf(pdf, signer, **sign)  # type: ignore[arg-type]


def outcomes(report: Report) -> dict[str, str]:
    return {s.name: s.outcome for s in report.steps}


def verify_pdf(data: bytes, pki: Pki, schemas: Path | None = None) -> Report:
    return verify_bytes(data, "cert.pdf", [pki.root.cert], schema_directory=schemas, use_default_schema_dir=False)


def catalog(pdf: bytes):  # type: ignore[no-untyped-def]
    from pyhanko.pdf_utils.reader import PdfFileReader

    return PdfFileReader(io.BytesIO(pdf), strict=False)


def pdftotext(pdf: Path, page: int | None = None) -> str:
    args = [need("pdftotext"), "-layout"]
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    done = subprocess.run([*args, str(pdf), "-"], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def pdfsig(pdf: Path) -> str:
    done = subprocess.run([need("pdfsig"), str(pdf)], capture_output=True, text=True, timeout=60, check=False)
    return done.stdout + done.stderr


# --- rendering ---------------------------------------------------------------------------------------------------


def test_units_are_shown_in_the_usual_notation() -> None:
    # D-SI strings spelt out by hand from the D-SI guide's composition rules (prefix token, \tothe{n}, \per)
    assert unit_text(r"\hecto\pascal") == "hPa"
    assert unit_text(r"\metre\tothe{3}\per\hour") == "m³/h"
    assert unit_text(r"\degreecelsius") == "°C"
    assert unit_text(r"\one") == ""
    assert unit_text(r"\kilogram") == "kg" and unit_text(r"\milli\gram") == "mg"
    assert unit_text(r"\nonsense") == r"\nonsense"  # shown as written, never guessed


def test_the_small_dcc_is_schema_valid(schemas: Path) -> None:
    assert schema_errors(schemas, small_dcc()) == []


def test_pdfa3b_with_the_signed_dcc_as_associated_file(pki: Pki, tmp_path: Path) -> None:
    signer = IdentitySigner(pki.signer, [pki.root.cert])
    xml = sign_dcc(small_dcc(), signer, signing_time=datetime.now(UTC))
    url = verification_url(NUMBER, xml, base="https://cal.example.vn/")
    # the URL carries the first 16 hex digits of the SHA-256 of the signed bytes, computed here
    assert url == f"https://cal.example.vn/verify/{NUMBER}?h={hashlib.sha256(xml).hexdigest()[:16]}"
    pdf = render_pdf(xml, verify_url=url, attachment=xml)
    reader = catalog(pdf)
    xmp = bytes(reader.root["/Metadata"].get_object().data)
    assert re.search(rb'pdfaid:part(="|>)3', xmp) and re.search(rb'pdfaid:conformance(="|>)B', xmp), xmp[:600]
    intents = [i.get_object() for i in reader.root["/OutputIntents"]]
    assert any(str(i["/S"]) == "/GTS_PDFA1" and "/DestOutputProfile" in i for i in intents)
    af = [ref.get_object() for ref in reader.root["/AF"]]
    assert len(af) == 1
    spec = af[0]
    assert str(spec["/AFRelationship"]) == "/Source"
    stream = spec["/EF"]["/F"].get_object()
    assert str(stream["/Subtype"]).lower() in ("/application/xml", "/application#2fxml")
    assert stream.data == xml  # the signed DCC, byte for byte
    assert str(spec["/UF"]) == "dcc.xml"
    # the QR code's URL is also a link on page 1
    page = reader.root["/Pages"]["/Kids"][0].get_object()
    uris = [str(a.get_object()["/A"]["/URI"]) for a in page["/Annots"] if "/A" in a.get_object()]
    assert url in uris


def test_every_page_shows_the_number_and_page_x_of_y(pki: Pki, tmp_path: Path) -> None:
    long = small_dcc().replace(b"<dcc:results>", b"<dcc:results>" + b"".join(
        small_dcc().split(b"<dcc:results>")[1].split(b"</dcc:results>")[0] for _ in range(20)), 1)  # fmt: skip
    path = tmp_path / "long.pdf"
    path.write_bytes(render_pdf(long, verify_url="https://cal.example.vn/verify/x"))
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(
        [need("pdfinfo"), str(path)], capture_output=True, text=True, check=True).stdout).group(1))  # type: ignore[union-attr]  # fmt: skip
    assert pages >= 2  # 42 result rows do not fit on one page
    for n in range(1, pages + 1):
        text = " ".join(pdftotext(path, n).split())
        assert f"Trang {n} / {pages} — Page {n} of {pages}" in text, (n, text[-300:])
        assert f"Số / No. {NUMBER}" in text


def test_chart_has_u_bars_and_mpe_lines_from_the_dcc() -> None:
    view = read_view(etree.fromstring(small_dcc()))
    drawn = chart(view.results)
    assert drawn is not None
    assert drawn.x_unit == "kg" and drawn.y_unit == "g"
    assert [(p.x, p.y, p.U) for s in drawn.series for p in s.points] == [(100.0, 0.12, 0.05), (200.0, -0.08, 0.06)]
    assert drawn.limits == [(100.0, -0.5, 0.5), (200.0, -1.0, 1.0)]
    assert drawn.svg.count('class="ubar"') == 2 and drawn.svg.count('class="mpe"') == 2
    html, _ = render_html(view, verify_url="https://cal.example.vn/verify/x")
    assert "MPE" in html and "± U" in html
    # the conformity statement with its decision rule is on the page
    assert "Decision rule: simple acceptance" in html and "Quy tắc quyết định" in html
    # no U stated (a verification's errors): the points against their ±MPE, without U bars
    bare = small_dcc().replace(b"<si:valueExpandedMU>", b"<!--").replace(b"</si:valueExpandedMU>", b"-->")
    no_u = chart(read_view(etree.fromstring(bare)).results)
    assert no_u is not None and [(p.x, p.y, p.U) for s in no_u.series for p in s.points] == [
        (100.0, 0.12, 0.0),
        (200.0, -0.08, 0.0),
    ]
    assert no_u.svg.count('class="ubar"') == 0 and no_u.svg.count('class="mpe"') == 2
    # caltrace's own ±MPE refType (decision 0425) is read alike
    tolerance = small_dcc().replace(b"basic_acceptanceLimit", b"basic_toleranceLimit")
    own = chart(read_view(etree.fromstring(tolerance)).results)
    assert own is not None and own.limits == [(100.0, -0.5, 0.5), (200.0, -1.0, 1.0)]
    # neither U nor limits: nothing to plot
    neither = bare.replace(b'refType="basic_acceptanceLimitLower"', b"").replace(
        b'refType="basic_acceptanceLimitUpper"', b""
    )
    assert chart(read_view(etree.fromstring(neither)).results) is None


def test_another_labs_dcc_renders_its_lists(examples: Path, tmp_path: Path) -> None:
    # PTB's good-practice temperature DCC (3.1.1) writes its results as lists (si:hybrid/si:realListXMLList):
    # each list is shown as a line of values, read here from the file itself
    source = examples / "dcc_gp_temperature_typical_v12.xml"
    doc = etree.parse(str(source))
    path = tmp_path / "gp.pdf"
    path.write_bytes(render_pdf(source.read_bytes(), verify_url="https://x/verify/n"))
    text = " ".join(pdftotext(path).split())
    number = doc.findtext(".//dcc:coreData/dcc:uniqueIdentifier", namespaces=NS)
    assert number and f"Số / No. {number}" in text
    lists = doc.findall(".//dcc:result/dcc:data/dcc:list/dcc:quantity", NS)
    assert len(lists) >= 3
    for quantity in lists:
        first = quantity.findtext(".//si:valueXMLList", namespaces=NS)  # the first list (hybrid: the first unit)
        assert first and " ".join(first.split()) in text, first
    # a list's expanded uncertainty is shown with it (D-SI 2.x expandedUncXMLList): U, k and p as written
    unc = doc.find(".//dcc:result//si:expandedUncXMLList", NS)
    assert unc is not None
    U, k, p = (unc.findtext(f"si:{n}XMLList", namespaces=NS) for n in ("uncertainty", "coverageFactor",
                                                                        "coverageProbability"))  # fmt: skip
    assert f"U = {U} K, k = {k}, p = {p}" in text
    # its conformity statement, with the acceptance limits it names
    verdict = doc.findtext(".//dcc:result//dcc:metaData[@refType='basic_conformity']/dcc:conformityXMLList",
                           namespaces=NS)  # fmt: skip
    assert verdict and f"Conformity: {verdict}" in text
    upper = doc.findtext(".//dcc:quantity[@refType='basic_acceptanceLimitUpper']//si:valueXMLList", namespaces=NS)
    assert upper and " ".join(upper.split()) in text


def test_bad_input_is_a_plain_error() -> None:
    with pytest.raises(ValueError, match="not well-formed"):
        render_pdf(b"<dcc:x", verify_url="u")
    with pytest.raises(ValueError, match="not dcc:digitalCalibrationCertificate"):
        render_pdf(b"<a/>", verify_url="u")
    no_number = small_dcc().replace(f"<dcc:uniqueIdentifier>{NUMBER}</dcc:uniqueIdentifier>".encode(), b"")
    with pytest.raises(ValueError, match="uniqueIdentifier"):
        render_pdf(no_number, verify_url="u")
    with pytest.raises(ValueError, match="not a PDF"):
        sign_pdf(b"<xml/>", IdentitySigner.__new__(IdentitySigner))
    root = etree.fromstring(small_dcc())
    with pytest.raises(ValueError, match="not a PDF"):
        embed_document(root, b"hello")


def test_vietnamese_glyphs_embedded_and_covered(tmp_path: Path) -> None:
    from fontTools.ttLib import TTFont

    path = tmp_path / "vi.pdf"
    path.write_bytes(render_pdf(small_dcc(customer=VIETNAMESE), verify_url="https://cal.example.vn/verify/x"))
    # pdffonts: every font embedded (column "emb" yes), and only the certificate font is used
    listing = subprocess.run([need("pdffonts"), str(path)], capture_output=True, text=True, check=True).stdout
    rows = listing.splitlines()[2:]
    assert rows and all(re.search(r"\s(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+$", r) for r in rows), listing
    assert all(r.split()[-5] == "yes" for r in rows), listing  # emb
    assert all("Cert-Sans" in r for r in rows), listing  # no fallback font had to stand in
    # the text is extracted back as written (ToUnicode maps every glyph to its letter)
    assert VIETNAMESE in " ".join(pdftotext(path, 1).split())
    # fontTools: every letter of the string is in the cmap of an embedded font and its glyph has outlines
    reader = catalog(path.read_bytes())
    fonts = reader.root["/Pages"]["/Kids"][0].get_object()["/Resources"]["/Font"]
    covered: set[str] = set()
    for ref in fonts.values():
        font = ref.get_object()
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        tt = TTFont(io.BytesIO(descriptor["/FontFile2"].get_object().data))
        cmap = tt.getBestCmap() or {}
        glyf = tt["glyf"]
        for ch in set(VIETNAMESE) - {" "}:
            name = cmap.get(ord(ch))
            if name and name != ".notdef" and glyf[name].numberOfContours != 0:
                covered.add(ch)
    assert set(VIETNAMESE) - {" "} - covered == set()
    # the picture (looked at by hand once: tests/certificates/README or the report), made here so it can be
    png = tmp_path / "page"
    subprocess.run([need("pdftoppm"), "-png", "-r", "100", "-f", "1", "-l", "1", str(path), str(png)], check=True,
                   timeout=60)  # fmt: skip
    assert (tmp_path / "page-1.png").stat().st_size > 10_000


# --- signing and verification ------------------------------------------------------------------------------------


def test_signed_pdf_stays_pdfa_and_independent_tools_agree(pki: Pki, tmp_path: Path) -> None:
    when = pki.signer.cert.not_valid_before_utc.replace(microsecond=0) + timedelta(hours=1)  # not now: given
    _, signed = signed_pdf(
        pki, reason="Phát hành giấy chứng nhận / certificate issued", location="Thử", signing_time=when
    )
    # the signing time given is the signature dictionary's /M (PDF date, UTC)
    assert str(catalog(signed).embedded_signatures[0].sig_object["/M"]).startswith(f"D:{when:%Y%m%d%H%M%S}")
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    said = pdfsig(path)
    assert "Signature is Valid" in said and "Total document signed" in said, said
    assert "ETSI.CAdES.detached" in said  # PAdES
    # the signature is an incremental update: PDF/A identification and the attachment are still there
    reader = catalog(signed)
    xmp = bytes(reader.root["/Metadata"].get_object().data)
    assert re.search(rb'pdfaid:part(="|>)3', xmp) and re.search(rb'pdfaid:conformance(="|>)B', xmp)
    producer = re.search(rb'pdf:Producer(?:="|>)([^"<]*)', xmp)
    assert producer and str(reader.trailer["/Info"]["/Producer"]) == producer.group(1).decode()
    assert "/OutputIntents" in reader.root and "/AF" in reader.root
    # our verifier (pyHanko's validator inside) agrees
    got = outcomes(verify_pdf(signed, pki))
    assert got["pdf-signature"] == got["pdf-chain"] == got["pdf-timestamp"] == "pass", got
    assert got["pdfa"] == got["pdf-dcc"] == got["pdf-binding"] == "pass", got
    assert got["dcc/signature"] == got["dcc/chain"] == "pass", got


def test_a_changed_byte_fails_the_signature_step(pki: Pki, tmp_path: Path) -> None:
    _, signed = signed_pdf(pki)
    # a digit of the page's content stream, inside the signed range: find a byte away from the signature value
    at = signed.index(b"stream", 2000) + 20
    tampered = signed[:at] + bytes([signed[at] ^ 0x01]) + signed[at + 1 :]
    report = verify_pdf(tampered, pki)
    assert outcomes(report)["pdf-signature"] == "fail", outcomes(report)
    path = tmp_path / "tampered.pdf"
    path.write_bytes(tampered)
    assert "Signature is Valid" not in pdfsig(path)  # poppler agrees
    # something appended after signing (an incremental update) fails too
    appended = signed + b"\n% appended after signing\n"
    assert outcomes(verify_pdf(appended, pki))["pdf-signature"] == "fail"


def _swap_attachment(pdf: bytes, other: bytes) -> bytes:
    """An incremental update (pyHanko's writer) replacing the attached file's bytes: not re-signed."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    spec = writer.root["/AF"][0].get_object()
    ref = spec["/EF"].raw_get("/F")
    new = generic.StreamObject({"/Type": generic.NameObject("/EmbeddedFile"),
                                "/Subtype": generic.NameObject("/application/xml")}, stream_data=other)  # fmt: skip
    spec["/EF"]["/F"] = writer.add_object(new)
    writer.mark_update(ref)
    writer.update_container(spec)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_swapped_dcc_fails_at_a_named_step(pki: Pki) -> None:
    signer = IdentitySigner(pki.signer, [pki.root.cert])
    xml, signed = signed_pdf(pki)
    other = sign_dcc(small_dcc(customer="Khách hàng khác"), signer, signing_time=datetime.now(UTC))
    # 1. the attachment replaced after signing, not re-signed: the PDF signature no longer covers the file
    got = outcomes(verify_pdf(_swap_attachment(signed, other), pki))
    assert got["pdf-signature"] == "fail", got
    assert got["pdf-binding"] == "fail", got  # and the page names the other DCC's hash
    # 2. re-signed by a trusted signer: the page (QR) names certificate A, the attached DCC is B
    url = verification_url(NUMBER, xml, base="https://cal.example.vn")
    forged = sign_pdf(render_pdf(xml, verify_url=url, attachment=other), signer)
    report = verify_pdf(forged, pki)
    got = outcomes(report)
    assert got["pdf-signature"] == got["pdf-chain"] == "pass" and got["pdf-binding"] == "fail", got
    assert "swapped" in (report.step("pdf-binding").en if report.step("pdf-binding") else "")  # type: ignore[union-attr]
    # 3. no DCC at all, and two DCCs
    bare = sign_pdf(render_pdf(xml, verify_url=url), signer)
    assert outcomes(verify_pdf(bare, pki))["pdf-dcc"] == "fail"
    import weasyprint

    html, _ = render_html(read_view(etree.fromstring(xml)), verify_url=url)
    two = [weasyprint.Attachment(url="data:application/xml;base64," + base64.b64encode(d).decode(), name=n,
                                 relationship="Source") for d, n in ((xml, "a.xml"), (other, "b.xml"))]  # fmt: skip
    doubled = sign_pdf(weasyprint.HTML(string=html).write_pdf(pdf_variant="pdf/a-3b", attachments=two), signer)
    report = verify_pdf(doubled, pki)
    assert outcomes(report)["pdf-dcc"] == "fail" and "2 DCCs" in report.step("pdf-dcc").en  # type: ignore[union-attr]


def test_a_plain_pdf_is_not_confirmed_as_pdfa(pki: Pki) -> None:
    # a PDF that is not PDF/A, its DCC attached but not as an associated file: both steps say so (warn, not pass)
    import weasyprint

    signer = IdentitySigner(pki.signer, [pki.root.cert])
    xml = sign_dcc(small_dcc(), signer, signing_time=datetime.now(UTC))
    url = verification_url(NUMBER, xml, base="https://x")
    html, _ = render_html(read_view(etree.fromstring(xml)), verify_url=url)
    attached = weasyprint.Attachment(url="data:application/xml;base64," + base64.b64encode(xml).decode(), name="d.xml")
    plain = sign_pdf(weasyprint.HTML(string=html).write_pdf(attachments=[attached]), signer)
    report = verify_pdf(plain, pki)
    got = outcomes(report)
    assert got["pdfa"] == "warn" and "pdfaid:part" in report.step("pdfa").en, got  # type: ignore[union-attr]
    assert got["pdf-dcc"] == "warn" and got["pdf-signature"] == got["pdf-binding"] == "pass", got
    assert not report.verified


def test_untrusted_signer_fails_the_chain(pki: Pki) -> None:
    stranger = IdentitySigner(pki.stranger, [pki.stranger_root.cert])
    xml = sign_dcc(small_dcc(), stranger, signing_time=datetime.now(UTC))
    pdf = render_pdf(xml, verify_url=verification_url(NUMBER, xml, base="https://x"), attachment=xml)
    got = outcomes(verify_pdf(sign_pdf(pdf, stranger), pki))
    assert got["pdf-signature"] == "pass" and got["pdf-chain"] == "fail" and got["dcc/chain"] == "fail", got


def test_level_bt_with_the_local_timestamp_server(pki: Pki, tmp_path: Path, tsa) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _, signed = signed_pdf(pki, timestamp_url=tsa.url)
    report = verify_pdf(signed, pki)
    got = outcomes(report)
    assert got["pdf-signature"] == got["pdf-chain"] == got["pdf-timestamp"] == "pass", got
    assert "PAdES B-T" in report.step("pdf-timestamp").en  # type: ignore[union-attr]
    assert tsa.requests >= 1
    assert got["pdfa"] == "pass", got  # still PDF/A after a timestamped signature
    path = tmp_path / "bt.pdf"
    path.write_bytes(signed)
    said = pdfsig(path)
    assert "Signature is Valid" in said and "Total document signed" in said, said
    # the token is over this signature: pyHanko's validator reports it intact and trusted (the TSA chains to root)
    from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    ctx = ValidationContext(trust_roots=[asn1_x509.Certificate.load(pki.root.cert.public_bytes(Encoding.DER))])
    status = validate_pdf_signature(catalog(signed).embedded_signatures[0], ctx, ctx)
    assert status.timestamp_validity is not None and status.timestamp_validity.intact
    assert status.timestamp_validity.trusted


def test_a_timestamp_server_that_does_not_answer_is_a_plain_error(pki: Pki) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from certificates.timestamp import TimestampError

    closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = closed.server_address[1]
    closed.server_close()  # nothing listens there now
    pdf = render_pdf(small_dcc(), verify_url="https://x/verify/y")
    signer = IdentitySigner(pki.signer, [pki.root.cert])
    with pytest.raises(TimestampError, match="did not answer|no usable token"):
        sign_pdf(pdf, signer, timestamp_url=f"http://127.0.0.1:{port}/tsa")
    with pytest.raises(TimestampError, match="not an http"):
        sign_pdf(pdf, signer, timestamp_url="ftp://example/")


def test_embedded_document_is_schema_valid(pki: Pki, schemas: Path) -> None:
    root = etree.fromstring(small_dcc())
    inner = render_pdf(root, verify_url=verification_url(NUMBER, base="https://x"))  # number only: no hash
    assert "?h=" not in verification_url(NUMBER, base="https://x")
    embed_document(root, inner)
    assert schema_errors(schemas, etree.tostring(root)) == []
    doc = root.find("dcc:document", NS)
    assert doc is not None and root.index(doc) == root.index(root.find("dcc:measurementResults", NS)) + 1
    assert base64.b64decode(doc.findtext("dcc:dataBase64", namespaces=NS) or "") == inner
    assert doc.findtext("dcc:mimeType", namespaces=NS) == "application/pdf"
    assert doc.findtext("dcc:fileName", namespaces=NS) == f"{NUMBER}.pdf"
    with pytest.raises(ValueError, match="already holds"):
        embed_document(root, inner)
    signed = sign_dcc(root, IdentitySigner(pki.signer, [pki.root.cert]), signing_time=datetime.now(UTC))
    with pytest.raises(ValueError, match="signed already"):
        embed_document(etree.fromstring(signed), inner)


def test_a_lab_issued_key_signs_the_pdf(engine, paths, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # the signatory's key from `caltrace pki issue-signer` (RSA 3072, encrypted at rest, opened with the passphrase)
    from certificates.pki import init_ca, issue_signer, serial_hex
    from certificates.signer import FileKeySigner
    from registry.db import session_scope
    from registry.settings import lab_today
    from tests.certificates.conftest import CA_PASS, SIGNER_PASS

    with session_scope(engine, "admin") as s:
        ca = init_ca(s, CA_PASS, paths=paths)
    with session_scope(engine, "admin") as s:
        cert = issue_signer(s, "sig", CA_PASS, SIGNER_PASS, today=lab_today(), paths=paths)
    signer = FileKeySigner.issued(serial_hex(cert), SIGNER_PASS, paths)
    xml = sign_dcc(small_dcc(), signer, signing_time=datetime.now(UTC))
    pdf = render_pdf(xml, verify_url=verification_url(NUMBER, xml, base="https://x"), attachment=xml)
    signed = sign_pdf(pdf, signer)
    report = verify_bytes(signed, "lab.pdf", [ca], use_default_schema_dir=False)
    got = outcomes(report)
    assert got["pdf-signature"] == got["pdf-chain"] == got["pdf-binding"] == got["dcc/chain"] == "pass", got
    path = tmp_path / "lab.pdf"
    path.write_bytes(signed)
    said = pdfsig(path)
    assert "Signature is Valid" in said and "Total document signed" in said, said


# --- PKCS#11 and the CLI -----------------------------------------------------------------------------------------

PKCS11_SCRIPT = """
import sys
from pathlib import Path
from cryptography import x509
from certificates.pades import sign_pdf
from certificates.signer import Pkcs11Signer
module, label, pin, chain, src, out = sys.argv[1:]
chain_certs = x509.load_pem_x509_certificates(Path(chain).read_bytes())
signer = Pkcs11Signer(Path(module), label, pin, key_label="pdf-signer", chain=chain_certs)
Path(out).write_bytes(sign_pdf(Path(src).read_bytes(), signer))
"""


def test_signing_through_pkcs11_with_a_softhsm_token(pki: Pki, tmp_path: Path) -> None:
    import sys

    from cryptography.hazmat.primitives import serialization

    from tests.certificates.conftest import make_identity
    from tests.support.softhsm import make_token

    token = make_token(tmp_path / "hsm")
    who = make_identity("Signatory on a token", pki.root, ca=False)
    key_der, cert_der = tmp_path / "k.der", tmp_path / "c.der"
    key_der.write_bytes(who.key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))  # fmt: skip
    cert_der.write_bytes(who.cert.public_bytes(Encoding.DER))
    token.import_object(key_der, "privkey", "pdf-signer", "0a")
    token.import_object(cert_der, "cert", "pdf-signer", "0a")
    key_der.unlink()
    (tmp_path / "chain.pem").write_bytes(pki.root.cert_pem())
    xml = small_dcc()
    (tmp_path / "in.pdf").write_bytes(render_pdf(xml, verify_url="https://x/verify/y", attachment=xml))
    # in a child process: python-pkcs11 reads SOFTHSM2_CONF once per process, when the module is first loaded
    done = subprocess.run(
        [sys.executable, "-c", PKCS11_SCRIPT, str(token.module), token.label, token.pin, str(tmp_path / "chain.pem"),
         str(tmp_path / "in.pdf"), str(tmp_path / "out.pdf")],
        env=token.env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    signed = (tmp_path / "out.pdf").read_bytes()
    said = pdfsig(tmp_path / "out.pdf")
    assert "Signature is Valid" in said and "Signatory on a token" in said, said
    got = outcomes(verify_pdf(signed, pki))
    assert got["pdf-signature"] == got["pdf-chain"] == "pass", got


def test_cli_verify_exit_codes(pki: Pki, schemas: Path, tmp_path: Path) -> None:
    import os
    import sys

    from tests.certificates.test_own_signatures import add_crl

    signer = IdentitySigner(pki.signer, [pki.root.cert])
    xml = add_crl(sign_dcc(small_dcc(), signer, signing_time=datetime.now(UTC)), pki.root)  # revocation values
    pdf = sign_pdf(render_pdf(xml, verify_url=verification_url(NUMBER, xml, base="https://x"), attachment=xml), signer)
    good, bad, ca = tmp_path / "good.pdf", tmp_path / "bad.pdf", tmp_path / "lab-ca.pem"
    good.write_bytes(pdf)
    at = pdf.index(b"stream", 2000) + 20
    bad.write_bytes(pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :])
    ca.write_bytes(pki.root.cert_pem())
    caltrace = str(Path(sys.executable).with_name("caltrace"))
    env = {**os.environ, "CALTRACE_SCHEMA_DIR": str(schemas)}

    def run(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([caltrace, "certificate", "verify", str(path), "--trust", str(ca), "--lang", "en"],
                              env=env, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip

    ok = run(good)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Result: verified." in ok.stdout and "Attached DCC: XSD schema validation: pass" in ok.stdout
    tampered = run(bad)
    assert tampered.returncode == 1, tampered.stdout
    assert "✗ PDF signature (whole file): fail" in tampered.stdout
    assert "Result: NOT VALID (PDF signature (whole file))" in tampered.stdout


def test_the_story_certificate_renders_what_its_dcc_says(  # type: ignore[no-untyped-def]
    reviewed_story,  # noqa: F811
    schemas: Path,
    pki: Pki,
    tmp_path: Path,
):
    from lab.base import REVIEWER
    from tests.certificates.test_dcc_build import _build

    run = reviewed_story
    run.engine.review(run.outcome.run_id, REVIEWER)
    unsigned = _build(run)
    root = etree.fromstring(unsigned)
    # the PDF inside the DCC is a rendering whose QR carries the number only (decision 0440)
    number = root.findtext("dcc:administrativeData/dcc:coreData/dcc:uniqueIdentifier", namespaces=NS) or ""
    embed_document(root, render_pdf(root, verify_url=verification_url(number, base="https://x")))
    signer = IdentitySigner(pki.signer, [pki.root.cert])
    xml = sign_dcc(root, signer, signing_time=datetime.now(UTC))
    pdf = sign_pdf(render_pdf(xml, verify_url=verification_url(number, xml, base="https://x"), attachment=xml), signer)
    path = tmp_path / "story.pdf"
    path.write_bytes(pdf)
    text = " ".join(pdftotext(path).split())
    # every result's value, U, k and coverage probability as the DCC states them, and every standard's
    # certificate number (traceability), read from the DCC here
    doc = etree.fromstring(xml)
    for real in doc.iterfind(".//dcc:result//dcc:quantity[@refType='basic_measuredValue']/si:real", NS):
        assert real.findtext("si:value", namespaces=NS) in text
        mu = real.find("si:measurementUncertaintyUnivariate/si:expandedMU", NS)
        if mu is not None:
            for tag in ("valueExpandedMU", "coverageFactor", "coverageProbability"):
                assert (mu.findtext(f"si:{tag}", namespaces=NS) or "?") in text, tag
    for cert in doc.iterfind(".//dcc:identification[@refType='caltrace_certificateNumber']/dcc:value", NS):
        assert cert.text and cert.text in text
    assert "Độ không đảm bảo đo mở rộng U = k·u_c" in text and "Expanded uncertainty U = k·u_c" in text
    for name in doc.iterfind(".//dcc:respPerson/dcc:person/dcc:name/dcc:content", NS):
        assert name.text and name.text in text
    assert "nhiệt độ" in text and "21." in text  # environment
    # the chart: one U bar per result with a point and U (cg-18's increasing and decreasing errors)
    with_u = doc.xpath(".//dcc:result[.//dcc:quantity[@refType='basic_referenceValue']]//si:expandedMU", namespaces=NS)
    drawn = chart(read_view(doc).results)
    assert drawn is not None and drawn.svg.count('class="ubar"') == len(with_u) >= 5
    assert len(drawn.series) == 2  # increasing and decreasing load
    # the DCC inside is schema-valid with its dcc:document, and the whole PDF verifies
    report = verify_bytes(pdf, "story.pdf", [pki.root.cert], schema_directory=schemas)
    got = outcomes(report)
    assert got["dcc/schema"] == got["pdf-signature"] == got["pdf-binding"] == got["dcc/signature"] == "pass", got
    png = tmp_path / "story"
    subprocess.run([need("pdftoppm"), "-png", "-r", "100", "-f", "1", "-l", "1", str(path), str(png)], check=True)
    assert (tmp_path / "story-1.png").stat().st_size > 10_000
