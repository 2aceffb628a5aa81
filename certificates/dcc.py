"""The Digital Calibration Certificate (PTB DCC 3.3.0, D-SI 2.2.1) of a reviewed calibration run (caltrace issue 17).

:func:`build_dcc` gathers and checks the content (:mod:`certificates.dcc_content`: ISO/IEC 17025:2017 7.8.2.1 and
7.8.4.1, refusing with every missing item) and writes it. What goes where (docs/certificates.md, decision 0420):

- ``administrativeData``: ``dccSoftware`` (caltrace), ``coreData`` (VN, languages, the certificate number as
  ``uniqueIdentifier``, the run id, dates of calibration and of issue, performance location), ``items`` (the
  customer's instrument), ``calibrationLaboratory``, ``respPersons`` (the signatory as ``mainSigner``, the reviewer,
  the technician), ``customer``, ``statements`` (7.8.2.1 l, traceability, the list of clauses checked).
- ``measurementResults/measurementResult``: ``usedMethods`` (the procedure with code, version and reference
  document; the uncertainty evaluation), ``measuringEquipments`` (the standards with their certificate numbers),
  ``influenceConditions`` (the environment, min and max per quantity), ``results`` (one per result row).
- Each result value is ``si:real`` with ``si:value``, ``si:unit`` (D-SI, :func:`registry.units.dsi`) and
  ``si:measurementUncertaintyUnivariate/si:expandedMU`` (D-SI 2.2.1: ``expandedUnc`` is deprecated there), rounded
  once by :func:`uncertainty.presentation.present` (ILAC P14:09/2020: U up to two significant digits, never below
  the CMC; the value to U's last digit). A metaData says whether the calculated U or the CMC is stated.

Left free for later work: ``dcc:document`` (the PDF) goes after ``measurementResults``, and ``ds:Signature`` is
appended as the root's last child by the signing step; nothing is written after ``measurementResults``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree
from sqlalchemy.orm import Session

from acquisition.wording import conformity_words, measurand_words, quantity_words
from certificates.dcc_content import CLAUSES, STANDARD, UNVERIFIED, Content, DccRefusedError, Missing, gather
from certificates.dcc_replaces import Replaces, write_replaces
from certificates.dcc_texts import T
from certificates.dcc_xml import (
    DCC_NS,
    DEFAULT_COVERAGE_PROBABILITY,
    DS_NS,
    ENV_REFTYPE,
    SCHEMA_VERSION,
    SI_NS,
    caltrace_version,
    dsi_unit,
    el,
    q,
    xml_number,
)
from registry.models import Conformity, EnvironmentRecord, Result
from registry.units import convert
from uncertainty.presentation import present, present_informational

__all__ = ["DCC_NS", "DS_NS", "SCHEMA_VERSION", "SI_NS", "DccRefusedError", "Missing", "build_dcc", "to_bytes"]


Words = Mapping[str, str]


class _Writer:
    """Writes one Content into elements, every text in the certificate's languages."""

    def __init__(self, c: Content) -> None:
        self.c = c
        self.langs = c.language_codes

    def text(self, parent: etree._Element, tag: str, words: Words, **attrs: str) -> etree._Element:
        """``tag`` with one ``dcc:content lang=`` per language."""
        e = el(parent, tag, **attrs)
        for lang in self.langs:
            el(e, "dcc:content", words[lang], lang=lang)
        return e

    def plain(self, parent: etree._Element, tag: str, text: str) -> etree._Element:
        """``tag`` with one ``dcc:content`` without a language (a name, the same in every language)."""
        e = el(parent, tag)
        el(e, "dcc:content", text)
        return e

    def t(self, key: str, **fmt: object) -> dict[str, str]:
        return {lang: T[key][lang].format(**fmt) for lang in self.langs}

    def each(self, fn: Any) -> dict[str, str]:
        return {lang: fn(lang) for lang in self.langs}

    # --- administrativeData --------------------------------------------------------------------------------------

    def administrative(self, root: etree._Element) -> None:
        c = self.c
        adm = el(root, "dcc:administrativeData")
        self.software(el(adm, "dcc:dccSoftware"))
        core = el(adm, "dcc:coreData")
        el(core, "dcc:countryCodeISO3166_1", "VN")
        for lang in self.langs:
            el(core, "dcc:usedLangCodeISO639_1", lang)
        el(core, "dcc:mandatoryLangCodeISO639_1", self.langs[0])
        el(core, "dcc:uniqueIdentifier", c.number)
        ident = el(el(core, "dcc:identifications"), "dcc:identification")
        el(ident, "dcc:issuer", "calibrationLaboratory")
        el(ident, "dcc:value", c.run.id)
        self.text(ident, "dcc:name", self.t("run"))
        el(core, "dcc:beginPerformanceDate", c.performed[0].isoformat())
        el(core, "dcc:endPerformanceDate", c.performed[1].isoformat())
        el(core, "dcc:performanceLocation", "laboratory")
        el(core, "dcc:issueDate", c.issued_on.isoformat())
        self.items(adm)
        lab = el(adm, "dcc:calibrationLaboratory")
        if c.lab.accreditation_code:
            el(lab, "dcc:calibrationLaboratoryCode", c.lab.accreditation_code)
        self.contact(lab, "dcc:contact", c.lab.name, c.lab.email, c.lab.phone, c.lab.address, country="VN")
        self.persons(adm)
        cu = c.customer
        self.contact(adm, "dcc:customer", cu.name, cu.email, cu.phone, cu.address)
        self.statements(adm)

    def software(self, box: etree._Element) -> None:
        """caltrace as the software entry of ``box`` (dccSoftware, and usedSoftware: it computed the results)."""
        sw = el(box, "dcc:software")
        self.plain(sw, "dcc:name", "caltrace")
        el(sw, "dcc:release", caltrace_version())

    def contact(
        self, parent: etree._Element, tag: str, name: str, email: str, phone: str, address: str, country: str = ""
    ) -> None:
        e = el(parent, tag)
        self.plain(e, "dcc:name", name)
        if email.strip():
            el(e, "dcc:eMail", email)
        if phone.strip():
            el(e, "dcc:phone", phone)
        loc = el(e, "dcc:location")
        if country:
            el(loc, "dcc:countryCode", country)
        self.plain(loc, "dcc:further", address)  # one free-text address: the registry does not split it

    def items(self, adm: etree._Element) -> None:
        ins = self.c.instrument
        item = el(el(adm, "dcc:items"), "dcc:item")
        self.plain(item, "dcc:name", ins.kind)
        details = ", ".join(
            x for x in (ins.range_text, ins.accuracy_class and f"class {ins.accuracy_class}") if x and x.strip()
        )
        if details:
            self.plain(item, "dcc:description", details)
        if ins.manufacturer.strip():
            self.plain(el(item, "dcc:manufacturer"), "dcc:name", ins.manufacturer)
        if ins.model.strip():
            el(item, "dcc:model", ins.model)
        ident = el(el(item, "dcc:identifications"), "dcc:identification")
        el(ident, "dcc:issuer", "manufacturer")
        el(ident, "dcc:value", ins.serial_number)
        self.text(ident, "dcc:name", self.t("serial"))

    def persons(self, adm: etree._Element) -> None:
        c = self.c
        people = [(c.signatory, "signatory", True)]
        if c.run.reviewer is not None and c.run.reviewer.id != c.signatory.id:
            people.append((c.run.reviewer, "reviewer", False))
        people.append((c.run.technician, "technician", False))
        box = el(adm, "dcc:respPersons")
        for staff, role, main in people:
            rp = el(box, "dcc:respPerson")
            person = el(rp, "dcc:person")
            self.plain(person, "dcc:name", staff.full_name)
            if staff.email.strip():
                el(person, "dcc:eMail", staff.email)
            self.text(rp, "dcc:description", self.t(role))
            el(rp, "dcc:role", role)
            if main:
                el(rp, "dcc:mainSigner", "true")

    def statements(self, adm: etree._Element) -> None:
        box = el(adm, "dcc:statements")
        st = el(box, "dcc:statement")
        el(st, "dcc:norm", STANDARD)
        el(st, "dcc:reference", "7.8.2.1 l")
        self.text(st, "dcc:declaration", self.t("only_item"))
        st = el(box, "dcc:statement", refType="basic_traceability")
        el(st, "dcc:traceable", "true")
        el(st, "dcc:norm", STANDARD)
        el(st, "dcc:reference", "7.8.4.1 c")
        self.text(st, "dcc:declaration", self.t("traceable"))
        st = el(box, "dcc:statement", refType="caltrace_contentCheck")
        el(st, "dcc:norm", STANDARD)
        for clause in CLAUSES:
            el(st, "dcc:reference", clause)
        self.text(
            st,
            "dcc:declaration",
            self.each(
                lambda lang: (
                    T["checked"][lang].format(std=STANDARD)
                    + "; ".join(
                        f"{k} {v[0 if lang == 'vi' else 1]}{T['unverified'][lang] if k in UNVERIFIED else ''}"
                        for k, v in CLAUSES.items()
                    )
                )
            ),
        )

    # --- measurementResults --------------------------------------------------------------------------------------

    def measurement(self, root: etree._Element) -> None:
        c = self.c
        mr = el(el(root, "dcc:measurementResults"), "dcc:measurementResult")
        self.text(mr, "dcc:name", self.t("results"))
        methods = el(mr, "dcc:usedMethods")
        proc = c.run.procedure
        m = el(methods, "dcc:usedMethod", refType="caltrace_procedure")
        self.plain(m, "dcc:name", proc.title)
        self.text(m, "dcc:description", self.t("proc", code=proc.code, version=proc.version))
        norms = dict.fromkeys([proc.method_reference] + [r.method_reference for r in c.results if r.method_reference])
        for norm in norms:
            el(m, "dcc:norm", norm)
        el(m, "dcc:reference", f"{proc.code} {proc.version}")
        m = el(methods, "dcc:usedMethod", refType="basic_uncertainty")
        self.text(m, "dcc:name", self.t("unc_name"))
        self.text(m, "dcc:description", self.t("unc"))
        el(m, "dcc:norm", "JCGM 100:2008")
        el(m, "dcc:norm", "ILAC P14:09/2020")
        self.software(el(mr, "dcc:usedSoftware"))
        self.equipment(mr)
        self.environment(mr)
        box = el(mr, "dcc:results")
        for r, doc, cmc in zip(c.results, c.result_docs, c.cmc, strict=True):
            self.result(box, r, doc, None if cmc is None else cmc.value)

    def equipment(self, mr: etree._Element) -> None:
        box = el(mr, "dcc:measuringEquipments")
        for st in self.c.standards:
            cert = st.certificate
            eq = el(box, "dcc:measuringEquipment", refType="basic_normalUsed")
            self.plain(eq, "dcc:name", st.name)
            fmt = {
                "role": st.role or "-",
                "number": cert.number,
                "issuer": cert.issuer,
                "cal": cert.calibrated_on.isoformat(),
                "due": cert.due_on.isoformat(),
                "trace": st.traceability or cert.issuer,
            }
            self.text(eq, "dcc:description", self.t("std_desc", **fmt))
            if st.manufacturer.strip():
                self.plain(el(eq, "dcc:manufacturer"), "dcc:name", st.manufacturer)
            if st.model.strip():
                el(eq, "dcc:model", st.model)
            ids = el(eq, "dcc:identifications")
            for issuer, value, key in (
                ("calibrationLaboratory", st.code, "code"),
                ("manufacturer", st.serial_number, "serial"),
                ("other", cert.number, "cert"),
            ):
                if value.strip():
                    attrs = {"refType": "caltrace_certificateNumber"} if key == "cert" else {}
                    ident = el(ids, "dcc:identification", **attrs)
                    el(ident, "dcc:issuer", issuer)
                    el(ident, "dcc:value", value)
                    self.text(ident, "dcc:name", self.t(key, number=cert.number, issuer=cert.issuer))

    def environment(self, mr: etree._Element) -> None:
        groups: dict[tuple[str, str], list[EnvironmentRecord]] = {}
        for e in self.c.environment:
            groups.setdefault((e.quantity, e.unit), []).append(e)
        box = el(mr, "dcc:influenceConditions")
        for (quantity, unit), records in groups.items():
            ref = ENV_REFTYPE.get(quantity)
            cond = el(box, "dcc:influenceCondition", **({"refType": ref} if ref else {}))
            words = self.each(lambda lang, q=quantity: _measurand(q, lang))
            self.text(cond, "dcc:name", words)
            if not all(r.within_limits for r in records):
                self.text(cond, "dcc:description", self.t("env_out"))
            data = el(cond, "dcc:data")
            values = [r.value for r in records]
            for key, v, suffix in (("env_min", min(values), "Min"), ("env_max", max(values), "Max")):
                qn = el(data, "dcc:quantity", **({"refType": f"{ref}{suffix}"} if ref else {}))
                name = {lang: T[key][lang].format(q=words[lang]) for lang in self.langs}
                self.text(qn, "dcc:name", name)
                real = el(qn, "si:real")
                el(real, "si:value", repr(float(v)))
                el(real, "si:unit", dsi_unit(unit))

    def result(self, box: etree._Element, r: Result, doc: Mapping[str, Any], cmc: float | None) -> None:
        U, k = r.expanded_uncertainty, r.coverage_factor
        if U is None or k is None:  # an informational row (gather checked it has no budget)
            shown = present_informational(r.value, "", resolution=self._resolution(r.unit), language="en", group=None)
        else:
            shown = present(r.value, U, k, "", language="en", cmc=cmc, group=None)
        res = el(box, "dcc:result", refType="caltrace_result")
        self.text(res, "dcc:name", self.each(lambda lang: quantity_words(r.quantity, lang)))
        if r.note.strip():
            self.plain(res, "dcc:description", r.note)
        data = el(res, "dcc:data")
        if r.point is not None:
            qn = el(data, "dcc:quantity", refType="basic_referenceValue")
            self.text(qn, "dcc:name", self.t("point"))
            real = el(qn, "si:real")
            el(real, "si:value", repr(float(r.point)))
            el(real, "si:unit", dsi_unit(r.point_unit or r.unit))
        qn = el(data, "dcc:quantity", refType="basic_measuredValue")
        self.text(qn, "dcc:name", self.each(lambda lang: quantity_words(r.quantity, lang)))
        real = el(qn, "si:real")
        el(real, "si:value", xml_number(shown.value_text))
        el(real, "si:unit", dsi_unit(r.unit))
        meta = etree.Element(q("dcc:measurementMetaData"))
        if U is None or k is None:
            self.text(el(meta, "dcc:metaData", refType="caltrace_statedUncertainty"), "dcc:declaration",
                      self.t("informational"))  # fmt: skip
            self.conformity(meta, r)
            qn.append(meta)
            return
        mu = el(el(real, "si:measurementUncertaintyUnivariate"), "si:expandedMU")
        el(mu, "si:valueExpandedMU", xml_number(shown.U_text or ""))
        el(mu, "si:coverageFactor", (shown.k_text or "").removeprefix("k = "))
        budget = doc.get("budget") or {}
        p = budget.get("coverage_probability")
        el(mu, "si:coverageProbability", repr(float(p)) if p is not None else DEFAULT_COVERAGE_PROBABILITY)
        qn.append(meta)
        md = el(meta, "dcc:metaData", refType="caltrace_statedUncertainty")
        if cmc is None:
            words = self.t("no_cmc")
        elif shown.cmc_applied:
            words = self.t("cmc_applied", cmc=f"{cmc!r} {r.unit}", calc=f"{U!r} {r.unit}")
        else:
            words = self.t("calc_applied", cmc=f"{cmc!r} {r.unit}")
        if p is None:
            words = {lang: f"{w} {T['k_given'][lang]}" for lang, w in words.items()}
        self.text(md, "dcc:declaration", words)
        self.conformity(meta, r)

    def conformity(self, meta: etree._Element, r: Result) -> None:
        """The result's conformity statement naming its decision rule (ISO/IEC 17025:2017 7.8.6, ILAC G8)."""
        if r.conformity is not Conformity.NOT_ASSESSED:
            md = el(meta, "dcc:metaData", refType="basic_conformity")
            el(md, "dcc:reference", "7.8.4.1 e")
            decl = self.each(lambda lang: f"{conformity_words(r.conformity.value, lang)}. "
                             + T["rule"][lang].format(rule=r.decision_rule))  # fmt: skip
            self.text(md, "dcc:declaration", decl)
            el(md, "dcc:conformity", r.conformity.value)

    def _resolution(self, unit: str) -> float | None:
        """The instrument's scale interval d in ``unit`` (None when it has none or it does not convert)."""
        ins = self.c.instrument
        if ins.resolution is None or ins.resolution <= 0:
            return None
        d = convert(Decimal(repr(ins.resolution)), ins.resolution_unit or unit, unit, difference=True)
        return None if d is None else float(d)


def _measurand(quantity: str, lang: str) -> str:
    return measurand_words(quantity, lang)  # type: ignore[arg-type]


def build_dcc(
    session: Session,
    run_id: str,
    *,
    number: str,
    issued_on: date,
    signatory: str | None = None,
    language_codes: Sequence[str] = ("vi", "en"),
    replaces: Replaces | None = None,
) -> etree._Element:
    """The DCC 3.3.0 root element of calibration certificate ``number`` for the reviewed run ``run_id``.

    :class:`~certificates.dcc_content.DccRefusedError` (a ValueError) lists every missing item, in vi and en, when
    the run is not reviewed or a 17025 7.8.2.1 / 7.8.4.1 item is absent. Unsigned: ``ds:Signature`` is appended as
    the root's last child by the signing step. :func:`to_bytes` serialises it. ``replaces``: the certificate this
    one substitutes (:mod:`certificates.dcc_replaces`, written into ``coreData``)."""
    content = gather(
        session, run_id, number=number, issued_on=issued_on, signatory=signatory, language_codes=language_codes
    )
    root = etree.Element(
        q("dcc:digitalCalibrationCertificate"), nsmap={"dcc": DCC_NS, "si": SI_NS}, schemaVersion=SCHEMA_VERSION
    )
    writer = _Writer(content)
    writer.administrative(root)
    if replaces is not None:
        write_replaces(root, replaces, content.language_codes)
    writer.measurement(root)
    return root


def to_bytes(root: etree._Element) -> bytes:
    """The certificate as UTF-8 XML with a declaration (not pretty-printed: the signature covers these bytes)."""
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
