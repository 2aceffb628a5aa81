"""Sartorius balances over SBI (Sartorius Balance Interface): codec (pure functions) and driver.

Where the facts come from (manuals read through their public transcriptions):

* Commands, "Data Input Format": *Cubis MSE Operating Instructions*, "Data Interfaces", pp. 71-72 -- Format 1
  ``Esc ! CR LF``, Format 2 ``Esc ! # _ CR LF``, CR and LF optional; ``ESC P`` print, ``ESC T`` tare/zero
  ("TARE" key), ``ESC U`` tare, ``ESC V`` zero, ``ESC Z`` internal adjustment, ``ESC x1_`` weigher type,
  ``ESC x2_`` serial number, ``ESC x3_`` balance software version. *Entris II interface description*
  ("Commands (Data Input Format)", p. 4) adds ``x4_`` = APC software version (``x3_`` = BAC software version).
* Output lines, "Data Output Format with 16 Characters": Cubis MSE p. 69 -- position 1 ``+``, ``-`` or space;
  2 space; 3-10 value with decimal point, leading zeros as spaces; 11 space; 12-14 unit or space; 15 CR; 16 LF.
  Example ``+   123.56 g  ``. *Sartorius ME215S manual* p. 135: position 2 may carry a digit
  (``+111.25507 mg ``), so the value field is read as positions 2-10.
* "Data Output Format with 22 Characters": Cubis MSE p. 70 -- a 6-character ID code (e.g. ``N     ``) precedes
  the 16-character string. Special outputs ``Stat`` + ``High`` (overload), ``Low`` (underload), ``Cal.Ext.``;
  errors ``Stat     ERR ###``, ``APP.ERR``, ``DIS.ERR``, ``PRT.ERR``. *Cubis MSA* p. 151 and *Signum 1-2-3*
  p. 88: one-letter codes ``H``/``HH`` overload, ``L``/``LL`` underload, ``C`` adjustment, ``--`` final readout,
  and ``Err ##``/``Err ###`` in the 16-character form (``   Err 123    ``); an all-blank line is a status too.
* Blank unit = not stable: *Sartorius Miras 2 / IW2P1X* "SBI Interface Protocol Description" p. 23 (unit
  field blank: "no stable parameter; no weighed value"; ID codes ``Stat``, ``N``, ``S/N``, ``Model``; sign
  blank when the value is 0). Live Cubis MSE captures published with sartoriuslib agree
  (``N     +    0.031`` while settling, ``N     +    0.006 g`` once stable).
* Serial framing: *Sartorius CP series operating instructions* "Data Interface" p. 54 -- 1 start bit, 7-bit
  ASCII, parity, 1 stop bit; factory parity odd. The same manual gives 1,200 baud as factory rate; current
  models ship at 9,600 baud and some (Entris II, Cubis II) are reported with 8 data bits: see :func:`sbi_address`.

SBI has no checksum and no acknowledgement: ``ESC T/U/V/Z`` are answered by nothing. Only ``ESC P`` and the
``ESC xN_`` identification commands produce a line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Self
from urllib.parse import parse_qsl, urlsplit

from drivers.address import Address, SerialSettings, parse_address
from drivers.base import Instrument, InstrumentInfo
from drivers.errors import DeviceError, ProtocolError
from drivers.reading import Reading, ReadingStatus
from drivers.transport.serial import SerialTransport

ESC = b"\x1b"
CRLF = b"\r\n"

#: factory framing documented for SBI (7 data bits, odd parity, 1 stop bit) at the usual 9,600 baud
SBI_SETTINGS = SerialSettings(baud=9600, bytesize=7, parity="O", stopbits=1)

#: ID codes after which an identification line carries its text (IW2 SBI description p. 23)
IDENTIFICATION_IDS = ("Model", "S/N")

_COMMAND = re.compile(r"^(?:[A-Z]|[a-z][A-Za-z0-9]{0,15}_)$")
_NUMBER = re.compile(r"^(?:\d+\.?\d*|\.\d+)$")
_ERROR = re.compile(r"^(?:ERR|Err)\s*/?\s*(\d{1,3})$")
_NAMED_ERROR = re.compile(r"^(APP|DIS|PRT)\.(?:ERR|Err)$")
_OVERLOAD = {"High", "H", "HH"}
_UNDERLOAD = {"Low", "L", "LL"}
_BUSY = {"", "C", "Cal", "Cal.", "Cal.Ext.", "Cal.Int.", "--"}

BODY_16 = 14  # characters of the 16-character form without CR LF
BODY_22 = 20  # characters of the 22-character form without CR LF
ID_LENGTH = 6


class LineKind(StrEnum):
    """What an SBI output line carries."""

    VALUE = "value"  # a number (with or without unit)
    STATUS = "status"  # a special output (overload, underload, adjusting, ...) without a number
    ERROR = "error"  # an error message (``Err ###``, ``APP.ERR``, ...)


@dataclass(frozen=True, slots=True)
class SbiLine:
    """One decoded SBI output line.

    ``value`` is the signed number as printed in ``unit`` (NaN unless ``kind`` is VALUE). ``unit`` is the unit
    field stripped; empty means the balance is not stable. ``status`` is the reading status it implies.
    ``code`` is the status code (``High``, ``L``, ``C``, ...) or the error code (``123``, ``APP.ERR``).
    ``id_code`` is the 22-character form's ID (``N``, ``Stat``, ...) stripped, empty in the 16-character form.
    ``text`` is the line without its CR LF, for messages.
    """

    kind: LineKind
    value: float
    unit: str
    status: ReadingStatus
    code: str = ""
    id_code: str = ""
    text: str = ""

    @property
    def stable(self) -> bool:
        """True for a number printed with its unit."""
        return self.status is ReadingStatus.STABLE


# ----------------------------------------------------------------------------------------------------- codec
def encode_command(command: str, *, crlf: bool = False) -> bytes:
    """Bytes of an SBI command: ``"P"`` -> ``ESC P``; ``"x1_"`` -> ``ESC x1_``; ``crlf`` appends CR LF.

    Format 1 is one upper-case letter; format 2 a lower-case letter, up to 15 letters/digits and ``_``.
    """
    if not isinstance(command, str) or not _COMMAND.match(command):
        raise ValueError(
            f"not an SBI command: {command!r}; give one upper-case letter (e.g. 'P') or a format-2 "
            "command ending in '_' (e.g. 'x1_')"
        )
    return ESC + command.encode("ascii") + (CRLF if crlf else b"")


def _decode(line: bytes) -> str:
    """The line as ASCII without its CR LF; ProtocolError for anything else."""
    if not isinstance(line, bytes | bytearray):
        raise ProtocolError(f"SBI line must be bytes, got {type(line).__name__}")
    body = bytes(line)
    if body.endswith(CRLF):
        body = body[:-2]
    elif body.endswith(b"\n") or body.endswith(b"\r"):
        body = body[:-1]
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError(f"SBI line {bytes(line)!r} is not 7-bit ASCII (wrong baud rate or framing?)") from None
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ProtocolError(f"SBI line {bytes(line)!r} contains control characters (wrong framing?)")
    return text


def _split(text: str, raw: bytes) -> tuple[str, str]:
    """(ID code, 14-character body) of a line in the 16- or 22-character form."""
    n = len(text)
    if n == BODY_16:
        return "", text
    if n == BODY_22:
        return text[:ID_LENGTH].strip(), text[ID_LENGTH:]
    # tolerate lines whose trailing blanks were trimmed: the first character tells the form
    if 0 < n < BODY_16 and text[0] in "+- ":
        return "", text.ljust(BODY_16)
    if ID_LENGTH < n < BODY_22 and text[0] not in "+- ":
        return text[:ID_LENGTH].strip(), text[ID_LENGTH:].ljust(BODY_16)
    raise ProtocolError(
        f"SBI line {raw!r} has {n + 2} characters; expected 16 or 22 with CR LF (is the balance set to SBI output?)"
    )


def parse_line(line: bytes) -> SbiLine:
    """Decode one output line (16 or 22 characters, CR LF optional) into an :class:`SbiLine`.

    Fields are taken by position: sign (1), value (2-10), separator (11), unit (12-14); the 22-character form
    has a 6-character ID before them. Raise :class:`ProtocolError` for anything that is not an SBI line.
    """
    text = _decode(line)
    raw = bytes(line)
    id_code, body = _split(text, raw)
    sign, field, sep, unit = body[0], body[1:10], body[10], body[11:14]
    digits = field.replace("[", "").replace("]", "").strip()  # "123.5[6]": non-verified digit in brackets
    if _NUMBER.match(digits):
        if sign not in "+- ":
            raise ProtocolError(f"SBI line {raw!r}: sign {sign!r} is not '+', '-' or a space")
        if sep not in " ]":
            raise ProtocolError(f"SBI line {raw!r}: position 11 must be a space, found {sep!r}")
        if " " in digits:
            raise ProtocolError(f"SBI line {raw!r}: the value {digits!r} has a gap")
        unit = unit.strip()
        if unit and not unit.isprintable():
            raise ProtocolError(f"SBI line {raw!r}: bad unit {unit!r}")
        value = float(digits) * (-1.0 if sign == "-" else 1.0)
        if not math.isfinite(value):
            raise ProtocolError(f"SBI line {raw!r}: value out of range")
        status = ReadingStatus.STABLE if unit else ReadingStatus.DYNAMIC
        return SbiLine(LineKind.VALUE, value, unit, status, "", id_code, text)
    token = " ".join(body.split())
    if id_code not in ("", "Stat"):
        raise ProtocolError(f"SBI line {raw!r}: no number after the ID {id_code!r}")
    if match := _ERROR.match(token):
        return SbiLine(LineKind.ERROR, math.nan, "", ReadingStatus.ERROR, match[1], id_code, text)
    if match := _NAMED_ERROR.match(token):
        return SbiLine(LineKind.ERROR, math.nan, "", ReadingStatus.ERROR, f"{match[1]}.ERR", id_code, text)
    if token in _OVERLOAD:
        return SbiLine(LineKind.STATUS, math.nan, "", ReadingStatus.OVERLOAD, token, id_code, text)
    if token in _UNDERLOAD:
        return SbiLine(LineKind.STATUS, math.nan, "", ReadingStatus.UNDERLOAD, token, id_code, text)
    if token in _BUSY:
        return SbiLine(LineKind.STATUS, math.nan, "", ReadingStatus.DYNAMIC, token, id_code, text)
    raise ProtocolError(f"SBI line {raw!r} is neither a value nor a known status or error output")


def parse_text(line: bytes) -> tuple[str, str]:
    """Decode an identification line (``ESC x1_`` .. ``ESC x4_``) into (ID code, text), both stripped.

    The ID is recognised only when the line starts with a known identification ID (``Model``, ``S/N``);
    otherwise the whole line is the text. Raise :class:`ProtocolError` for non-ASCII, control characters,
    an empty text or a line longer than 40 characters.
    """
    text = _decode(line)
    if len(text) > 40:
        raise ProtocolError(f"SBI identification line {bytes(line)!r} is too long")
    id_code = ""
    for known in IDENTIFICATION_IDS:
        if text.startswith(known) and (len(text) == len(known) or text[len(known)] == " "):
            id_code, text = known, text[len(known) :]
            break
    value = text.strip()
    if not value:
        raise ProtocolError(f"SBI identification line {bytes(line)!r} is empty")
    return id_code, value


def sbi_address(address: Address | str) -> Address:
    """``address`` with SBI's documented framing (7 data bits, odd parity, 1 stop bit) unless the URL names any
    of ``bytesize``, ``parity`` or ``stopbits``; ``baud`` keeps the URL's value (default 9,600)."""
    parsed = parse_address(address) if isinstance(address, str) else address
    given = {key.lower() for key, _ in parse_qsl(urlsplit(parsed.url).query, keep_blank_values=True)}
    if given & {"bytesize", "data_bits", "databits", "parity", "stopbits", "stop_bits"}:
        return parsed
    framing = replace(
        parsed.serial, bytesize=SBI_SETTINGS.bytesize, parity=SBI_SETTINGS.parity, stopbits=SBI_SETTINGS.stopbits
    )
    return replace(parsed, serial=framing)


# ---------------------------------------------------------------------------------------------------- driver
class SartoriusBalance(Instrument):
    """A Sartorius balance (Cubis, Quintix, Secura, Entris, CP, ...) set to SBI output.

    ``crlf`` appends CR LF to every command (the manuals call it optional; some interface converters want it).
    The balance must print on request ("manual without stability" for :meth:`poll` to see dynamic values; with
    "manual after stability" it stays silent until stable and :meth:`poll` may time out).
    """

    protocol = "sbi"

    def __init__(self, transport: SerialTransport, instrument_id: str = "", *, crlf: bool = False) -> None:
        super().__init__(instrument_id or transport.address.shown)
        self.transport = transport
        self.crlf = crlf
        self.info: InstrumentInfo | None = None
        if transport.name == "instrument":
            transport.name = f"Sartorius SBI balance {self.instrument_id}"

    @classmethod
    def connect(cls, address: Address, instrument_id: str = "", *, crlf: bool = False) -> Self:
        """A driver on ``address`` (see :func:`sbi_address` for the default framing)."""
        sbi = sbi_address(address)
        return cls(
            SerialTransport(sbi, name=f"Sartorius SBI balance {instrument_id or sbi.shown}"), instrument_id, crlf=crlf
        )

    # -- exchanges --------------------------------------------------------------------------------------------
    def command(self, command: str) -> None:
        """Send a command that the balance does not answer (``T``, ``U``, ``V``, ``Z``, ``K`` ..)."""
        self.transport.write(encode_command(command, crlf=self.crlf))

    def query(self, command: str) -> bytes:
        """Send a command and return its one-line reply (CR LF included)."""
        with self.transport.exclusive():
            return self.transport.query(encode_command(command, crlf=self.crlf))

    def read(self) -> SbiLine:
        """``ESC P``: the present indication, decoded."""
        reply = self.query("P")
        try:
            return parse_line(reply)
        except ProtocolError as exc:
            raise ProtocolError(
                f"{self.transport.describe()}: {exc}. Check that the balance prints SBI lines."
            ) from exc

    def poll(self) -> list[Reading]:
        """One ``ESC P``: a stable, dynamic (blank unit), overload, underload or error reading (value NaN
        when the balance printed no number)."""
        line = self.read()
        return [Reading(line.value, line.unit, line.status, self.instrument_id)]

    def identification(self, index: int) -> str:
        """``ESC x<index>_`` (1 model, 2 serial number, 3 balance software, 4 APC software): the text printed."""
        if index not in (1, 2, 3, 4):
            raise ValueError(f"SBI identification index must be 1..4, got {index!r}")
        reply = self.query(f"x{index}_")
        try:
            status = parse_line(reply)
        except ProtocolError:
            status = None
        if status is not None and status.kind is LineKind.ERROR:
            raise DeviceError(
                f"{self.transport.describe()}: answered ESC x{index}_ with error {status.code} "
                f"({status.text.strip()}); see the balance manual's error list",
                code=status.code,
            )
        try:
            return parse_text(reply)[1]
        except ProtocolError as exc:
            raise ProtocolError(f"{self.transport.describe()}: {exc}. Check that the balance is set to SBI.") from exc

    def identify(self) -> InstrumentInfo:
        """Model (``ESC x1_``), serial number (``ESC x2_``) and software version (``ESC x3_``)."""
        model = self.identification(1)
        serial = self.identification(2)
        firmware = self.identification(3)
        self.info = InstrumentInfo(manufacturer="Sartorius", model=model, serial_number=serial, firmware=firmware)
        self.transport.name = self.info.label()
        return self.info

    # -- operations (no reply in SBI: check the next reading) ------------------------------------------------
    def tare_or_zero(self) -> None:
        """``ESC T``: as the TARE key -- zero near zero, tare otherwise (the balance waits for stability)."""
        self.command("T")

    def tare(self) -> None:
        """``ESC U``: tare."""
        self.command("U")

    def zero(self) -> None:
        """``ESC V``: zero."""
        self.command("V")

    def adjust(self) -> None:
        """``ESC Z``: start the internal adjustment; readings show a status (``C``) until it ends."""
        self.command("Z")

    def close(self) -> None:
        """Release the link."""
        self.transport.close()
