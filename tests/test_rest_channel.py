"""The REST request check: every malformed body is a 4xx, secrets are masked."""
import json

import pytest

from channels.rest import MAX_BODY_BYTES, check_body


@pytest.mark.parametrize(
    "raw, status",
    [
        (b"", 400),
        (b"   ", 400),
        (b"not json", 400),
        (b"\xff\xfe", 400),
        (b"[1, 2, 3]", 400),
        (b'"\xe4\xbd\xa0\xe5\xa5\xbd"', 400),
        (b"123", 400),
        (b"null", 400),
        (b"true", 400),
        (b'{"sender": "a"}', 400),
        (b'{"sender": "a", "message": 123}', 400),
        (b'{"sender": "a", "message": ["x"]}', 400),
        (b'{"sender": ["a"], "message": "hi"}', 400),
        (b'{"sender": "a", "message": "hi", "metadata": [1]}', 400),
        (json.dumps({"sender": "a", "message": "长" * 1001}).encode(), 413),
        (json.dumps({"sender": "a", "message": "hi", "metadata": {"junk": "x" * 9000}}).encode(), 413),
        (b"{" + b" " * MAX_BODY_BYTES + b"}", 413),
    ],
)
def test_malformed_requests_get_a_4xx(raw, status):
    problem, payload = check_body(raw)
    assert payload is None and problem[0] == status and problem[1]


def test_a_good_request_passes_as_sent():
    """The channel translates the protocol only; masking is the ingress's (tests/test_ingress.py)."""
    raw = json.dumps({"sender": 42, "message": "卡号6222021234567890123", "metadata": {"a": 1}}).encode()
    problem, payload = check_body(raw)
    assert problem is None
    assert payload["sender"] == "42" and payload["message"] == "卡号6222021234567890123"
    assert payload["metadata"] == {"a": 1}


@pytest.mark.parametrize("text", ["你好", "", "😀😀", "{{7*7}}", "'; DROP TABLE events;--", "\x00\x1b[31m"])
def test_odd_but_valid_text_passes(text):
    problem, payload = check_body(json.dumps({"sender": "a", "message": text}).encode())
    assert problem is None and payload["message"] == text


def test_a_message_id_travels_in_the_metadata_for_replay():
    problem, payload = check_body(json.dumps({"sender": "u", "message": "你好", "message_id": " m-1 "}).encode())
    assert problem is None and payload["metadata"]["message_id"] == "m-1"
    problem, payload = check_body(json.dumps({"sender": "u", "message": "你好", "message_id": 42}).encode())
    assert problem is None and payload["metadata"]["message_id"] == "42"


@pytest.mark.parametrize("bad", ["", "   ", "x" * 129, True, [1], {"id": 1}, 1.5])
def test_a_bad_message_id_is_a_400(bad):
    problem, payload = check_body(json.dumps({"sender": "u", "message": "你好", "message_id": bad}).encode())
    assert payload is None and problem[0] == 400 and "message_id" in problem[1]


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"not json", ("utter_rest_not_json", {})),
        (b"[1]", ("utter_rest_not_object", {})),
        (b'{"sender": "a", "message": 1}', ("utter_rest_not_text", {"field": "message"})),
        (b'{"sender": [1], "message": "hi"}', ("utter_rest_not_text", {"field": "sender"})),
        (json.dumps({"sender": "a", "message": "长" * 1001}).encode(), ("utter_too_long", {"max_chars": 1000})),
        (json.dumps({"sender": "a", "message": "hi", "metadata": {"junk": "x" * 9000}}).encode(),
         ("utter_metadata_too_large", {"max_kb": 8})),
        (json.dumps({"sender": "a", "message": "hi", "message_id": ""}).encode(),
         ("utter_rest_bad_message_id", {"max_chars": 128})),
    ],
)
def test_the_reason_is_the_domains_response_for_the_problem(raw, reason):
    from xiaoan import content

    problem, _ = check_body(raw)
    name, values = reason
    assert problem[1] == content.render(name, **values) and not content.placeholders(problem[1])
