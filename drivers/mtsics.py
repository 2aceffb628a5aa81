"""Mettler-Toledo balances over MT-SICS: codec (pure functions) and the :class:`MtSicsBalance` driver.

Where the facts come from (Mettler-Toledo *MT-SICS Reference Manual*, read through public transcriptions; the
section numbers are those of the weigh-module edition 11781363, the balance editions use the same chapters):

* Command format (2.1 / "Command formats"): ASCII, commands in upper case, parameters separated by one space,
  text parameters in double quotes, every command and every response ends with CR LF.
* Response format with weight value (2.1.2.1): ``ID _ Status _ WeightValue _ Unit``. The weight value is a
  number in a **10-character field, right-aligned** (padded on the left with spaces), the sign directly in
  front of the first digit; the unit follows after one space. So ``S S     100.00 g`` is ``S``, space, ``S``,
  space, four pad spaces and ``100.00``, space, ``g`` (the manual's own example for ``S``; the *AL/AB-S
  operating instructions*, "MT-SICS" appendix, print ``Response S S 100.00 g`` with the padding collapsed).
  A live trace ``SU S     2.2777 kg`` shows the same padding. The parser therefore splits on runs of spaces and
  never relies on column positions; it keeps the unit exactly as sent.
* Status characters (2.1.2, 2.1.3.1): ``S`` stable, ``D`` dynamic, ``A`` executed, ``B`` not yet terminated (more
  lines follow, the last one has ``A``), ``I`` understood but not executable at present (busy, or timeout as
  stability was not reached), ``L`` understood but not executable (incorrect parameter), ``+`` overload / upper
  limit of a range exceeded, ``-`` underload / lower limit exceeded.
* General errors (2.1.3.2), sent alone on a line: ``ES`` syntax error (command not recognised; also the reply to
  an empty line), ``ET`` transmission error (parity, break), ``EL`` logical error (cannot execute).
* Errors in a weight response (2.1.3.3): ``S S Error <code><t|e>`` in place of the value; ``t`` = from the
  terminal, ``e`` = from the electronics. Codes: 1 boot error, 2 brand error, 3 checksum error, 9 option fail,
  10 EEPROM error, 11 device mismatch, 12 hot plug out, 14 weigh module / electronics mismatch, 15 adjustment
  needed (list as transcribed by PyLabRobot's MT-SICS backend, which cites 2.1.3.3).
* Commands (chapter 3): ``S`` stable weight (``S S``, ``S I``, ``S +``, ``S -``); ``SI`` immediate weight (``S S`` or
  ``S D``); ``SIR`` immediate weight repeated until stopped (overwritten by ``S``, ``SI``, ``SR`` or ``@``);
  ``SU``/``SIU`` the same in the displayed unit, answered with ID ``SU``; ``Z`` zero (``Z A``, ``Z I``, ``Z +``,
  ``Z -``); ``ZI`` zero immediately (``ZI S``/``ZI D`` = done with a stable/dynamic weight); ``T`` tare (``T S <tare>
  <unit>``, ``T I``, ``T +``, ``T -``); ``TI`` tare immediately (``TI S``/``TI D <tare> <unit>``); ``TA`` tare memory
  (``TA A <tare> <unit>``), ``TAC`` clear it (``TAC A``); ``@`` cancel/reset, answered in the I4 form
  ``I4 A "<serial>"``; ``I0`` implemented commands as ``I0 B <level> "<command>"`` lines ending with an ``A``
  line; ``I1`` level and versions (quoted); ``I2`` balance data as one quoted text ``"<type> <capacity> <unit>"``
  (the type may contain spaces, so it is parsed from the right: e.g. a WXS205SDU answers
  ``I2 A "WXS205SDU WXA-Bridge 220.00900 g"``, as reported from hardware in PyLabRobot's protocol notes);
  ``I3`` software version and type definition (quoted); ``I4`` serial number (quoted); ``C3`` internal
  adjustment: ``C3 B`` at once, ``C3 A`` when done (seconds later), or ``C3 I`` / ``C3 L`` when not possible.
* Serial defaults: 9600 baud, 8 data bits, no parity, 1 stop bit on most balances (some use Xon/Xoff): the
  address URL may override every one of them.

Do not trust the reply strings in some open-source test suites (``S A 1.234 g``, ``@ A ...``): balances do not
send them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Generator
from dataclasses import dataclass
from typing import Self

from drivers.address import Address
from drivers.base import Instrument, InstrumentInfo
from drivers.errors import DeviceError, DriverError, ProtocolError
from drivers.reading import Reading, ReadingStatus
from drivers.transport.serial import SerialTransport

CRLF = b"\r\n"
MANUFACTURER = "Mettler-Toledo"

# -- status characters (reference manual 2.1.2 / 2.1.3) -------------------------------------------------------
STABLE = "S"
DYNAMIC = "D"
DONE = "A"
MORE = "B"
NOT_EXECUTABLE = "I"
BAD_PARAMETER = "L"
OVERLOAD = "+"
UNDERLOAD = "-"
STATUSES = frozenset({STABLE, DYNAMIC, DONE, MORE, NOT_EXECUTABLE, BAD_PARAMETER, OVERLOAD, UNDERLOAD})

#: general error replies (2.1.3.2) -> meaning and what to do
GENERAL_ERRORS: dict[str, str] = {
    "ES": "syntax error: the balance did not recognise the command (check the command set with I0)",
    "ET": "transmission error: the balance received a faulty command (check baud rate, parity and cable)",
    "EL": "logical error: the balance cannot execute the command now",
}

#: error codes that replace the weight value (2.1.3.3)
WEIGHT_ERROR_CODES: dict[int, str] = {
    1: "boot error",
    2: "brand error",
    3: "checksum error",
    9: "option fail",
    10: "EEPROM error",
    11: "device mismatch",
    12: "hot plug out",
    14: "weigh module / electronics mismatch",
    15: "adjustment needed",
}

#: width of the right-aligned weight value field (2.1.2.1)
VALUE_WIDTH = 10

_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")
_ERROR_CODE = re.compile(r"^([0-9]{1,3})([te])$")
_COMMAND = re.compile(r"^(?:@|[A-Z][A-Z0-9]{0,7})$")

DEFAULT_WHO = "MT-SICS balance"


# ---------------------------------------------------------------------------------------------------- codec
def quote(text: str) -> str:
    """A text parameter in MT-SICS form (``"text"``); the text may not contain quotes or line ends."""
    if any(c in text for c in '"\r\n'):
        raise ValueError(f"MT-SICS text parameter may not contain quotes or line ends: {text!r}")
    return f'"{text}"'


def encode(command: str, *params: str) -> bytes:
    """Request bytes for ``command`` with space-separated ``params`` (already quoted where text), CR LF ended."""
    if not _COMMAND.match(command):
        raise ValueError(f"not an MT-SICS command name (upper case letters and digits, or @): {command!r}")
    for p in params:
        if not p or any(c in p for c in "\r\n") or (" " in p and not (p.startswith('"') and p.endswith('"'))):
            raise ValueError(f"bad MT-SICS parameter {p!r}: no line ends; text with spaces must be quoted")
    text = " ".join((command, *params))
    try:
        return text.encode("ascii") + CRLF
    except UnicodeEncodeError:
        raise ValueError(f"MT-SICS commands are ASCII: {text!r}") from None


@dataclass(frozen=True, slots=True)
class Reply:
    """One reply line split into tokens: ``id`` (e.g. ``S``, ``I4``, ``ES``), ``status`` (one of
    :data:`STATUSES`, empty for bare errors) and ``fields`` (the rest; quoted text without its quotes).
    ``quoted`` says which fields were quoted."""

    id: str
    status: str
    fields: tuple[str, ...]
    quoted: tuple[bool, ...]
    raw: bytes


@dataclass(frozen=True, slots=True)
class Weight:
    """A weight reply: ``value`` in ``unit`` as sent (NaN when there is no number), ``status`` mapped to
    :class:`ReadingStatus`, and ``error`` describing an ``Error <code><t|e>`` field."""

    id: str
    status: ReadingStatus
    value: float
    unit: str
    error: str = ""


def _decode(line: bytes, who: str) -> str:
    if not line.endswith(CRLF):
        raise ProtocolError(f"{who}: reply {line!r} does not end with CR LF; wrong instrument or line settings?")
    body = line[:-2]
    if b"\r" in body or b"\n" in body:
        raise ProtocolError(f"{who}: stray line end inside reply {line!r}")
    bad = [b for b in body if b < 32 or b == 127]
    if bad:
        raise ProtocolError(f"{who}: control character(s) in reply {line!r}; garbled line or wrong baud rate?")
    return body.decode("latin-1")  # quoted text may use the 8-bit character set (32..255)


def split_reply(line: bytes, who: str = DEFAULT_WHO) -> Reply:
    """Split one reply line (CR LF included) into id, status and fields. Raises ProtocolError only."""
    text = _decode(line, who)
    tokens: list[str] = []
    quoted: list[bool] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        gap = text[pos : m.start()]
        if gap.strip():
            raise ProtocolError(f"{who}: cannot split reply {line!r}")
        if m.group(2) is not None and '"' in m.group(2):
            raise ProtocolError(f"{who}: unbalanced quotes in reply {line!r}; garbled line?")
        tokens.append(m.group(1) if m.group(1) is not None else m.group(2))
        quoted.append(m.group(1) is not None)
        pos = m.end()
    if text[pos:].strip():
        raise ProtocolError(f"{who}: cannot split reply {line!r}")
    if not tokens or quoted[0]:
        raise ProtocolError(f"{who}: empty or headless reply {line!r}; wrong instrument or line settings?")
    head = tokens[0]
    if head != "@" and not re.match(r"^[A-Z][A-Z0-9]{0,7}$", head):
        raise ProtocolError(f"{who}: reply {line!r} does not start with an MT-SICS identifier")
    if head in GENERAL_ERRORS:
        if len(tokens) != 1:
            raise ProtocolError(f"{who}: unexpected text after {head} in reply {line!r}")
        return Reply(head, "", (), (), line)
    if len(tokens) < 2 or quoted[1] or tokens[1] not in STATUSES:
        raise ProtocolError(f"{who}: reply {line!r} has no valid MT-SICS status (S, D, A, B, I, L, +, -)")
    return Reply(head, tokens[1], tuple(tokens[2:]), tuple(quoted[2:]), line)


def _raise_general(reply: Reply, who: str, what: str) -> None:
    if reply.id in GENERAL_ERRORS:
        raise DeviceError(f"{who}: {what} answered {reply.id}, {GENERAL_ERRORS[reply.id]}", code=reply.id)


def _expect_id(reply: Reply, ids: tuple[str, ...], who: str, what: str) -> None:
    if reply.id not in ids:
        raise ProtocolError(
            f"{who}: {what} answered {reply.raw!r}, expected a reply starting with {' or '.join(ids)}; "
            "a late reply to an earlier command, or a different instrument?"
        )


def _refused(reply: Reply, who: str, what: str, busy_hint: str) -> DeviceError:
    if reply.status == NOT_EXECUTABLE:
        return DeviceError(f"{who}: {what} not executable now ({reply.id} I): {busy_hint}", code="I")
    return DeviceError(
        f"{who}: {what} refused ({reply.id} L): incorrect parameter or not possible on this balance", code="L"
    )


def parse_number(text: str, who: str = DEFAULT_WHO, raw: bytes = b"") -> float:
    """A weight value token (``-12.3456``) as float; ProtocolError if it is not a plain decimal number."""
    if not _NUMBER.match(text):
        raise ProtocolError(f"{who}: {text!r} in reply {raw!r} is not a number")
    return float(text)


def parse_weight(
    line: bytes, ids: tuple[str, ...] = ("S",), who: str = DEFAULT_WHO, what: str = "weight request"
) -> Weight:
    """Parse a weight reply (``S``/``SI``/``SIR`` -> id ``S``; ``SU``/``SIU`` -> id ``SU``).

    Returns stable/dynamic weights, overload (``S +``) and underload (``S -``) and ``Error <code><t|e>`` as a
    :class:`Weight`; raises DeviceError for ``ES``/``ET``/``EL``/``I``/``L`` and ProtocolError for anything malformed.
    """
    reply = split_reply(line, who)
    _raise_general(reply, who, what)
    _expect_id(reply, ids, who, what)
    st = reply.status
    if st in (NOT_EXECUTABLE, BAD_PARAMETER):
        hint = (
            "no stable weight within the balance's timeout, or the balance is busy (taring, zeroing, adjusting): "
            "check for draughts, vibration or a load still moving, then retry"
        )
        raise _refused(reply, who, what, hint)
    if st in (OVERLOAD, UNDERLOAD):
        if reply.fields:
            raise ProtocolError(f"{who}: unexpected data after '{reply.id} {st}' in reply {line!r}")
        status = ReadingStatus.OVERLOAD if st == OVERLOAD else ReadingStatus.UNDERLOAD
        return Weight(reply.id, status, math.nan, "")
    if st not in (STABLE, DYNAMIC):
        raise ProtocolError(f"{who}: status {st!r} is not a weight status in reply {line!r}")
    fields = reply.fields
    if len(fields) == 2 and fields[0] == "Error" and not any(reply.quoted):
        m = _ERROR_CODE.match(fields[1])
        if not m:
            raise ProtocolError(f"{who}: malformed error code {fields[1]!r} in reply {line!r}")
        code = int(m.group(1))
        source = "terminal" if m.group(2) == "t" else "electronics"
        meaning = WEIGHT_ERROR_CODES.get(code, "unknown error")
        detail = f"Error {code}{m.group(2)} ({meaning}, from the {source}): see the balance's manual; call service"
        return Weight(reply.id, ReadingStatus.ERROR, math.nan, "", detail)
    if len(fields) != 2 or any(reply.quoted):
        raise ProtocolError(f"{who}: expected '<value> <unit>' after '{reply.id} {st}' in reply {line!r}")
    value = parse_number(fields[0], who, line)
    status = ReadingStatus.STABLE if st == STABLE else ReadingStatus.DYNAMIC
    return Weight(reply.id, status, value, fields[1])


def parse_ack(line: bytes, command: str, who: str = DEFAULT_WHO, what: str = "") -> Reply:
    """Parse the reply to a command that answers ``<command> A`` (or ``B``); raise DeviceError for I/L/+/-."""
    what = what or command
    reply = split_reply(line, who)
    _raise_general(reply, who, what)
    _expect_id(reply, (command,), who, what)
    if reply.status in (NOT_EXECUTABLE, BAD_PARAMETER):
        raise _refused(reply, who, what, "the balance is busy or not stable; wait and retry")
    if reply.status == OVERLOAD:
        raise DeviceError(f"{who}: {what} refused ({command} +): upper limit of the range exceeded", code="+")
    if reply.status == UNDERLOAD:
        raise DeviceError(f"{who}: {what} refused ({command} -): lower limit of the range exceeded", code="-")
    return reply


def parse_zero(line: bytes, command: str = "Z", who: str = DEFAULT_WHO) -> bool | None:
    """Reply to ``Z`` (``Z A`` -> None) or ``ZI`` (``ZI S``/``ZI D`` -> True/False = stable or not)."""
    what = "zero" if command == "Z" else "zero immediately"
    reply = split_reply(line, who)
    _raise_general(reply, who, what)
    _expect_id(reply, (command,), who, what)
    st = reply.status
    if st == NOT_EXECUTABLE:
        raise DeviceError(
            f"{who}: {what} not executed ({command} I): the balance is busy or did not become stable in time; "
            "check for draughts or vibration and retry",
            code="I",
        )
    if st == OVERLOAD:
        raise DeviceError(
            f"{who}: {what} refused ({command} +): upper limit of the zero-setting range exceeded; unload the pan",
            code="+",
        )
    if st == UNDERLOAD:
        raise DeviceError(
            f"{who}: {what} refused ({command} -): lower limit of the zero-setting range exceeded; "
            "check that the weighing pan is in place",
            code="-",
        )
    if st == BAD_PARAMETER:
        raise _refused(reply, who, what, "")
    if reply.fields:
        raise ProtocolError(f"{who}: unexpected data in zero reply {line!r}")
    if command == "Z" and st == DONE:
        return None
    if command == "ZI" and st in (STABLE, DYNAMIC):
        return st == STABLE
    raise ProtocolError(f"{who}: unexpected status {st!r} in zero reply {line!r}")


def parse_tare(line: bytes, command: str = "T", who: str = DEFAULT_WHO) -> Weight:
    """Reply to ``T``/``TI`` (``T S <tare> <unit>``; ``TI S``/``TI D``) or ``TA`` (``TA A <tare> <unit>``)."""
    what = {"T": "tare", "TI": "tare immediately", "TA": "tare memory query"}.get(command, command)
    reply = split_reply(line, who)
    _raise_general(reply, who, what)
    _expect_id(reply, (command,), who, what)
    st = reply.status
    if st == NOT_EXECUTABLE:
        raise DeviceError(
            f"{who}: {what} not executed ({command} I): the balance is busy or did not become stable in time; "
            "check for draughts or vibration and retry",
            code="I",
        )
    if st == OVERLOAD:
        raise DeviceError(f"{who}: {what} refused ({command} +): upper limit of the taring range exceeded", code="+")
    if st == UNDERLOAD:
        raise DeviceError(
            f"{who}: {what} refused ({command} -): lower limit of the taring range exceeded (negative gross load)",
            code="-",
        )
    if st == BAD_PARAMETER:
        raise _refused(reply, who, what, "")
    allowed = {"T": (STABLE,), "TI": (STABLE, DYNAMIC), "TA": (DONE,)}.get(command, (STABLE, DYNAMIC, DONE))
    if st not in allowed or len(reply.fields) != 2 or any(reply.quoted):
        raise ProtocolError(f"{who}: expected '{command} {'/'.join(allowed)} <tare> <unit>', got {line!r}")
    value = parse_number(reply.fields[0], who, line)
    status = ReadingStatus.DYNAMIC if st == DYNAMIC else ReadingStatus.STABLE
    return Weight(reply.id, status, value, reply.fields[1])


def parse_text(line: bytes, command: str, who: str = DEFAULT_WHO) -> tuple[str, ...]:
    """Reply ``<command> A "..." ...`` (I1, I3, I4, and ``@`` -> I4): the fields, quotes removed."""
    what = "reset (@)" if command == "I4" else f"identification {command}"
    reply = split_reply(line, who)
    _raise_general(reply, who, what)
    _expect_id(reply, (command,), who, what)
    if reply.status != DONE:
        if reply.status in (NOT_EXECUTABLE, BAD_PARAMETER):
            raise _refused(reply, who, what, "the balance is busy; retry")
        raise ProtocolError(f"{who}: unexpected status {reply.status!r} in reply {line!r}")
    if not reply.fields:
        raise ProtocolError(f"{who}: {command} reply {line!r} carries no data")
    return reply.fields


def parse_serial_number(line: bytes, who: str = DEFAULT_WHO) -> str:
    """Reply ``I4 A "<serial>"`` (to ``I4`` and to ``@``): the serial number."""
    fields = parse_text(line, "I4", who)
    if len(fields) != 1:
        raise ProtocolError(f"{who}: expected one quoted serial number in {line!r}")
    return fields[0]


@dataclass(frozen=True, slots=True)
class BalanceData:
    """``I2`` content: ``type`` (may contain spaces), ``capacity`` (number as sent) and its ``unit``."""

    type: str
    capacity: str
    unit: str

    @property
    def capacity_value(self) -> float:
        """Capacity as a number (in ``unit``)."""
        return float(self.capacity)


def parse_balance_data(line: bytes, who: str = DEFAULT_WHO) -> BalanceData:
    """Reply ``I2 A "<type> <capacity> <unit>"``, parsed from the right (the type can contain spaces).

    Also accepts the three parts as separate fields (some firmware quote them one by one).
    """
    fields = parse_text(line, "I2", who)
    words = " ".join(fields).split()
    if len(words) < 3 or not _NUMBER.match(words[-2]):
        raise ProtocolError(f'{who}: expected I2 A "<type> <capacity> <unit>", got {line!r}')
    return BalanceData(" ".join(words[:-2]), words[-2], words[-1])


def parse_command_list(lines: list[bytes], who: str = DEFAULT_WHO) -> list[tuple[int, str]]:
    """Replies to ``I0``: ``I0 B <level> "<command>"`` lines, the last with status ``A`` (bare ``I0 A`` accepted)."""
    out: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        reply = split_reply(line, who)
        _raise_general(reply, who, "command list I0")
        _expect_id(reply, ("I0",), who, "command list I0")
        last = i == len(lines) - 1
        if reply.status in (NOT_EXECUTABLE, BAD_PARAMETER):
            raise _refused(reply, who, "command list I0", "the balance is busy; retry")
        if reply.status != (DONE if last else MORE):
            raise ProtocolError(f"{who}: unexpected status in I0 line {line!r}")
        if last and not reply.fields:
            continue
        if len(reply.fields) != 2 or not re.fullmatch(r"[0-9]{1,2}", reply.fields[0]):
            raise ProtocolError(f'{who}: expected I0 B <level> "<command>", got {line!r}')
        out.append((int(reply.fields[0]), reply.fields[1]))
    return out


def parse_adjustment(line: bytes, who: str = DEFAULT_WHO) -> str:
    """One ``C3`` reply: returns ``"B"`` (started) or ``"A"`` (done); DeviceError for ``C3 I``/``C3 L``."""
    what = "internal adjustment C3"
    reply = split_reply(line, who)
    _raise_general(reply, who, what)
    _expect_id(reply, ("C3",), who, what)
    if reply.status == NOT_EXECUTABLE:
        raise DeviceError(
            f"{who}: {what} not possible now (C3 I): the balance is busy or not stable; "
            "unload the pan, avoid draughts and retry",
            code="I",
        )
    if reply.status == BAD_PARAMETER:
        raise DeviceError(
            f"{who}: {what} not possible (C3 L), e.g. no internal weight or it failed; call service", code="L"
        )
    if reply.status not in (MORE, DONE) or reply.fields:
        raise ProtocolError(f"{who}: unexpected adjustment reply {line!r}")
    return reply.status


def is_last_line(line: bytes) -> bool:
    """For multi-line replies: True unless the line's status is ``B`` (more lines follow)."""
    parts = line.split()
    return not (len(parts) >= 2 and parts[1] == b"B")


# ---------------------------------------------------------------------------------------------------- driver
class MtSicsBalance(Instrument):
    """A Mettler-Toledo balance or comparator speaking MT-SICS over a serial link.

    Values are returned in the unit the balance sends (host unit for ``S``/``SI``, display unit for ``SU``/``SIU``).
    Every method is one exchange under the transport's lock; nothing here sleeps or retries.
    """

    protocol = "mt-sics"

    def __init__(self, transport: SerialTransport, instrument_id: str = "") -> None:
        super().__init__(instrument_id or transport.address.shown)
        self.transport = transport

    @classmethod
    def connect(cls, address: Address, instrument_id: str = "") -> Self:
        """Driver on a :class:`SerialTransport` for ``address`` (9600 8N1 unless the URL says otherwise)."""
        return cls(SerialTransport(address, name=f"{MANUFACTURER} MT-SICS balance"), instrument_id)

    # -- plumbing ------------------------------------------------------------------------------------------
    @property
    def who(self) -> str:
        """The instrument as named in messages."""
        return self.transport.describe()

    def _query(self, command: str, timeout: float | None = None) -> bytes:
        return self.transport.query(encode(command), timeout)

    def _reading(self, w: Weight, quantity: str = "") -> Reading:
        return Reading(w.value, w.unit, w.status, self.instrument_id, quantity=quantity)

    # -- weighing ------------------------------------------------------------------------------------------
    def weight(self, timeout: float | None = None) -> Reading:
        """``S``: the next stable net weight. The balance waits for stability (its own timeout, then ``S I``):
        pass a ``timeout`` (s) longer than that; default the address timeout."""
        line = self._query("S", timeout)
        return self._reading(parse_weight(line, ("S",), self.who, "stable weight (S)"))

    def weight_immediate(self) -> Reading:
        """``SI``: the net weight now, stable or dynamic."""
        line = self._query("SI")
        return self._reading(parse_weight(line, ("S",), self.who, "immediate weight (SI)"))

    def weight_display_unit(self, timeout: float | None = None) -> Reading:
        """``SU``: as :meth:`weight`, in the displayed unit."""
        line = self._query("SU", timeout)
        return self._reading(parse_weight(line, ("SU",), self.who, "stable weight (SU)"))

    def weight_display_unit_immediate(self) -> Reading:
        """``SIU``: as :meth:`weight_immediate`, in the displayed unit."""
        line = self._query("SIU")
        return self._reading(parse_weight(line, ("SU", "SIU"), self.who, "immediate weight (SIU)"))

    def poll(self) -> list[Reading]:
        """One acquisition cycle: ``SI``."""
        return [self.weight_immediate()]

    def stream(self, count: int | None = None, timeout: float | None = None) -> Generator[Reading, None, None]:
        """``SIR``: yield readings as the balance sends them until ``count`` readings or until the caller stops
        (``close()`` the generator, or leave a ``for`` loop with ``contextlib.closing``).

        The stream is then ended with ``@`` and the lines still in flight are drained up to its ``I4 A`` reply.
        The transport is held for the whole stream: use and close the generator in one thread. ``timeout`` (s)
        bounds the wait for each line.
        """
        if count is not None and count < 0:
            raise ValueError("count must be >= 0")
        with self.transport.exclusive():
            self.transport.discard_input()
            self.transport.write(encode("SIR"))
            try:
                n = 0
                while count is None or n < count:
                    line = self.transport.read_line(timeout)
                    yield self._reading(parse_weight(line, ("S",), self.who, "repeated weight (SIR)"))
                    n += 1
            except (GeneratorExit, DriverError):
                # stopped by the caller, or a refusal, timeout, garbage or broken link: stop the stream if the
                # link allows, else drop the link so the next request starts clean
                self._end_stream_quietly(timeout)
                raise
            else:
                self._end_stream(timeout)

    def _end_stream(self, timeout: float | None) -> None:
        self.transport.write(encode("@"))
        for _ in range(1000):
            line = self.transport.read_line(timeout)
            if line.startswith(b"I4 "):
                parse_serial_number(line, self.who)
                return
        raise DeviceError(f"{self.who}: the SIR stream did not stop after @; reset the balance", code="SIR")

    def _end_stream_quietly(self, timeout: float | None) -> None:
        try:
            self._end_stream(timeout)
        except DriverError:
            self.transport.close()  # drop the link: the next request reopens it clean

    # -- zero and tare -------------------------------------------------------------------------------------
    def zero(self, timeout: float | None = None) -> None:
        """``Z``: zero once the weight is stable (DeviceError ``I``/``+``/``-`` when not possible)."""
        parse_zero(self._query("Z", timeout), "Z", self.who)

    def zero_immediately(self) -> bool:
        """``ZI``: zero now; True if the weight was stable when zeroed."""
        stable = parse_zero(self._query("ZI"), "ZI", self.who)
        return bool(stable)

    def tare(self, timeout: float | None = None) -> Reading:
        """``T``: tare once stable; returns the tare (quantity ``tare``) in the unit sent."""
        return self._reading(parse_tare(self._query("T", timeout), "T", self.who), "tare")

    def tare_immediately(self) -> Reading:
        """``TI``: tare now; the reading's status says whether the weight was stable."""
        return self._reading(parse_tare(self._query("TI"), "TI", self.who), "tare")

    def tare_value(self) -> Reading:
        """``TA``: the tare memory."""
        return self._reading(parse_tare(self._query("TA"), "TA", self.who), "tare")

    def clear_tare(self) -> None:
        """``TAC``: empty the tare memory."""
        parse_ack(self._query("TAC"), "TAC", self.who, "clear tare (TAC)")

    # -- identification and control ------------------------------------------------------------------------
    def reset(self) -> str:
        """``@``: cancel running commands (no zeroing); returns the serial number of its ``I4 A`` reply."""
        return parse_serial_number(self._query("@"), self.who)

    def levels(self) -> tuple[str, ...]:
        """``I1``: MT-SICS level and level versions, as sent."""
        return parse_text(self._query("I1"), "I1", self.who)

    def balance_data(self) -> BalanceData:
        """``I2``: type, capacity and unit."""
        return parse_balance_data(self._query("I2"), self.who)

    def software(self) -> str:
        """``I3``: software version and type definition number."""
        return " ".join(parse_text(self._query("I3"), "I3", self.who))

    def serial_number(self) -> str:
        """``I4``: serial number."""
        return parse_serial_number(self._query("I4"), self.who)

    def commands(self) -> list[tuple[int, str]]:
        """``I0``: implemented commands as (level, command)."""
        lines = self.transport.query_lines(encode("I0"), is_last_line)
        return parse_command_list(lines, self.who)

    def identify(self) -> InstrumentInfo:
        """``I2``, ``I4`` and (if implemented) ``I3``; names the transport after the balance."""
        data = self.balance_data()
        serial = self.serial_number()
        try:
            firmware = self.software()
        except DeviceError:
            firmware = ""
        self.transport.name = f"{MANUFACTURER} {data.type} SN {serial}"
        return InstrumentInfo(MANUFACTURER, data.type, serial, firmware, f"{data.capacity} {data.unit}")

    def adjust_internal(self, timeout: float) -> None:
        """``C3``: internal adjustment. Reads ``C3 B`` at once, then waits up to ``timeout`` s for ``C3 A``."""
        if not timeout > 0:
            raise ValueError("timeout must be > 0 s (an internal adjustment takes tens of seconds)")
        with self.transport.exclusive():
            first = parse_adjustment(self._query("C3"), self.who)
            if first == DONE:
                return
            if parse_adjustment(self.transport.read_line(timeout), self.who) != DONE:
                raise ProtocolError(f"{self.who}: C3 sent a second 'C3 B'; expected 'C3 A'")

    def close(self) -> None:
        """Close the serial link."""
        self.transport.close()
