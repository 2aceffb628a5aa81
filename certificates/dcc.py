"""The Digital Calibration Certificate (PTB DCC 3.3.0, D-SI 2.2.1) of a reviewed run (caltrace issue 17).

Four kinds (decision 0425, :class:`~certificates.dcc_content.CertificateKind`): the calibration certificate
described below; a verification certificate (mark number, validity, results with ±MPE), a notice of
non-conformity (the failed tests) and a prepackage lot check (the lot as the item), each adding its statements to
``administrativeData/statements``.

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
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from lxml import etree
from sqlalchemy.orm import Session

from acquisition.wording import conformity_words, measurand_words, quantity_words
from certificates.dcc_content import (
    LEGAL_BASIS,
    STANDARD,
    UNVERIFIED,
    CertificateKind,
    Content,
    DccRefusedError,
    Missing,
    clauses_for,
    gather,
)
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

__all__ = [
    "DCC_NS",
    "DS_NS",
    "SCHEMA_VERSION",
    "SI_NS",
    "CertificateKind",
    "DccRefusedError",
    "Missing",
    "build_dcc",
    "to_bytes",
]


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
        idents = el(core, "dcc:identifications")
        ident = el(idents, "dcc:identification")
        el(ident, "dcc:issuer", "calibrationLaboratory")
        el(ident, "dcc:value", c.run.id)
        self.text(ident, "dcc:name", self.t("run"))
        if c.kind is CertificateKind.VERIFICATION:  # the stamp number, beside the certificate number (decision 0425)
            ident = el(idents, "dcc:identification", refType="caltrace_verificationMark")
            el(ident, "dcc:issuer", "calibrationLaboratory")
            el(ident, "dcc:value", c.mark)
            self.text(ident, "dcc:name", self.t("mark"))
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
        if self.c.lot is not None:
            self.lot_item(adm)
            return
        ins = self.c.instrument
        assert ins is not None  # gather: an instrument for every kind but the lot check
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

    def lot_item(self, adm: etree._Element) -> None:
        """The prepackage lot as the one item (``refType="caltrace_prepackageLot"``): product, packer as owner and
        manufacturer, the lot number, and nominal quantity, lot size and sample size as ``itemQuantities``."""
        c = self.c
        lot = c.lot
        assert lot is not None
        ev = c.lot_evidence
        item = el(el(adm, "dcc:items"), "dcc:item", refType="caltrace_prepackageLot")
        self.plain(item, "dcc:name", lot.product)
        qn = f"{_plain(lot.nominal_quantity)} {lot.nominal_unit}"

        def words(lang: str) -> str:
            extra = {
                "brand": T["brand"][lang].format(brand=lot.brand) if lot.brand.strip() else "",
                "packed": T["packed"][lang].format(day=lot.packed_on.isoformat()) if lot.packed_on else "",
                "sampled": (
                    T["sampled"][lang].format(day=lot.sampled_on.isoformat(), place=lot.sampling_place or "-")
                    if lot.sampled_on
                    else ""
                ),
            }
            return T["lot_desc"][lang].format(
                lot=lot.lot_number, product=lot.product, qn=qn, size=lot.lot_size, n=ev["n"], packer=c.customer.name,
                **extra,
            )  # fmt: skip

        self.text(item, "dcc:description", self.each(words))
        pk = c.customer
        self.contact(item, "dcc:owner", pk.name, pk.email, pk.phone, pk.address)
        self.plain(el(item, "dcc:manufacturer"), "dcc:name", pk.name)
        ident = el(el(item, "dcc:identifications"), "dcc:identification", refType="caltrace_lotNumber")
        el(ident, "dcc:issuer", "manufacturer")
        el(ident, "dcc:value", lot.lot_number)
        self.text(ident, "dcc:name", self.t("lot_number"))
        box = el(item, "dcc:itemQuantities")
        for key, value, unit, ref in (
            ("nominal", lot.nominal_quantity, lot.nominal_unit, "caltrace_nominalQuantity"),
            ("lot_size", float(lot.lot_size), "1", "caltrace_lotSize"),
            ("sample_size", float(ev["n"]), "1", "caltrace_sampleSize"),
        ):
            qty = el(box, "dcc:itemQuantity", refType=ref)
            self.text(qty, "dcc:name", self.t(key))
            real = el(qty, "si:real")
            el(real, "si:value", _plain(value))
            el(real, "si:unit", dsi_unit(unit))

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
        c = self.c
        calibration = c.kind is CertificateKind.CALIBRATION
        box = el(adm, "dcc:statements")
        if not calibration:  # the title, for a reader that must tell the kinds apart (decision 0425)
            st = el(box, "dcc:statement", refType="caltrace_certificateKind")
            el(st, "dcc:convention", c.kind.value)
            self.text(st, "dcc:declaration", self.each(
                lambda lang: T["kind_decl"][lang].format(title=T[f"title_{c.kind.value}"][lang])))  # fmt: skip
        st = el(box, "dcc:statement")
        el(st, "dcc:norm", STANDARD)
        el(st, "dcc:reference", "7.8.2.1 l")
        only = {CertificateKind.CALIBRATION: "only_item", CertificateKind.LOT_CHECK: "only_lot"}.get(c.kind)
        self.text(st, "dcc:declaration", self.t(only or "only_verified"))
        st = el(box, "dcc:statement", refType="basic_traceability")
        el(st, "dcc:traceable", "true")
        el(st, "dcc:norm", STANDARD)
        el(st, "dcc:reference", "7.8.4.1 c" if calibration else "6.5")
        self.text(st, "dcc:declaration", self.t("traceable"))
        if not calibration:
            self.verdict(box)
        if c.kind is CertificateKind.VERIFICATION:
            self.mark_and_validity(box)
        if c.kind is CertificateKind.LOT_CHECK:
            self.sampling_plan(box)
        clauses = clauses_for(c.kind)
        st = el(box, "dcc:statement", refType="caltrace_contentCheck")
        el(st, "dcc:norm", STANDARD)
        for clause in clauses:
            el(st, "dcc:reference", clause)
        self.text(
            st,
            "dcc:declaration",
            self.each(
                lambda lang: (
                    T["checked" if calibration else "checked_test"][lang].format(std=STANDARD)
                    + "; ".join(
                        f"{k} {v[0 if lang == 'vi' else 1]}{T['unverified'][lang] if k in UNVERIFIED else ''}"
                        for k, v in clauses.items()
                    )
                )
            ),
        )

    def verdict(self, box: etree._Element) -> None:
        """The overall conformity of a verification or lot check (``refType="basic_conformity"``): the requirement
        (the procedure's reference document: OIML recommendation, ĐLVN where the procedure names one), the decision
        rule(s) of the rows and the run's verdict; a notice adds the failed tests with how far each is beyond its
        limit (``refType="caltrace_failedTests"``)."""
        c = self.c
        proc = c.run.procedure
        passed = c.run.overall is Conformity.PASS
        rules = "; ".join(dict.fromkeys(r.decision_rule for r in c.results if r.decision_rule.strip()))
        key = ("lot_" if c.kind is CertificateKind.LOT_CHECK else "verdict_") + ("pass" if passed else "fail")
        st = el(box, "dcc:statement", refType="basic_conformity")
        el(st, "dcc:norm", proc.method_reference)
        if c.kind is not CertificateKind.LOT_CHECK:
            el(st, "dcc:norm", LEGAL_BASIS)
        el(st, "dcc:reference", f"{proc.code} {proc.version}")
        el(st, "dcc:reference", "ISO/IEC 17025:2017 7.8.6")
        self.text(st, "dcc:declaration", self.each(lambda lang: T[key][lang].format(
            norm=proc.method_reference, rules=T["rules"][lang].format(rules=rules))))  # fmt: skip
        el(st, "dcc:conformity", c.run.overall.value)
        if c.failed and c.kind is not CertificateKind.VERIFICATION:
            st = el(box, "dcc:statement", refType="caltrace_failedTests")
            el(st, "dcc:norm", proc.method_reference)
            words = self.each(
                lambda lang: T["failed_intro"][lang] + "; ".join(self.failed_words(r, lang) for r in c.failed)
            )
            self.text(st, "dcc:declaration", words)
            el(st, "dcc:conformity", "fail")

    def failed_words(self, r: Result, lang: str) -> str:
        """One failed test: what, where, the value, its limit and how far beyond (or short of) it. The value is
        shown with at least the decimals of that distance, so a reader sees it beyond the limit (a 500 g error of
        -0.0503 g against ±0.05 g reads -0.0503 g, not the certificate's -0.050 g)."""
        unit = "" if r.unit.strip() in ("1", "") else f" {r.unit}"
        test = _quantity(r.quantity, lang)
        if r.mpe is None:  # the lot decision: its verdict, its reasons are the other rows
            return f"{test}: {self.shown(r)}{unit}"
        if self.c.kind is CertificateKind.LOT_CHECK:
            if r.quantity == "mean net quantity":  # one-sided: x̄ >= Qn − λ·s
                limit = float(self.c.lot_evidence["mean_limit"])
                by = _rounded(limit - r.value, limit)
                value = _digits(r.value, by, self.shown(r))
                shown_limit = f"{_rounded_to(limit, 0.01)}{unit}"
                short = T["short"][lang].format(by=f"{by}{unit}")
                return T["failed_min"][lang].format(test=test, value=f"{value}{unit}", limit=shown_limit, how=short)
            by = _plain(r.value - r.mpe)  # a count over its allowance
            return T["failed_max"][lang].format(test=test, value=self.shown(r), limit=_plain(r.mpe),
                                                how=T["exceeds"][lang].format(by=by))  # fmt: skip
        point = "-" if r.point is None else f"{_plain(r.point)} {r.point_unit or r.unit}"
        how = _beyond(r.value, r.mpe)
        by = _rounded(abs(how), r.mpe)
        value = _digits(r.value, by, self.shown(r))
        return T["failed_row"][lang].format(
            test=test, point=point, value=f"{value}{unit}", mpe=f"±{_plain(r.mpe)}{unit}",
            how=T["exceeds" if how > 0 else "short"][lang].format(by=f"{by}{unit}"),
        )  # fmt: skip

    def sampling_plan(self, box: etree._Element) -> None:
        """The lot check's sampling plan and sample statistics (``refType="caltrace_samplingPlan"``): n, λ, c, T1,
        T2, the mean and s of the net quantities, the mean requirement Qn − λ·s and the T1/T2 counts (R87:2016 and
        Circular 21/2014/TT-BKHCN, through prepackage-r87's lot decision row)."""
        c = self.c
        ev = c.lot_evidence
        st = el(box, "dcc:statement", refType="caltrace_samplingPlan")
        el(st, "dcc:norm", c.run.procedure.method_reference)
        fmt = {
            "n": ev["n"], "lam": _plain(float(ev["lambda"])), "c": ev["c"], "t1": f"{_plain(float(ev['T1']))} g",
            "t2": f"{_plain(float(ev['T2']))} g", "mean": f"{_rounded_to(float(ev['mean']), 0.01)} g",
            "s": f"{_rounded_to(float(ev['s']), 0.01)} g", "limit": f"{_rounded_to(float(ev['mean_limit']), 0.01)} g",
            "t1n": len(ev["T1_defectives"]), "t2n": len(ev["T2_defectives"]),
        }  # fmt: skip
        self.text(st, "dcc:declaration", self.t("plan", **fmt))
        el(st, "dcc:conformity", c.run.overall.value)

    def mark_and_validity(self, box: etree._Element) -> None:
        """The verification mark number (``refType="caltrace_verificationMark"``) and the validity
        (``refType="caltrace_verificationValidity"``: ``date`` the last valid day, ``period`` the interval)."""
        c = self.c
        assert c.valid_until is not None and c.interval_months is not None
        st = el(box, "dcc:statement", refType="caltrace_verificationMark")
        el(st, "dcc:norm", LEGAL_BASIS)
        self.text(st, "dcc:declaration", self.t("mark_decl", mark=c.mark))
        st = el(box, "dcc:statement", refType="caltrace_verificationValidity")
        el(st, "dcc:norm", LEGAL_BASIS)
        until, verified = c.valid_until.isoformat(), c.performed[1].isoformat()
        self.text(
            st, "dcc:declaration", self.t("validity_decl", until=until, verified=verified, months=c.interval_months)
        )
        el(st, "dcc:date", c.valid_until.isoformat())
        el(st, "dcc:period", f"P{c.interval_months}M")

    # --- measurementResults --------------------------------------------------------------------------------------

    def measurement(self, root: etree._Element) -> None:
        c = self.c
        mr = el(el(root, "dcc:measurementResults"), "dcc:measurementResult")
        heading = {CertificateKind.CALIBRATION: "results", CertificateKind.LOT_CHECK: "results_lot"}.get(c.kind)
        self.text(mr, "dcc:name", self.t(heading or "results_verification"))
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
        if not groups:  # a lot check by net mass records none (gather allows it only there): say so
            cond = el(box, "dcc:influenceCondition", refType="caltrace_notRecorded")
            self.text(cond, "dcc:name", self.t("env_name"))
            data = el(cond, "dcc:data")
            text = el(data, "dcc:text")
            for lang in self.langs:
                el(text, "dcc:content", T["env_none"][lang], lang=lang)
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

    def presented(self, r: Result, cmc: float | None = None) -> Any:
        """The row rounded once for the certificate (:mod:`uncertainty.presentation`, decision 0360)."""
        U, k = r.expanded_uncertainty, r.coverage_factor
        if U is None or k is None:  # an informational row (gather checked it has no budget)
            return present_informational(r.value, "", resolution=self._resolution(r.unit), language="en", group=None)
        return present(r.value, U, k, "", language="en", cmc=cmc, group=None)

    def shown(self, r: Result) -> str:
        """The row's value as the certificate states it (the same rounding as its ``si:value``)."""
        i = self.c.results.index(r)
        cmc = self.c.cmc[i]
        return xml_number(self.presented(r, None if cmc is None else cmc.value).value_text)

    def limits(self, data: etree._Element, r: Result) -> None:
        """The requirement a verification or lot row was judged against, as quantities beside the measured value:
        ±MPE as ``basic_toleranceLimitLower``/``Upper`` (simple acceptance: the acceptance limits are the tolerance
        limits); R76's discrimination, whose limit is a required change d, as ``caltrace_requiredValue``; R87's mean
        as ``basic_acceptanceLimitLower`` (Qn − λ·s) and the T1/T2 counts as ``basic_acceptanceLimitUpper``."""
        c = self.c
        if c.kind is CertificateKind.CALIBRATION or r.mpe is None:
            return
        unit = dsi_unit(r.unit)
        rows: list[tuple[str, str, float]]
        if c.kind is CertificateKind.LOT_CHECK:
            if r.quantity == "mean net quantity":
                rows = [("basic_acceptanceLimitLower", "mean_limit", float(c.lot_evidence["mean_limit"]))]
            else:
                rows = [("basic_acceptanceLimitUpper", "count_limit", r.mpe)]
        elif r.quantity.startswith("discrimination"):
            rows = [("caltrace_requiredValue", "required", r.mpe)]
        else:
            rows = [
                ("basic_toleranceLimitLower", "mpe_lower", -r.mpe),
                ("basic_toleranceLimitUpper", "mpe_upper", r.mpe),
            ]
        for ref, key, value in rows:
            qn = el(data, "dcc:quantity", refType=ref)
            self.text(qn, "dcc:name", self.t(key))
            real = el(qn, "si:real")
            el(real, "si:value", _plain(value))
            el(real, "si:unit", unit)

    def result(self, box: etree._Element, r: Result, doc: Mapping[str, Any], cmc: float | None) -> None:
        U, k = r.expanded_uncertainty, r.coverage_factor
        shown = self.presented(r, cmc)
        calibration = self.c.kind is CertificateKind.CALIBRATION
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
        self.limits(data, r)
        meta = etree.Element(q("dcc:measurementMetaData"))
        if U is None or k is None:
            said = "informational" if calibration else "lot_row" if self.c.lot is not None else "verif_unc"
            self.text(el(meta, "dcc:metaData", refType="caltrace_statedUncertainty"), "dcc:declaration",
                      self.t(said))  # fmt: skip
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
        if not calibration:  # run_cmc gives no CMC for a run that is not a calibration
            words = self.t("verif_U")
        elif cmc is None:
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
        if r in self.c.failed and self.c.kind is not CertificateKind.CALIBRATION:
            md = el(meta, "dcc:metaData", refType="caltrace_failedTest")
            self.text(md, "dcc:declaration", self.each(lambda lang: self.failed_words(r, lang)))
            el(md, "dcc:conformity", r.conformity.value)

    def _resolution(self, unit: str) -> float | None:
        """The scale interval d in ``unit`` of the instrument under test, or for a lot check of the balance that
        weighed the sample (the run's standard in role ``balance``); None when there is none or it does not
        convert."""
        ins = self.c.instrument
        if ins is not None:
            resolution, given = ins.resolution, ins.resolution_unit
        else:
            balances = [rs.standard for rs in self.c.run.standards if rs.role == "balance"]
            if len(balances) != 1:
                return None
            resolution, given = balances[0].resolution, balances[0].range_unit
        if resolution is None or resolution <= 0:
            return None
        d = convert(Decimal(repr(resolution)), given or unit, unit, difference=True)
        return None if d is None else float(d)


def _plain(x: float) -> str:
    """``x`` as a plain decimal for ``si:value`` and texts, float noise removed (12 significant digits:
    0.15000000000000002 -> 0.15, 1e-05 -> 0.00001)."""
    d = Decimal(f"{x:.12g}")
    text = format(d, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _beyond(value: float, mpe: float) -> float:
    """How far a failed row lies beyond its limit: |value| − MPE (> 0 beyond a ±MPE; < 0 short of a required
    value such as R76's discrimination change d)."""
    return abs(value) - mpe


def _rounded(x: float, _limit: float) -> str:
    """An excess over a limit for reading: two significant digits (half up), plain decimal."""
    if x == 0:
        return "0"
    d = Decimal(repr(x))
    step = Decimal(1).scaleb(d.adjusted() - 1)
    return format(d.quantize(step, rounding=ROUND_HALF_UP), "f")  # keeps a trailing zero: 0.10


def _quantity(quantity: str, lang: str) -> str:
    return quantity_words(quantity, lang)  # type: ignore[arg-type]


def _digits(value: float, by: str, shown: str) -> str:
    """``shown`` (the value as the certificate states it), or ``value`` rounded half up to the decimals of ``by``
    when that has more (so a failed value is seen beyond its limit)."""
    places = _places(by)
    if places <= _places(shown):
        return shown
    return format(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), "f")


def _places(text: str) -> int:
    """The decimal places of a plain decimal number's text."""
    head, _, tail = text.partition(".")
    return len(tail) if head.lstrip("-").isdigit() or head in ("", "-") else 0


def _rounded_to(x: float, step: float) -> str:
    """``x`` rounded half up to a multiple of ``step`` (a power of ten), for reading in a text."""
    return _plain(float(Decimal(repr(x)).quantize(Decimal(repr(step)), rounding=ROUND_HALF_UP)))


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
    mark: str | None = None,
    kind: str | None = None,
    replaces: Replaces | None = None,
) -> etree._Element:
    """The DCC 3.3.0 root element of certificate ``number`` for the reviewed run ``run_id``.

    The kind follows the run (decision 0425): a calibration run gives a calibration certificate; a verification run
    that passed a verification certificate, which needs ``mark`` (the verification mark/stamp number) and states
    the validity from the instrument's verification interval; one that failed a notice of non-conformity (no mark,
    no validity, the failed tests); an R87 run the result of the lot check, whose subject is the lot. ``kind`` (a
    :class:`~certificates.dcc_content.CertificateKind` value) asks for one kind and is refused when the run gives
    another.

    :class:`~certificates.dcc_content.DccRefusedError` (a ValueError) lists every missing item, in vi and en, when
    the run is not reviewed, the kind does not fit, or a 17025 item is absent. Unsigned: ``ds:Signature`` is appended
    as the root's last child by the signing step. :func:`to_bytes` serialises it. ``replaces``: the certificate this
    one substitutes (:mod:`certificates.dcc_replaces`, written into ``coreData``)."""
    content = gather(
        session,
        run_id,
        number=number,
        issued_on=issued_on,
        signatory=signatory,
        language_codes=language_codes,
        mark=mark,
        kind=kind,
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
