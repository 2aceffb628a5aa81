"""What a certificate PDF shows, read from the DCC XML alone (so every kind of DCC renders, ours or another lab's).

:func:`read_view` walks a PTB DCC (3.x; 2.4.0 mostly reads too) and returns plain data for the template
(``certificates/templates/certificate.html``): each text in Vietnamese and English (:class:`Bi`), the results with
value, U, k and coverage probability as written (no second rounding: the digits are the DCC's), the stated-
uncertainty and conformity declarations, and the chart series. Nothing is computed that the DCC does not state;
an absent item is simply not shown.

Where things are read (DCC 3.3.0 element names, dcc.xsd): ``coreData/uniqueIdentifier`` (number),
``calibrationLaboratory/contact``, ``customer``, ``items/item``, ``coreData/begin|endPerformanceDate``,
``issueDate``, ``measurementResult/usedMethods`` (method; refType ``basic_uncertainty`` is the uncertainty
statement), ``influenceConditions`` (environment), ``measuringEquipments`` (standards, with the identification of
refType ``caltrace_certificateNumber`` as their certificate number), ``results/result`` (each ``dcc:quantity`` with
``si:real``: refType ``basic_referenceValue`` is the point, ``basic_measuredValue`` or ``basic_measurementError``
the value, ``basic_acceptanceLimitLower``/``Upper`` an MPE; PTB's names, as in ../shared/dcc-examples),
``statements`` and ``respPersons``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from certificates.dcc_texts import T

DCC = "https://ptb.de/dcc"
SI = "https://ptb.de/si"
NS = {"dcc": DCC, "si": SI}

#: refTypes of a result's quantities (PTB's basic_ names, seen in ../shared/dcc-examples)
POINT_REFTYPES = ("basic_referenceValue", "basic_nominalValue")
VALUE_REFTYPES = ("basic_measurementError", "basic_measuredValue")
MPE_LOWER = "basic_acceptanceLimitLower"
MPE_UPPER = "basic_acceptanceLimitUpper"
#: the refTypes read as the lower / upper limit of a result: caltrace's ±MPE (``basic_toleranceLimit*``, decision
#: 0425) and the acceptance limits other labs' DCCs state
LOWER_LIMITS = frozenset({"basic_toleranceLimitLower", MPE_LOWER})
UPPER_LIMITS = frozenset({"basic_toleranceLimitUpper", MPE_UPPER})
#: caltrace's refType of a statement whose declaration is the certificate's title (other kinds than calibration)
TITLE_REFTYPE = "caltrace_certificateTitle"
CALIBRATION_TITLE = ("Giấy chứng nhận hiệu chuẩn", "Calibration certificate")


@dataclass(frozen=True)
class Bi:
    """A text in Vietnamese and English (the same text twice when the DCC gives it without a language)."""

    vi: str
    en: str

    @property
    def same(self) -> bool:
        """True when both languages read alike (a name): the template shows it once."""
        return self.vi == self.en

    def __bool__(self) -> bool:
        return bool(self.vi or self.en)

    @property
    def text(self) -> str:
        """Every character the page shows of this text (for tests and for the font check)."""
        return self.vi if self.same else f"{self.vi} {self.en}"


EMPTY = Bi("", "")


@dataclass(frozen=True)
class Quantity:
    """One ``si:real``: value text as written, unit (display form), and the expanded uncertainty if stated."""

    value: str
    unit: str
    U: str = ""
    k: str = ""
    p: str = ""

    @property
    def number(self) -> float | None:
        """The value as a float (None when it is not a number)."""
        try:
            return float(self.value)
        except ValueError:
            return None


@dataclass
class ResultRow:
    """One ``dcc:result`` as a table row."""

    name: Bi
    description: str
    point: Quantity | None
    value: Quantity | None
    lower: Quantity | None = None
    upper: Quantity | None = None
    other: list[tuple[Bi, str]] = field(default_factory=list)  # quantities shown as text (lists, other refTypes)
    notes: list[int] = field(default_factory=list)  # indexes into View.notes
    conformity: Bi = EMPTY


@dataclass
class Person:
    name: str
    role: Bi
    main: bool


@dataclass
class Standard:
    name: str
    ids: list[tuple[Bi, str]]
    certificate: str
    description: Bi


@dataclass
class Condition:
    name: Bi
    values: list[tuple[Bi, str]]
    description: Bi


@dataclass
class Method:
    name: Bi
    description: Bi
    norms: list[str]
    reference: str


@dataclass
class View:
    """Everything the PDF shows."""

    number: str
    title: Bi
    dates_label: Bi
    schema_version: str
    laboratory: str
    laboratory_code: str
    laboratory_address: str
    laboratory_contact: str
    customer: str
    customer_address: str
    item_name: str
    item_lines: list[tuple[Bi, str]]
    performed: str
    issued: str
    location: str
    methods: list[Method]
    uncertainty: Bi
    conditions: list[Condition]
    standards: list[Standard]
    results: list[ResultRow]
    notes: list[Bi]
    statements: list[Bi]
    persons: list[Person]

    def all_text(self) -> str:
        """Every text of the view, joined (what the page can show: the font must cover each character)."""
        parts: list[str] = [self.number, self.laboratory, self.laboratory_address, self.customer, self.item_name]
        parts += [self.title.text, self.uncertainty.text]
        parts += [b.text + v for b, v in self.item_lines]
        for m in self.methods:
            parts += [m.name.text, m.description.text, *m.norms]
        for c in self.conditions:
            parts += [c.name.text, c.description.text] + [b.text + v for b, v in c.values]
        for s in self.standards:
            parts += [s.name, s.certificate, s.description.text] + [b.text + v for b, v in s.ids]
        for r in self.results:
            parts += [r.name.text, r.description, r.conformity.text]
        parts += [n.text for n in self.notes] + [s.text for s in self.statements]
        parts += [p.name + p.role.text for p in self.persons]
        return " ".join(parts)


# --- D-SI units for display ------------------------------------------------------------------------------------------

#: D-SI unit tokens -> symbols (D-SI guide's unit names; those caltrace writes and the common others)
_DSI_UNITS = {
    "gram": "g", "kilogram": "kg", "metre": "m", "second": "s", "ampere": "A", "kelvin": "K", "mole": "mol",
    "candela": "cd", "minute": "min", "hour": "h", "day": "d", "litre": "L", "tonne": "t", "hertz": "Hz",
    "newton": "N", "pascal": "Pa", "joule": "J", "watt": "W", "volt": "V", "ohm": "Ω", "coulomb": "C",
    "degreecelsius": "°C", "percent": "%", "one": "", "bar": "bar", "radian": "rad", "degree": "°",
    "voltampere": "VA",
}  # fmt: skip
_DSI_PREFIXES = {
    "nano": "n", "micro": "µ", "milli": "m", "centi": "c", "deci": "d", "deca": "da", "hecto": "h", "kilo": "k",
    "mega": "M", "giga": "G", "pico": "p",
}  # fmt: skip
_SUPERSCRIPT = str.maketrans("0123456789-.", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻·")
_TOKEN = re.compile(r"\\([a-zA-Z]+)(?:\{([^}]*)\})?")


def unit_text(dsi: str) -> str:
    """A D-SI unit string in the usual notation: ``\\hecto\\pascal`` -> ``hPa``, ``\\metre\\tothe{3}\\per\\hour``
    -> ``m³/h``, ``\\one`` -> ``""``; anything not understood is shown as written."""
    dsi = dsi.strip()
    if not dsi.startswith("\\"):
        return dsi
    out, prefix, pos = [""], "", 0
    for m in _TOKEN.finditer(dsi):
        if m.start() != pos:
            return dsi
        pos = m.end()
        name, arg = m.group(1), m.group(2)
        if name == "per":
            out.append("")
        elif name == "tothe" and arg is not None:
            out[-1] += arg.translate(_SUPERSCRIPT)
        elif name.lower() in _DSI_PREFIXES and not prefix:
            prefix = _DSI_PREFIXES[name.lower()]
        elif name.lower() in _DSI_UNITS:
            sep = "·" if out[-1] and not out[-1].endswith("/") else ""
            out[-1] += sep + prefix + _DSI_UNITS[name.lower()]
            prefix = ""
        else:
            return dsi
    if pos != len(dsi) or prefix:
        return dsi
    return "/".join(out)


# --- reading ---------------------------------------------------------------------------------------------------------


def _find(e: etree._Element | None, path: str) -> etree._Element | None:
    return None if e is None else e.find(path, NS)


def _text(e: etree._Element | None, path: str = ".") -> str:
    found = _find(e, path) if path != "." else e
    return " ".join((found.text or "").split()) if found is not None and found.text else ""


def bi(e: etree._Element | None) -> Bi:
    """A text element's ``dcc:content`` children in vi and en; a content without a language serves both; a missing
    language takes the other's text; other languages are used when neither is there."""
    if e is None:
        return EMPTY
    by: dict[str, str] = {}
    plain: list[str] = []
    for c in e.iterfind("dcc:content", NS):
        text = " ".join("".join(str(t) for t in c.itertext()).split())
        lang = c.get("lang")
        if lang:
            by.setdefault(lang, text)
        else:
            plain.append(text)
    if not by and not plain and e.text and e.text.strip():
        plain.append(" ".join(e.text.split()))
    base = " / ".join(plain)
    other = next(iter(by.values()), "")
    vi = by.get("vi") or base or by.get("en") or other
    en = by.get("en") or base or by.get("vi") or other
    return Bi(vi, en)


def _plain(e: etree._Element | None) -> str:
    b = bi(e)
    return b.vi if b.same else f"{b.vi} / {b.en}"


def _address(contact: etree._Element | None) -> str:
    loc = _find(contact, "dcc:location")
    if loc is None:
        return ""
    parts = [_text(loc, f"dcc:{tag}") for tag in ("street", "streetNo", "postOfficeBox", "postCode", "city", "state")]
    parts += [_plain(f) for f in loc.iterfind("dcc:further", NS)]
    country = _text(loc, "dcc:countryCode")
    return ", ".join(p for p in [*parts, country] if p)


def _quantity(q: etree._Element) -> Quantity | None:
    real = q.find("si:real", NS)
    if real is None:
        return None
    mu = real.find("si:measurementUncertaintyUnivariate/si:expandedMU", NS)
    if mu is not None:
        U, k, p = (_text(mu, f"si:{t}") for t in ("valueExpandedMU", "coverageFactor", "coverageProbability"))
    else:  # D-SI 2.x's expandedUnc (other labs' older DCCs)
        unc = real.find("si:expandedUnc", NS)
        U, k, p = (_text(unc, f"si:{t}") for t in ("uncertainty", "coverageFactor", "coverageProbability"))
    return Quantity(_text(real, "si:value"), unit_text(_text(real, "si:unit")), U, k, p)


def _quantity_text(q: etree._Element) -> str:
    """A quantity that is not one si:real (a list, a hybrid, text) as one line of text."""
    values: list[str] = []
    for tag in ("si:realListXMLList", "si:hybrid/si:realListXMLList"):
        lst = q.find(tag, NS)
        if lst is not None:
            unit = unit_text(_text(lst, "si:unitXMLList"))
            values.append(f"{_text(lst, 'si:valueXMLList')} {unit}".strip())
            for path, names in (
                ("si:measurementUncertaintyUnivariateXMLList/si:expandedMUXMLList",
                 ("valueExpandedMUXMLList", "coverageFactorXMLList", "coverageProbabilityXMLList")),
                ("si:expandedUncXMLList",  # D-SI 1.x/2.x, deprecated in 2.2 but in other labs' DCCs
                 ("uncertaintyXMLList", "coverageFactorXMLList", "coverageProbabilityXMLList")),
            ):  # fmt: skip
                mu = lst.find(path, NS)
                if mu is not None:
                    U, k, p = (_text(mu, f"si:{n}") for n in names)
                    values.append(", ".join(x for x in (f"U = {U} {unit}".strip(), k and f"k = {k}", p and f"p = {p}")
                                            if x))  # fmt: skip
            break
    for tag in ("si:constant", "si:noQuantity"):
        c = q.find(tag, NS)
        if c is not None:
            values.append(" ".join("".join(str(t) for t in c.itertext()).split()))
    text = q.find("dcc:noQuantity", NS)
    if text is not None:
        values.append(_plain(text))
    return "; ".join(v for v in values if v)


def _notes(meta: etree._Element | None, notes: list[Bi], row: ResultRow) -> None:
    if meta is None:
        return
    for md in meta.iterfind("dcc:metaData", NS):
        decl = bi(md.find("dcc:declaration", NS)) or bi(md.find("dcc:declaration/dcc:name", NS))
        if "basic_conformity" in (md.get("refType") or "").split():
            value = _text(md, "dcc:conformity") or _text(md, "dcc:conformityXMLList")
            if value and value not in decl.en:
                decl = Bi(f"{decl.vi}: {value}", f"{decl.en}: {value}") if decl else Bi(value, value)
            row.conformity = decl
            for q in md.iterfind("dcc:data/dcc:quantity", NS):  # the limits the conformity was judged against
                quantity, refs = _quantity(q), (q.get("refType") or "").split()
                if quantity is not None and LOWER_LIMITS & set(refs) and row.lower is None:
                    row.lower = quantity
                elif quantity is not None and UPPER_LIMITS & set(refs) and row.upper is None:
                    row.upper = quantity
                else:
                    text = _quantity_text(q) if quantity is None else f"{quantity.value} {quantity.unit}".strip()
                    if text:
                        row.other.append((bi(q.find("dcc:name", NS)), text))
            continue
        if not decl:
            continue
        if decl not in notes:
            notes.append(decl)
        row.notes.append(notes.index(decl) + 1)


def _result(res: etree._Element, notes: list[Bi]) -> ResultRow:
    row = ResultRow(bi(res.find("dcc:name", NS)), _plain(res.find("dcc:description", NS)), None, None)
    meta_tag = f"{{{DCC}}}measurementMetaData"
    data = [q for q in res.iter(f"{{{DCC}}}quantity") if not any(a.tag == meta_tag for a in q.iterancestors())]
    for q in data:  # the result's quantities, in lists too; not those inside a metaData
        refs = (q.get("refType") or "").split()
        quantity = _quantity(q)
        if quantity is not None and row.point is None and any(r in POINT_REFTYPES for r in refs):
            row.point = quantity
        elif quantity is not None and LOWER_LIMITS & set(refs):
            row.lower = quantity
        elif quantity is not None and UPPER_LIMITS & set(refs):
            row.upper = quantity
        elif quantity is not None and row.value is None and (any(r in VALUE_REFTYPES for r in refs) or not refs):
            row.value = quantity
        else:
            text = _quantity_text(q) if quantity is None else f"{quantity.value} {quantity.unit}".strip()
            if quantity is not None and quantity.U:
                text += f" (U = {quantity.U}, k = {quantity.k})" if quantity.k else f" (U = {quantity.U})"
            if text:
                row.other.append((bi(q.find("dcc:name", NS)), text))
        _notes(q.find("dcc:measurementMetaData", NS), notes, row)
    _notes(res.find("dcc:measurementMetaData", NS), notes, row)
    return row


#: refType of caltrace's statement naming the kind of document (decision 0425) in ``dcc:convention``
KIND_REFTYPE = "caltrace_certificateKind"
#: kind -> (title vi, title en, dates label vi, dates label en), from the DCC writer's own texts (dcc_texts.T)
_KIND_WORDS = {
    kind: (T[f"title_{kind}"]["vi"], T[f"title_{kind}"]["en"], *dates)
    for kind, dates in (
        ("verification", ("Ngày kiểm định", "Date(s) of verification")),
        ("nonConformity", ("Ngày kiểm định", "Date(s) of verification")),
        ("lotCheck", ("Ngày kiểm tra", "Date(s) of the check")),
    )
}


def document_kind(root: etree._Element) -> str:
    """The kind of document caltrace stated (``verification``, ``nonConformity``, ``lotCheck``), else
    ``calibration`` (a calibration certificate, or another lab's DCC)."""
    for st in root.iterfind("dcc:administrativeData/dcc:statements/dcc:statement", NS):
        if KIND_REFTYPE in (st.get("refType") or "").split():
            kind = _text(st, "dcc:convention")
            if kind in _KIND_WORDS:
                return kind
    return "calibration"


def dates_label(kind: str) -> Bi:
    """The label of the performance dates for ``kind``."""
    words = _KIND_WORDS.get(kind)
    return Bi(words[2], words[3]) if words else Bi("Ngày thực hiện", "Date(s) of calibration")


def _title(root: etree._Element) -> Bi:
    for st in root.iterfind("dcc:administrativeData/dcc:statements/dcc:statement", NS):
        if TITLE_REFTYPE in (st.get("refType") or "").split():
            title = bi(st.find("dcc:declaration", NS))
            if title:
                return title
    words = _KIND_WORDS.get(document_kind(root))
    return Bi(words[0], words[1]) if words else Bi(*CALIBRATION_TITLE)


def _dates(core: etree._Element | None) -> str:
    begin, end = _text(core, "dcc:beginPerformanceDate"), _text(core, "dcc:endPerformanceDate")
    return begin if begin == end or not end else f"{begin} – {end}"


def read_view(root: etree._Element) -> View:
    """The :class:`View` of a DCC root element. ValueError when it is not a DCC or has no certificate number."""
    if root.tag != f"{{{DCC}}}digitalCalibrationCertificate":
        raise ValueError(f"the root element is {root.tag}, not dcc:digitalCalibrationCertificate: not a DCC")
    adm = root.find("dcc:administrativeData", NS)
    core = _find(adm, "dcc:coreData")
    number = _text(core, "dcc:uniqueIdentifier")
    if not number:
        raise ValueError("the DCC has no coreData/uniqueIdentifier: a certificate PDF needs its number")
    lab = _find(adm, "dcc:calibrationLaboratory")
    lab_contact = _find(lab, "dcc:contact")
    customer = _find(adm, "dcc:customer")
    contact = ", ".join(x for x in (_text(lab_contact, "dcc:phone"), _text(lab_contact, "dcc:eMail")) if x)

    item_names: list[str] = []
    item_lines: list[tuple[Bi, str]] = []
    for item in adm.iterfind("dcc:items/dcc:item", NS) if adm is not None else []:
        item_names.append(_plain(item.find("dcc:name", NS)))
        desc = _plain(item.find("dcc:description", NS))
        if desc:
            item_lines.append((Bi("Mô tả", "Description"), desc))
        maker = _plain(item.find("dcc:manufacturer/dcc:name", NS))
        if maker:
            item_lines.append((Bi("Nhà sản xuất", "Manufacturer"), maker))
        model = _text(item, "dcc:model")
        if model:
            item_lines.append((Bi("Kiểu", "Model"), model))
        for ident in item.iterfind("dcc:identifications/dcc:identification", NS):
            name = bi(ident.find("dcc:name", NS)) or Bi(_text(ident, "dcc:issuer"), _text(ident, "dcc:issuer"))
            item_lines.append((name, _text(ident, "dcc:value")))

    methods: list[Method] = []
    uncertainty = EMPTY
    conditions: list[Condition] = []
    standards: list[Standard] = []
    results: list[ResultRow] = []
    notes: list[Bi] = []
    for mr in root.iterfind("dcc:measurementResults/dcc:measurementResult", NS):
        for m in mr.iterfind("dcc:usedMethods/dcc:usedMethod", NS):
            if "basic_uncertainty" in (m.get("refType") or "").split():
                uncertainty = bi(m.find("dcc:description", NS)) or bi(m.find("dcc:name", NS))
                continue
            norms = [_text(n) for n in m.iterfind("dcc:norm", NS)]
            methods.append(
                Method(bi(m.find("dcc:name", NS)), bi(m.find("dcc:description", NS)), norms, _text(m, "dcc:reference"))
            )
        for c in mr.iterfind("dcc:influenceConditions/dcc:influenceCondition", NS):
            values = []
            for q in c.iterfind("dcc:data/dcc:quantity", NS):
                quantity = _quantity(q)
                text = f"{quantity.value} {quantity.unit}".strip() if quantity else _quantity_text(q)
                values.append((bi(q.find("dcc:name", NS)), text))
            conditions.append(Condition(bi(c.find("dcc:name", NS)), values, bi(c.find("dcc:description", NS))))
        for eq in mr.iterfind("dcc:measuringEquipments/dcc:measuringEquipment", NS):
            ids, cert = [], ""
            for ident in eq.iterfind("dcc:identifications/dcc:identification", NS):
                if "caltrace_certificateNumber" in (ident.get("refType") or "").split():
                    cert = _text(ident, "dcc:value")
                    continue
                ids.append((bi(ident.find("dcc:name", NS)), _text(ident, "dcc:value")))
            for c in eq.iterfind("dcc:certificate", NS):  # DCC 3.x hash reference to the standard's certificate
                cert = cert or _text(c, "dcc:referral/dcc:content") or _text(c, "dcc:referralID")
            standards.append(Standard(_plain(eq.find("dcc:name", NS)), ids, cert, bi(eq.find("dcc:description", NS))))
        for res in mr.iterfind("dcc:results/dcc:result", NS):
            results.append(_result(res, notes))

    statements = [
        bi(st.find("dcc:declaration", NS))
        for st in (adm.iterfind("dcc:statements/dcc:statement", NS) if adm is not None else [])
        if not {TITLE_REFTYPE, KIND_REFTYPE} & set((st.get("refType") or "").split())
    ]
    persons = []
    for rp in adm.iterfind("dcc:respPersons/dcc:respPerson", NS) if adm is not None else []:
        role = bi(rp.find("dcc:description", NS)) or Bi(_text(rp, "dcc:role"), _text(rp, "dcc:role"))
        persons.append(Person(_plain(rp.find("dcc:person/dcc:name", NS)), role, _text(rp, "dcc:mainSigner") == "true"))
    return View(
        number=number,
        title=_title(root),
        dates_label=dates_label(document_kind(root)),
        schema_version=root.get("schemaVersion") or "",
        laboratory=_plain(_find(lab_contact, "dcc:name")),
        laboratory_code=_text(lab, "dcc:calibrationLaboratoryCode"),
        laboratory_address=_address(lab_contact),
        laboratory_contact=contact,
        customer=_plain(_find(customer, "dcc:name")),
        customer_address=_address(customer),
        item_name="; ".join(item_names),
        item_lines=item_lines,
        performed=_dates(core),
        issued=_text(core, "dcc:issueDate"),
        location=_text(core, "dcc:performanceLocation"),
        methods=methods,
        uncertainty=uncertainty,
        conditions=conditions,
        standards=standards,
        results=results,
        notes=notes,
        statements=[s for s in statements if s],
        persons=persons,
    )
