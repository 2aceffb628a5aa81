"""Reading another lab's DCC (PTB DCC 2.4.0 to 3.3.0) for the certificate history of one of our reference standards.

:func:`read_dcc` takes what a standard's certificate record needs (decision 0460):

- the number: ``coreData/uniqueIdentifier``; the dates: ``beginPerformanceDate``/``endPerformanceDate`` (the
  calibration) and ``issueDate`` (DCC 3.x; absent in 2.4.0);
- the issuing laboratory: ``calibrationLaboratory/contact/name`` and, when stated, ``calibrationLaboratoryCode``
  (its accreditation);
- the item's identifications (``items/item/identifications/identification/value``);
- every result value (``measurementResults//results/result``; influence conditions are not results): each
  ``dcc:quantity`` holding an ``si:real``, with the nominal value and the marking stated beside it in the same list
  (a quantity named "nominal value"/"Nennwert" or of refType ``basic_referenceValue``; "marking"/"Kennzeichnung").

Units go through :func:`registry.units.from_dsi` (D-SI 2.x, and the D-SI 1.x ``\\degreeCelsius`` of DCC 2.4.0).
U is read from ``si:measurementUncertaintyUnivariate/si:expandedMU`` (D-SI 2.2: ``valueExpandedMU``,
``coverageFactor``, ``coverageProbability``) or the deprecated ``si:expandedUnc`` (D-SI 1.x/2.0: ``uncertainty``,
``coverageFactor``, ``coverageProbability``). Numbers are kept as :class:`~decimal.Decimal`, digit for digit.

What a value *means* (a weight's correction, its conventional mass, a true mass, something else) is judged from its
names (:func:`kind_of`), since no DCC vocabulary in the versions read names a conventional mass (unverified against
PTB's refType lists: a name-based reading, conservative: what it does not recognise is "other" and a weight set
refuses it). Nothing here touches the registry: :mod:`certificates.standard_dcc` maps the values to a standard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Literal

from lxml import etree

from certificates.read_dcc_messages import m
from certificates.verify.schema import safe_parser
from registry.importer.messages import Message
from registry.units import canonical_unit, from_dsi, unit_info

DCC = "https://ptb.de/dcc"
SI = "https://ptb.de/si"
NS = {"dcc": DCC, "si": SI}

Kind = Literal["correction", "conventional mass", "mass", "other"]

#: names of the quantity that states a weight's nominal value, casefolded (en, de, vi)
NOMINAL_NAMES = ("nominal value", "nominal", "nennwert", "giá trị danh định", "danh định", "điểm hiệu chuẩn")
#: names of the quantity that states a weight's marking (en, de, vi)
MARKING_NAMES = ("marking", "mark", "kennzeichnung", "ký hiệu", "dấu")
#: a marking that says "no marking" (en, de, vi)
NO_MARKING = ("", "none", "keine", "không", "-", "—")


class DccReadError(ValueError):
    """The file is not a DCC that can be read at all; :attr:`message` is bilingual."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.text("en"))
        self.message = message


@dataclass(frozen=True)
class DccValue:
    """One result value: ``value`` in ``unit`` (caltrace's spelling), ``U`` at ``k`` (``p`` the coverage
    probability, when stated) in ``U_unit``; ``nominal`` in ``nominal_unit`` and ``label`` (the marking) when stated
    beside it; ``names`` every language's name of the quantity and its result; ``where`` says which result it is."""

    where: Message
    name: str
    names: tuple[str, ...]
    kind: Kind
    value: Decimal
    unit: str
    dsi_unit: str
    U: Decimal | None
    U_unit: str
    k: Decimal | None
    p: Decimal | None
    nominal: Decimal | None
    nominal_unit: str
    label: str


@dataclass
class DccContent:
    """What a DCC says that a standard's certificate record needs; ``problems`` what could not be read (each a
    reason to refuse the import)."""

    schema_version: str
    number: str
    issued_on: date | None
    begin: date | None
    end: date | None
    laboratory: str
    accreditation: str
    item_name: str
    item_ids: list[tuple[str, str]]
    values: list[DccValue] = field(default_factory=list)
    problems: list[Message] = field(default_factory=list)

    @property
    def calibrated_on(self) -> date | None:
        """The day the calibration ended (the end of the performance dates; the begin when no end is stated)."""
        return self.end or self.begin


def _texts(element: etree._Element | None) -> list[str]:
    """The ``dcc:content`` texts of a text element (every language), stripped, in document order."""
    if element is None:
        return []
    return [" ".join((c.text or "").split()) for c in element.findall("dcc:content", NS) if (c.text or "").strip()]


def _text_in(element: etree._Element | None, language: str = "en") -> str:
    """The ``dcc:content`` in ``language``, else the first without a language (for ``vi``: then the English
    one), else the first."""
    if element is None:
        return ""
    contents = element.findall("dcc:content", NS)
    for wanted in (language, None, "en"):
        for c in contents:
            if c.get("lang") == wanted and (c.text or "").strip():
                return " ".join((c.text or "").split())
    texts = _texts(element)
    return texts[0] if texts else ""


def _date(root: etree._Element, path: str, problems: list[Message]) -> date | None:
    text = (root.findtext(path, namespaces=NS) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        problems.append(m("dcc.bad_date", text=text, where=path.rsplit("/", 1)[-1]))
        return None


def _decimal(text: str | None) -> Decimal | None:
    if text is None or not text.strip():
        return None
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def kind_of(names: tuple[str, ...]) -> Kind:
    """What a value is, from its names (the quantity's first, then its result's; any language): a weight's
    conventional-mass correction (``conventional mass deviation (m_c − m_0)``, ``conventional mass correction``,
    ``số hiệu chính``), its conventional mass (``conventional mass``, ``konventioneller Wägewert``, ``khối lượng
    quy ước``), a (true) mass (``mass``, ``Masse``, ``khối lượng``), or other. The first name that says anything
    decides; a correction is recognised before a conventional mass (its name contains that one's)."""
    for name in names:
        n = name.casefold().replace("−", "-")
        conventional = "conventional mass" in n or "wägewert" in n or "khối lượng quy ước" in n
        if conventional and any(w in n for w in ("deviation", "correction", "m_c - m_0", "error", "abweichung")):
            return "correction"
        if "hiệu chính" in n or "korrektion" in n:
            return "correction"
        if conventional:
            return "conventional mass"
        if re.search(r"\b(mass|masse)\b", n) or n.startswith("khối lượng"):
            return "mass"
    return "other"


def _literal(text: str) -> str:
    """``text`` as a message template that shows it as it is (braces doubled)."""
    return text.replace("{", "{{").replace("}", "}}")


def _is(names: list[str], words: tuple[str, ...]) -> bool:
    return any(n.casefold().strip(" :") in words for n in names)


def _nominal(quantity: etree._Element) -> tuple[Decimal, str] | None:
    """A nominal value: an ``si:real`` (value, D-SI unit) or a text such as ``1 kg`` / ``200 g`` / ``0,5 mg``."""
    real = quantity.find("si:real", NS)
    if real is not None:
        number = _decimal(real.findtext("si:value", namespaces=NS))
        unit = from_dsi(real.findtext("si:unit", namespaces=NS) or "")
        return None if number is None or unit is None else (number, unit)
    for text in _texts(quantity.find("dcc:noQuantity", NS)):
        match = re.fullmatch(r"([0-9]+(?:[.,][0-9]+)?)\s*([^\s\d]+)", text)
        if match:
            number = _decimal(match.group(1).replace(",", "."))
            unit = canonical_unit(match.group(2))
            if number is not None and unit_info(unit) is not None:
                return number, unit
    return None


def _marking(quantity: etree._Element) -> str:
    texts = _texts(quantity.find("dcc:noQuantity", NS))
    first = texts[0] if texts else ""
    return "" if first.casefold() in NO_MARKING else first


#: D-SI forms a quantity may hold that this reader does not take (it refuses them, naming the form)
_OTHER_FORMS = ("realListXMLList", "list", "hybrid", "complex", "constant", "realList")


def _uncertainty(real: etree._Element) -> tuple[Decimal | None, Decimal | None, Decimal | None, str]:
    """(U, k, p, what is missing): D-SI 2.2 ``expandedMU`` or the deprecated ``expandedUnc``."""
    mu = real.find("si:measurementUncertaintyUnivariate/si:expandedMU", NS)
    if mu is not None:
        return (
            _decimal(mu.findtext("si:valueExpandedMU", namespaces=NS)),
            _decimal(mu.findtext("si:coverageFactor", namespaces=NS)),
            _decimal(mu.findtext("si:coverageProbability", namespaces=NS)),
            "",
        )
    unc = real.find("si:expandedUnc", NS)
    if unc is not None:
        return (
            _decimal(unc.findtext("si:uncertainty", namespaces=NS)),
            _decimal(unc.findtext("si:coverageFactor", namespaces=NS)),
            _decimal(unc.findtext("si:coverageProbability", namespaces=NS)),
            "",
        )
    other = (
        real.find("si:measurementUncertaintyUnivariate/si:standardMU", NS) is not None
        or real.find("si:measurementUncertaintyUnivariate/si:coverageIntervalMU", NS) is not None
        or real.find("si:coverageInterval", NS) is not None
    )
    return None, None, None, "standard" if other else "none"


def _groups(data: etree._Element) -> list[list[etree._Element]]:
    """The quantities of a result's data, grouped by the list that holds them (a nominal value and a marking
    belong to the values of their own list)."""
    out: list[list[etree._Element]] = []
    direct = data.findall("dcc:quantity", NS)
    if direct:
        out.append(direct)
    for lst in data.iter(f"{{{DCC}}}list"):
        inside = lst.findall("dcc:quantity", NS)
        if inside:
            out.append(inside)
    return out


def _read_results(root: etree._Element, content: DccContent) -> None:
    results = root.findall("dcc:measurementResults/dcc:measurementResult/dcc:results/dcc:result", NS)
    if not results:
        content.problems.append(m("dcc.no_results"))
        return
    for n, result in enumerate(results, start=1):
        result_names = _texts(result.find("dcc:name", NS))
        result_name = _text_in(result.find("dcc:name", NS)) or "-"
        data = result.find("dcc:data", NS)
        if data is None:
            continue
        for group in _groups(data):
            nominal: tuple[Decimal, str] | None = None
            label = ""
            measured: list[etree._Element] = []
            for quantity in group:
                names = _texts(quantity.find("dcc:name", NS))
                if quantity.get("refType", "").find("basic_referenceValue") >= 0 or _is(names, NOMINAL_NAMES):
                    nominal = _nominal(quantity)
                elif _is(names, MARKING_NAMES):
                    label = _marking(quantity)
                elif quantity.find("dcc:noQuantity", NS) is None:
                    measured.append(quantity)
            for quantity in measured:
                _read_value(quantity, n, result_name, tuple(result_names), nominal, label, content)


def _read_value(
    quantity: etree._Element,
    n: int,
    result_name: str,
    result_names: tuple[str, ...],
    nominal: tuple[Decimal, str] | None,
    label: str,
    content: DccContent,
) -> None:
    own = tuple(_texts(quantity.find("dcc:name", NS)))
    name = _text_in(quantity.find("dcc:name", NS)) or result_name
    name_vi = _text_in(quantity.find("dcc:name", NS), "vi") or result_name
    shown = Message("dcc.name", (), (_literal(name_vi), _literal(name)))  # the name in the reader's language
    where = m("where.result", n=n, name=shown)
    real = quantity.find("si:real", NS)
    if real is None:
        form = next((f for f in _OTHER_FORMS if quantity.find(f"si:{f}", NS) is not None), None)
        if form is not None:
            content.problems.append(m("value.form", where=where, form=f"si:{form}"))
        return
    value = _decimal(real.findtext("si:value", namespaces=NS))
    if value is None:
        content.problems.append(m("value.no_value", where=where))
        return
    dsi = (real.findtext("si:unit", namespaces=NS) or "").strip()
    unit = from_dsi(dsi)
    if unit is None:
        content.problems.append(m("value.unit", where=where, unit=dsi))
        return
    U, k, p, missing = _uncertainty(real)
    if U is None:
        content.problems.append(m("value.standard_only" if missing == "standard" else "value.no_uncertainty",
                                  where=where))  # fmt: skip
        return
    if k is None:
        content.problems.append(m("value.no_k", where=where))
        return
    content.values.append(
        DccValue(
            where=where,
            name=name,
            names=own + result_names,
            kind=kind_of(own + result_names),
            value=value,
            unit=unit,
            dsi_unit=dsi,
            U=U,
            U_unit=unit,  # D-SI states U in the value's unit (si:real has one si:unit)
            k=k,
            p=p,
            nominal=nominal[0] if nominal else None,
            nominal_unit=nominal[1] if nominal else "",
            label=label,
        )
    )


def read_dcc(data: bytes, file_name: str = "DCC") -> DccContent:
    """What the DCC ``data`` says (see the module docstring). :class:`DccReadError` when it is not a DCC at all;
    anything else that cannot be read is listed in :attr:`DccContent.problems` (the caller refuses the import)."""
    try:
        root = etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as exc:
        raise DccReadError(m("dcc.not_xml", file=file_name, detail=str(exc))) from exc
    if root.tag != f"{{{DCC}}}digitalCalibrationCertificate":
        raise DccReadError(m("dcc.not_dcc", file=file_name, root=etree.QName(root).localname))
    problems: list[Message] = []
    core = "dcc:administrativeData/dcc:coreData/"
    number = (root.findtext(core + "dcc:uniqueIdentifier", namespaces=NS) or "").strip()
    if not number:
        problems.append(m("dcc.no_number"))
    begin = _date(root, core + "dcc:beginPerformanceDate", problems)
    end = _date(root, core + "dcc:endPerformanceDate", problems)
    issued = _date(root, core + "dcc:issueDate", problems)
    if begin is None and end is None:
        problems.append(m("dcc.no_date"))
    lab = root.find("dcc:administrativeData/dcc:calibrationLaboratory", NS)
    lab_name = _text_in(lab.find("dcc:contact/dcc:name", NS)) if lab is not None else ""
    if not lab_name:
        problems.append(m("dcc.no_lab"))
    accreditation = ""
    if lab is not None:
        accreditation = (lab.findtext("dcc:calibrationLaboratoryCode", namespaces=NS) or "").strip()
    item = root.find("dcc:administrativeData/dcc:items/dcc:item", NS)
    item_ids: list[tuple[str, str]] = []
    if item is not None:
        for ident in item.findall("dcc:identifications/dcc:identification", NS):
            value = (ident.findtext("dcc:value", namespaces=NS) or "").strip()
            if value:
                item_ids.append(((ident.findtext("dcc:issuer", namespaces=NS) or "").strip(), value))
    content = DccContent(
        schema_version=root.get("schemaVersion", ""),
        number=number,
        issued_on=issued,
        begin=begin,
        end=end,
        laboratory=lab_name,
        accreditation=accreditation,
        item_name=_text_in(item.find("dcc:name", NS)) if item is not None else "",
        item_ids=item_ids,
        problems=problems,
    )
    _read_results(root, content)
    return content
