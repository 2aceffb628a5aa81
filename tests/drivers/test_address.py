"""Instrument address URLs: every scheme parses, every mistake is named."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.address import SerialSettings, parse_address
from drivers.errors import AddressError


def test_local_serial_port_with_line_settings() -> None:
    a = parse_address("serial:///dev/ttyUSB0?baud=9600&bytesize=7&parity=O&stopbits=1&xonxoff=1&timeout=2.5")
    assert (a.kind, a.target, a.timeout) == ("serial", "/dev/ttyUSB0", 2.5)
    assert a.serial == SerialSettings(baud=9600, bytesize=7, parity="O", stopbits=1, xonxoff=True)
    assert not a.is_network


def test_serial_device_server_is_raw_tcp() -> None:
    a = parse_address("socket://10.0.0.5:4001")
    assert (a.kind, a.target, a.host, a.port, a.is_network) == (
        "serial",
        "socket://10.0.0.5:4001",
        "10.0.0.5",
        4001,
        True,
    )


def test_modbus_schemes() -> None:
    tcp = parse_address("modbus+tcp://192.0.2.7?unit=3")
    assert (tcp.kind, tcp.host, tcp.port, tcp.unit) == ("modbus-tcp", "192.0.2.7", 502, 3)
    rtu = parse_address("modbus+rtu:///dev/ttyUSB1?baud=19200&parity=E&unit=3")
    assert (rtu.kind, rtu.target, rtu.serial.baud, rtu.serial.parity, rtu.unit) == (
        "modbus-rtu",
        "/dev/ttyUSB1",
        19200,
        "E",
        3,
    )
    over_tcp = parse_address("modbus+rtu+socket://127.0.0.1:5020?unit=4")
    assert (over_tcp.kind, over_tcp.target, over_tcp.unit) == ("modbus-rtu", "socket://127.0.0.1:5020", 4)


def test_bits_per_character() -> None:
    # 8N1 = start + 8 + stop = 10 bits; 7O1 = 1 + 7 + 1 + 1 = 10; 8E1 = 11; 8N2 = 11 (RS-232 framing)
    assert SerialSettings(bytesize=8, parity="N").bits_per_character() == 10
    assert SerialSettings(bytesize=7, parity="O").bits_per_character() == 10
    assert SerialSettings(bytesize=8, parity="E").bits_per_character() == 11
    assert SerialSettings(bytesize=8, parity="N", stopbits=2).bits_per_character() == 11
    assert SerialSettings(baud=9600).seconds_per_byte() == pytest.approx(10 / 9600)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "empty"),
        ("http://example.org", "unknown scheme"),
        ("serial:///dev/ttyUSB0?baud=fast", "baud='fast'"),
        ("serial:///dev/ttyUSB0?parity=X", "parity"),
        ("serial:///dev/ttyUSB0?bytesize=9", "bytesize"),
        ("serial:///dev/ttyUSB0?speed=9600", "unknown parameter"),
        ("socket://10.0.0.5", "no TCP port"),
        ("socket://:4001", "no host"),
        ("modbus+tcp://h:502?unit=300", "0..247"),
        ("serial:///dev/ttyUSB0?timeout=0", "timeout"),
        ("serial:///dev/ttyUSB0?baud=9600&baudrate=19200", "given twice"),
    ],
)
def test_bad_addresses_are_named(url: str, words: str) -> None:
    with pytest.raises(AddressError, match=words):
        parse_address(url)


@given(st.text(max_size=80))
def test_any_text_parses_or_raises_address_error(text: str) -> None:
    try:
        parse_address(text)
    except AddressError:
        pass


# --- issue 14: no input gives a traceback, messages quote little and never a password -----------------------------

_SCHEMES = ["serial://", "socket://", "rfc2217://", "modbus+tcp://", "modbus+rtu://", "modbus+rtu+socket://", "manual:"]


def _clean_error(text: str) -> None:
    """``parse_address(text)`` gives an Address or an AddressError whose message is one short line."""
    try:
        parse_address(text)
    except AddressError as exc:
        message = str(exc)
        assert "\n" not in message
        assert len(message) < 400, message[:80]


@given(st.text(max_size=400))
def test_any_text_gives_an_address_or_a_clear_error(text: str) -> None:
    _clean_error(text)


@given(
    st.sampled_from(_SCHEMES),
    st.text(alphabet=st.sampled_from("[]:@/?&=%#.-_ aZ09\x00\u00e9"), max_size=60),
    st.text(max_size=40),
)
def test_address_shaped_text_gives_an_address_or_a_clear_error(scheme: str, body: str, tail: str) -> None:
    _clean_error(scheme + body + tail)


def test_a_broken_ipv6_address_is_an_address_error_not_a_traceback() -> None:
    with pytest.raises(AddressError, match=r"^socket://\[::1:4001: not a valid address \(Invalid IPv6 URL\)"):
        parse_address("socket://[::1:4001")
    a = parse_address("socket://[::1]:4001")
    assert (a.host, a.port, a.target) == ("::1", 4001, "socket://[::1]:4001")


def test_messages_quote_a_short_excerpt_and_no_password() -> None:
    with pytest.raises(AddressError) as refused:
        parse_address("rfc2217://tech:s3cret-Pa55@10.0.0.5:70000?baud=9600")
    assert "s3cret" not in str(refused.value) and "tech:***@10.0.0.5" in str(refused.value)
    # what messages and default instrument ids show of a valid address with a password
    assert parse_address("rfc2217://tech:s3cret@10.0.0.5:4001").shown == "rfc2217://tech:***@10.0.0.5:4001"
    with pytest.raises(AddressError) as long:
        parse_address("socket://" + "9" * 5000)
    assert len(str(long.value)) < 200
    with pytest.raises(AddressError, match="is not a finite number"):
        parse_address("socket://10.0.0.5:4001?timeout=nan")
