"""Safe expression parsing and models (callables, several outputs)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uncertainty import Model, ModelError
from uncertainty.expression import compile_expressions, names_in


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("x.__class__", "attribute access"),
        ("__import__('os')", "call to '__import__' is not allowed"),
        ("open('f')", "call to 'open' is not allowed"),
        ("x[0]", "Subscript"),
        ("x if y else 1", "IfExp"),
        ("x < y", "Compare"),
        ("lambda: 1", "Lambda"),
        ("__x + 1", "dunder"),
        ("sqrt(x, y)", "takes 1 argument"),
        ("arctan2(x)", "takes 2 argument"),
        ("sqrt(x=1)", "keyword"),
        ("sqrt + 1", "must be called"),
        ("x // 2", "FloorDiv"),
        ("x % 2", "Mod"),
        ("'a' * 2", "real numbers"),
        ("1j * x", "real numbers"),
        ("True + x", "real numbers"),
        ("(x).real", "attribute access"),
        ("np.sqrt(x)", "whitelisted"),
        ("x +", "not valid syntax"),
        ("", "empty"),
        ("[x, y]", "List"),
        ("x; y", "not valid syntax"),
    ],
)
def test_forbidden_constructs_are_rejected(expr, fragment):
    with pytest.raises(ModelError, match=None) as info:
        compile_expressions([expr], ["x", "y"])
    assert fragment.lower() in str(info.value).lower()


def test_undefined_name_is_reported():
    with pytest.raises(ModelError, match="'z'"):
        compile_expressions(["x + z"], ["x"])


def test_input_named_like_function_is_rejected():
    with pytest.raises(ModelError, match="function name"):
        compile_expressions(["sqrt + 1"], ["sqrt"])


def test_all_whitelisted_functions_evaluate_like_numpy():
    x = np.array([0.1, 0.3, 0.7])
    y = np.array([-0.4, 0.5, 2.0])
    exprs = [
        "sqrt(x)",
        "exp(x)",
        "log(x)",
        "log10(x)",
        "sin(x)",
        "cos(x)",
        "tan(x)",
        "arcsin(x)",
        "arccos(x)",
        "arctan(y)",
        "arctan2(y, x)",
        "abs(y)",
        "x**2 - y/3 + -x + +y * pi",
    ]
    f = compile_expressions(exprs, ["x", "y"])
    out = f(x, y)
    expected = [
        np.sqrt(x),
        np.exp(x),
        np.log(x),
        np.log10(x),
        np.sin(x),
        np.cos(x),
        np.tan(x),
        np.arcsin(x),
        np.arccos(x),
        np.arctan(y),
        np.arctan2(y, x),
        np.abs(y),
        x**2 - y / 3 - x + y * np.pi,
    ]
    for got, want in zip(out, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-15)


def test_complex_step_safe_abs_and_arctan2():
    h = 1e-20
    f = compile_expressions(["abs(y)", "arctan2(y, x)"], ["x", "y"])
    x, y = 0.3, -0.4
    d_abs = np.imag(f(np.array(x), np.array(y + 1j * h))[0]) / h
    assert d_abs == -1.0
    d_y = np.imag(f(np.array(x), np.array(y + 1j * h))[1]) / h
    d_x = np.imag(f(np.array(x + 1j * h), np.array(y))[1]) / h
    assert d_y == pytest.approx(x / (x * x + y * y), rel=1e-14)
    assert d_x == pytest.approx(-y / (x * x + y * y), rel=1e-14)


def test_integer_literals_do_not_raise_on_division_by_zero():
    f = compile_expressions(["x + 1/0"], ["x"])
    with np.errstate(divide="ignore"):
        assert np.isinf(f(np.array(1.0))[0])


def test_names_in_order_and_constants():
    assert names_in("b*a + sqrt(c) + a") == ["b", "a", "c"]
    m = Model.from_expression("k*x + pi", constants={"k": 2.0})
    assert m.inputs == ("x",)
    assert m(np.array([1.0, 2.0]))[0].tolist() == pytest.approx([2 + math.pi, 4 + math.pi])


def test_constant_and_input_clash_is_rejected():
    with pytest.raises(ModelError, match="both"):
        Model.from_expression("x + k", inputs=["x", "k"], constants={"k": 1.0})


def test_multi_output_expression_model_shape():
    m = Model.from_expression({"s": "a + b", "p": "a * b", "c": "3"})
    out = m(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    assert out.shape == (3, 2)
    assert out[2].tolist() == [3.0, 3.0]
    assert m.outputs == ("s", "p", "c")


def test_callable_model_with_several_outputs_tuple_and_mapping():
    m = Model(lambda a, b: (a + b, a - b), ["a", "b"], ["s", "d"])
    assert m(np.array(3.0), np.array(1.0)).tolist() == [4.0, 2.0]
    m2 = Model(lambda a, b: {"d": a - b, "s": a + b}, ["a", "b"], ["s", "d"])
    assert m2(np.array(3.0), np.array(1.0)).tolist() == [4.0, 2.0]
    bad = Model(lambda a, b: (a + b,), ["a", "b"], ["s", "d"])
    with pytest.raises(ModelError, match="returned 1 output"):
        bad(np.array(1.0), np.array(1.0))


def test_callable_failure_becomes_model_error():
    def broken(x):
        raise RuntimeError("boom")

    with pytest.raises(ModelError, match="boom"):
        Model(broken, ["x"])(np.array(1.0))


def test_model_validation():
    with pytest.raises(ModelError):
        Model(lambda x: x, [])
    with pytest.raises(ModelError, match="duplicate"):
        Model(lambda x, y: x, ["x", "x"])
    with pytest.raises(ModelError):
        Model("not callable", ["x"])  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="expression string"):
        Model.from_expression(3)  # type: ignore[arg-type]
