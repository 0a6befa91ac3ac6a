"""``read_json`` with orjson gives what ``json`` gives: the same objects, the same errors.

orjson is stricter than the standard library (no ``NaN``/``Infinity`` literals, no ``1e400``,
no lone surrogate escapes) and reads integers outside 64 bits as floats; ``read_json`` falls back
to ``json`` for all of those, so neither the accepted inputs nor the messages depend on whether
orjson is installed. Each case is read both ways and compared by ``repr`` (which tells ``1``
from ``1.0``, keeps key order and shows ``nan``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.evaluation import inputs
from benchmark.evaluation.errors import EvaluationInputError

orjson = pytest.importorskip("orjson")

VALID = {
    "results list": json.dumps([{"image_id": 7, "category_id": 1, "score": 0.25,
                                 "keypoints": [1.5, 2.25, 1, 0, 0, 0, 0.1, 1e-7, 2]}]),
    "floats": "[0.1, 1e-320, 2.4703282292062327e-324, 1.7976931348623157e308, -0.0, 1E2, "
              "0.00012345678901234567891, 123456789012345678901.5, 1.000000000000000111]",
    "ints at the 64-bit limits": "[18446744073709551615, -9223372036854775808, -0]",
    "ints beyond 64 bits": "[18446744073709551616, -9223372036854775809, "
                           "123456789012345678901234567890]",
    "int beyond 64 bits first": "123456789012345678901234567890",
    "NaN and infinities": '[NaN, Infinity, -Infinity, {"score": NaN}]',
    "overflowing float": "[1e400, -1e400]",
    "lone surrogate escapes": r'["\ud800", "\udc00x"]',
    "duplicate keys": '{"a": 1, "a": 2, "b": {"c": [], "c": {}}}',
    "unicode and escapes": '{"name": "caf\\u00e9 \\ud83d\\ude00 \u00e9", "t": "a\\tb\\u0000"}',
    "whitespace and CRLF": '\r\n [ 1 ,\t2 ]\r\n',
    "long digit run in a string": '{"file": "0000000000000000000001.jpg", "id": 1}',
}
INVALID = {
    "truncated": b'[{"image_id": 1, "keypoints": [1, 2',
    "trailing comma": b"[1, 2,]",
    "extra data": b"[1] [2]",
    "byte order mark": b"\xef\xbb\xbf[1]",
    "invalid UTF-8": b'["caf\xe9"]',
    "encoded surrogate": b'["\xed\xa0\x80"]',
    "control character": b'["a\x01b"]',
    "empty": b"",
    "error after CRLF lines": b"[1,\r\n2,\r\n\r\n x]",
}


def read_both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """``repr`` of the result (or the error message) with orjson, then with json only."""
    out = []
    for parser in (orjson, None):
        monkeypatch.setattr(inputs, "orjson", parser)
        try:
            out.append(repr(inputs.read_json(path, "predictions")))
        except EvaluationInputError as exc:
            out.append(f"error: {exc}")
    return out[0], out[1]


@pytest.mark.parametrize("case", sorted(VALID))
def test_same_objects_as_json(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                              ) -> None:
    path = tmp_path / "p.json"
    path.write_text(VALID[case], encoding="utf-8")
    fast, slow = read_both(path, monkeypatch)
    assert fast == slow == repr(json.loads(VALID[case]))


@pytest.mark.parametrize("case", sorted(INVALID))
def test_same_errors_as_json(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                             ) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(INVALID[case])
    fast, slow = read_both(path, monkeypatch)
    assert fast == slow
    assert fast.startswith(f"error: {path}: ")


def test_same_errors_for_missing_and_unreadable_files(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for path, message in ((tmp_path / "nope.json", "predictions file not found"),
                          (tmp_path, "cannot read predictions file")):
        fast, slow = read_both(path, monkeypatch)
        assert fast == slow
        assert fast.startswith(f"error: {path}: {message}")


def test_orjson_parses_ordinary_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path is taken: a plain results list never reaches ``json``."""
    path = tmp_path / "p.json"
    path.write_text(VALID["results list"])

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("json.load called")

    monkeypatch.setattr(inputs.json, "load", refuse)
    assert inputs.read_json(path, "predictions")[0]["keypoints"][7] == 1e-7


@pytest.mark.parametrize(("text", "wide"), [
    (b"[12345678901234567890]", True), (b"1234567890123456789", True),
    (b'{"a": -1234567890123456789}', True), (b"[1e1234567890123456789]", True),
    (b"[123456789012345678]", False), (b"[0.00012345678901234567891]", False),
    (b"[123.4567890123456789012]", False), (b"[1, 2.5, 3]", False),
])
def test_wide_integer_screen(text: bytes, wide: bool) -> None:
    assert inputs._may_hold_wide_int(text) is wide


@pytest.mark.parametrize("offset", [65536 - 21, 65536 - 20, 65536 - 19, 65536 - 10, 65536 - 1,
                                    65536, 65536 + 1])
def test_wide_integer_screen_across_its_chunks(offset: int) -> None:
    """The screen reads 64 KiB at a time: a wide integer across a boundary is still seen."""
    filler = b"[" + b"0.5, " * 20000
    wide = filler[:offset] + b", 1234567890123456789, " + filler[offset:]
    fraction = filler[:offset] + b", 0.1234567890123456789, " + filler[offset:]
    assert inputs._may_hold_wide_int(wide) and not inputs._may_hold_wide_int(fraction)
