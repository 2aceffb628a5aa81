"""A small ISO Schematron runner for the tests: PTB's ``dcc.sch`` (queryBinding xslt2) compiled here into an XSLT 3
stylesheet and run with Saxon (the ``saxonche`` package).

What it implements of ISO/IEC 19757-3: ``ns``, pattern-level ``let`` (global variables: their names are distinct
in dcc.sch), rule-level ``let``, ``rule`` (within a pattern the first rule whose context matches a node fires, as
the standard says: templates of one mode with decreasing priority), ``assert``/``report`` with ``role`` and
``value-of``. Not implemented (dcc.sch does not use them): abstract patterns, ``include``, ``extends``, phases,
``name``, diagnostics. The output is one ``<fired kind="assert|report" role=… location=…>text</fired>`` per failed
assertion or successful report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from lxml import etree

SCH = "http://purl.oclc.org/dsdl/schematron"
XSL = "http://www.w3.org/1999/XSL/Transform"


@dataclass(frozen=True)
class Fired:
    kind: str  # "assert" (failed) or "report" (its test was true)
    role: str
    location: str
    text: str


def _message(node: etree._Element) -> str:
    """The assertion's text as XSLT: literal text, ``sch:value-of`` as ``xsl:value-of``."""
    parts = [_text(node.text)]
    for child in node:
        if child.tag == f"{{{SCH}}}value-of":
            parts.append(f"<xsl:value-of select={quoteattr(child.get('select', ''))}/>")
        parts.append(_text(child.tail))
    return "".join(parts)


def _text(s: str | None) -> str:
    return " ".join((s or "").split()).replace("&", "&amp;").replace("<", "&lt;")


def compile_schematron(path: Path) -> str:
    """The XSLT 3 stylesheet of the Schematron schema at ``path``."""
    sch = etree.parse(str(path)).getroot()
    ns = {n.get("prefix"): n.get("uri") for n in sch.iterfind(f"{{{SCH}}}ns")}
    decls = " ".join(f'xmlns:{p}="{u}"' for p, u in ns.items())
    out = [
        f'<xsl:stylesheet version="3.0" xmlns:xsl="{XSL}" xmlns:xs="http://www.w3.org/2001/XMLSchema" {decls} '
        f'exclude-result-prefixes="#all">'
    ]
    patterns = list(sch.iterfind(f"{{{SCH}}}pattern"))
    for let in sch.iterfind(f".//{{{SCH}}}pattern/{{{SCH}}}let"):
        out.append(f'<xsl:variable name="{let.get("name")}" select={quoteattr(let.get("value", ""))}/>')
    out.append('<xsl:template match="/"><results>')
    out += [f'<xsl:apply-templates select="." mode="p{i}"/>' for i in range(len(patterns))]
    out.append("</results></xsl:template>")
    for i, pattern in enumerate(patterns):
        mode = f"p{i}"
        rules = list(pattern.iterfind(f"{{{SCH}}}rule"))
        for j, rule in enumerate(rules):
            out.append(f'<xsl:template match={quoteattr(rule.get("context", ""))} mode="{mode}" priority="{1000 - j}">')
            for child in rule:
                if child.tag == f"{{{SCH}}}let":
                    out.append(f'<xsl:variable name="{child.get("name")}" select={quoteattr(child.get("value", ""))}/>')
                elif child.tag in (f"{{{SCH}}}assert", f"{{{SCH}}}report"):
                    kind = "assert" if child.tag.endswith("assert") else "report"
                    test = child.get("test", "")
                    cond = f"not({test})" if kind == "assert" else test
                    role = child.get("role", "")
                    out.append(
                        f'<xsl:if test={quoteattr(cond)}><fired kind="{kind}" role={quoteattr(role)}>'
                        f'<xsl:attribute name="location" select="path()"/>{_message(child)}</fired></xsl:if>'
                    )
            out.append(f'<xsl:apply-templates select="@*|node()" mode="{mode}"/></xsl:template>')
        out.append(
            f'<xsl:template match="node()|@*" mode="{mode}" priority="-1000">'
            f'<xsl:apply-templates select="@*|node()" mode="{mode}"/></xsl:template>'
        )
    out.append("</xsl:stylesheet>")
    return "\n".join(out)


def run_schematron(schema: Path, xml: bytes) -> list[Fired]:
    """Every failed assertion and successful report of ``schema`` on the document ``xml``."""
    from saxonche import PySaxonProcessor

    with PySaxonProcessor(license=False) as proc:
        xslt = proc.new_xslt30_processor()
        executable = xslt.compile_stylesheet(stylesheet_text=compile_schematron(schema))
        doc = proc.parse_xml(xml_text=xml.decode("utf-8"))
        executable.set_global_context_item(xdm_item=doc)
        result = executable.transform_to_string(xdm_node=doc)
    root = etree.fromstring(result.encode("utf-8"))
    return [Fired(e.get("kind", ""), e.get("role", ""), e.get("location", ""), e.text or "") for e in root]
