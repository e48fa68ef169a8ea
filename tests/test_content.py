"""One home for every word, one table for every fact.

Every sentence 小安 says is a response of domain.yml; every figure one states
is a fact of content/facts.yml (or a bank's row in content/banks.yml), named
by a placeholder. These tests fail when a response writes a figure itself,
names a value nothing gives, or when code writes words of its own.
"""
from __future__ import annotations

import ast
import asyncio
import re
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT
from xiaoan import content

DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
RESPONSE_CODES = yaml.safe_load((ROOT / "content" / "response_codes.yml").read_text(encoding="utf-8"))

# A figure a sentence may only state through a fact: a time span or deadline ("3个工作日",
# "24小时", "1–3天", "三个工作日"), a settlement day (T+1, D+0), a time of day (8:00), a rate
# (0.6%), a hotline (110, 96110, 955xx, 400 numbers, mobile and landline numbers).
DIGITS = r"[0-9０-９]+(?:[.．][0-9０-９]+)?"
TIME_FIGURE = re.compile(
    rf"{DIGITS}(?:\s*[-–—~～至到]\s*{DIGITS})?\s*个?\s*(?:工作日|自然日|小时|分钟|秒|天|日|周|星期|个月)"
    r"|(?<![第几])[一二两三四五六七八九十]+\s*个?\s*(?:工作日|自然日|小时|天|周|星期|个月)"
    r"|[TD]\s*[+＋]\s*[0-9０-９]"
    r"|[0-9０-９]{1,2}\s*[:：]\s*[0-9０-９]{2}"
    rf"|{DIGITS}\s*[%％]"
)
PHONE = re.compile(
    r"(?<![0-9０-９])(?:110|119|120|122|12315|96110|95[0-9]{3}|400[-\s]?[0-9]{3}[-\s]?[0-9]{4}"
    r"|1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})(?![0-9０-９])"
)


def variants():
    for name, entries in content.responses().items():
        for index, entry in enumerate(entries):
            yield pytest.param(name, entry, id=f"{name}[{index}]")


def code_table_texts():
    for code, entry in RESPONSE_CODES.items():
        for field in ("meaning", "cause", "action"):
            yield pytest.param(entry[field], id=f"code {code} {field}")


def texts_of(entry) -> list[str]:
    texts = [entry.get("text") or ""]
    texts += [b.get("title") or "" for b in entry.get("buttons") or []]
    return texts


# -- figures only through facts -------------------------------------------------


@pytest.mark.parametrize("name, entry", variants())
def test_no_response_states_a_figure_itself(name, entry):
    for text in texts_of(entry):
        words = content.PLACEHOLDER.sub("", text)  # what the writer wrote, placeholders aside
        assert not TIME_FIGURE.search(words), f"{name} states a time itself: {TIME_FIGURE.search(words)[0]!r}"
        assert not PHONE.search(words), f"{name} states a phone number itself: {PHONE.search(words)[0]!r}"


@pytest.mark.parametrize("text", code_table_texts())
def test_no_response_code_text_states_a_figure_itself(text):
    words = content.PLACEHOLDER.sub("", text)
    assert not TIME_FIGURE.search(words) and not PHONE.search(words), words
    assert set(content.placeholders(text)) <= set(content.facts()) | set(content.clauses()), text


def test_the_check_catches_what_it_should():
    """The patterns above, on the kinds of sentence they exist to stop."""
    for bad in ("一般当天到账，最晚3–5个工作日", "超过24小时", "1至7个工作日内", "两个工作日", "T+1到账",
                "每天 8:00–22:00", "费率0.6%", "拨打96110或110", "工行热线95588", "超过5天"):
        words = content.PLACEHOLDER.sub("", bad)
        assert TIME_FIGURE.search(words) or PHONE.search(words), bad
    for fine in ("终端号是8位数字", "卡号后四位", "应答码51、55、A0", "第二天再试", "请过一两分钟再发", "单日限额{daily_limit}元"):
        words = content.PLACEHOLDER.sub("", fine)
        assert not TIME_FIGURE.search(words) and not PHONE.search(words), fine


# -- every placeholder has a value ---------------------------------------------------


def slot_names() -> set[str]:
    return set(DOMAIN.get("slots") or {}) | {"requested_slot"}


CALLS_WITH_VALUES = {"say", "render", "utter_message", "fill", "_refused"}


def values_code_gives() -> set[str]:
    """Every value name the code gives a response: keywords of the calls that say or render one,
    and the string keys of the value dicts the actions build."""
    names: set[str] = set()
    files = [p for folder in ("actions", "channels") for p in (ROOT / folder).rglob("*.py") if "backoffice" not in p.parts]
    files += [ROOT / "xiaoan" / "runtime" / "busy.py", ROOT / "xiaoan" / "runtime" / "limits.py", ROOT / "web" / "serve.py"]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in CALLS_WITH_VALUES:
                    names |= {k.arg for k in node.keywords if k.arg}
            elif isinstance(node, ast.Dict) and path.parent.name == "actions":
                names |= {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) and path.parent.name == "actions":
                if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                    names.add(node.slice.value)
    return names


BANK_VALUES = {"bank_name", "bank_hotline"}


@pytest.mark.parametrize("name, entry", variants())
def test_every_placeholder_is_a_fact_a_slot_or_a_value_the_code_gives(name, entry):
    known = set(content.facts()) | set(content.clauses()) | slot_names() | BANK_VALUES | values_code_gives()
    for text in texts_of(entry):
        unknown = set(content.placeholders(text)) - known
        assert not unknown, f"{name} names {sorted(unknown)}: neither a fact, a slot, nor a value any code gives"


@pytest.mark.parametrize("name, entry", variants())
def test_rendering_fills_every_placeholder(name, entry):
    """With the facts (and a value for each slot or given value it names) nothing is left unfilled."""
    given = {key: "X" for text in texts_of(entry) for key in content.placeholders(text) if key not in content.facts()}
    known = content.values(**given)
    for text in texts_of(entry):
        filled = content.fill(text, known)
        assert "{" not in filled and "}" not in filled, (name, filled)
    facts_only = content.fill(entry.get("text") or "", content.facts())
    assert set(content.placeholders(facts_only)) <= set(given)  # every fact it names is filled by the table


def test_every_fact_is_stated_somewhere():
    named = {key for entries in content.responses().values() for e in entries for key in content.placeholders(e.get("text"))}
    named |= {key for e in RESPONSE_CODES.values() for f in ("meaning", "cause", "action") for key in content.placeholders(e[f])}
    assert set(content.facts()) <= named, f"facts no answer states: {sorted(set(content.facts()) - named)}"


def test_every_fact_has_a_value_and_hotlines_are_numbers():
    facts = content.facts()
    assert all(value.strip() for value in facts.values())
    assert facts["anti_fraud_hotline"] == "96110" and facts["police_hotline"] == "110"


# -- the bank table ------------------------------------------------------------------


def test_every_bank_has_an_official_hotline():
    banks = content.banks()
    assert len(banks) >= 15 and len({b.name for b in banks}) == len(banks)
    for bank in banks:
        assert re.fullmatch(r"95[0-9]{3}", bank.hotline), bank


def test_every_bank_the_nlu_names_has_a_hotline():
    """data/nlu/synonyms.yml maps what users type to the full names; each must be a row of content/banks.yml."""
    synonyms = yaml.safe_load((ROOT / "data" / "nlu" / "synonyms.yml").read_text(encoding="utf-8"))["nlu"]
    for entry in (s for s in synonyms if "synonym" in s):
        bank = content.find_bank(entry["synonym"])
        assert bank is not None and bank.name == entry["synonym"], entry["synonym"]
        for example in (line.strip()[2:].strip() for line in entry["examples"].splitlines() if line.strip()):
            assert content.find_bank(example) == bank, example


# -- the loader -------------------------------------------------------------------------


def test_render_chooses_as_rasa_does_and_fills_the_named_bank():
    known = content.render("utter_ask_contact_bank", {"bank": "招行"})
    assert "95555" in known and "招商银行" in known
    assert "95574" in content.render("utter_ask_contact_bank", {"bank": "宁波银行"})
    assert "95555" not in content.render("utter_ask_contact_bank", {})
    assert content.render("utter_ask_retry").count(content.facts()["reversal_max"]) == 1


def test_a_missing_value_is_left_visible_not_invented(caplog):
    assert content.fill("约{hours}小时", {}) == "约{hours}小时"
    assert "hours" in caplog.text
    with pytest.raises(KeyError):
        content.render("utter_no_such_response")


# -- Rasa's renderer ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def nlg():
    from rasa.core.nlg.generator import NaturalLanguageGenerator
    from rasa.core.utils import AvailableEndpoints
    from rasa.shared.core.domain import Domain

    from xiaoan.runtime.nlg import FactsNaturalLanguageGenerator

    domain = Domain.load(str(ROOT / "domain.yml"))
    generators = {}
    with pytest.MonkeyPatch.context() as env:  # the scale-out file names its servers by environment variables
        for name in ("POSTGRES_HOST", "POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD", "REDIS_HOST", "REDIS_PASSWORD"):
            env.setenv(name, "x")
        for path in ("endpoints.yml", "ops/endpoints.scale.yml"):
            endpoints = AvailableEndpoints.read_endpoints(str(ROOT / path))
            generators[path] = NaturalLanguageGenerator.create(endpoints.nlg, domain)
    assert all(isinstance(g, FactsNaturalLanguageGenerator) for g in generators.values()), generators
    return domain, generators["endpoints.yml"]


def generate(nlg, name, slots=None, **kwargs):
    from rasa.shared.core.events import SlotSet
    from rasa.shared.core.trackers import DialogueStateTracker

    domain, generator = nlg
    tracker = DialogueStateTracker.from_events("t", [SlotSet(k, v) for k, v in (slots or {}).items()], domain.slots)
    return asyncio.run(generator.generate(name, tracker, "rest", **kwargs))


def test_rasa_fills_the_facts(nlg):
    said = generate(nlg, "utter_ask_arrival_time")["text"]
    facts = content.facts()
    assert facts["transfer_result_within"] in said and facts["settlement_usual"] in said
    assert not content.placeholders(said)


@pytest.mark.parametrize("bank, hotline", [("中国工商银行", "95588"), ("建行", "95533"), ("浦发", "95528")])
def test_rasa_names_the_hotline_of_the_bank_in_the_slot(nlg, bank, hotline):
    said = generate(nlg, "utter_ask_contact_bank", {"bank": bank})["text"]
    assert hotline in said and content.find_bank(bank).name in said and not content.placeholders(said)


@pytest.mark.parametrize("slots", [{}, {"bank": "某某农商银行"}], ids=["no bank", "bank without a known hotline"])
def test_without_a_known_bank_rasa_points_to_the_back_of_the_card(nlg, slots):
    said = generate(nlg, "utter_ask_contact_bank", slots)["text"]
    assert said == content.render("utter_ask_contact_bank", slots) and not content.placeholders(said)
    assert "卡背面" in said and "官方" in said


def test_rasa_renders_an_actions_values_and_its_buttons(nlg):
    said = generate(nlg, "utter_privacy_warning", secrets="完整卡号")
    assert said["text"] == content.render("utter_privacy_warning", secrets="完整卡号")
    assert generate(nlg, "utter_offer_ticket")["buttons"][0]["payload"] == "/affirm"
    assert generate(nlg, "utter_no_such_response") is None


def test_rasa_and_the_action_server_say_the_same(nlg):
    """For every response that needs no slot or action value: Rasa's text is the loader's text."""
    for name, entries in content.responses().items():
        if len(entries) == 1 and set(content.placeholders(entries[0].get("text"))) <= set(content.facts()):
            assert generate(nlg, name).get("text") == content.render(name), name


def test_what_an_action_utters_reaches_the_user_filled(nlg):
    """The action server's messages, through Rasa's own handling of an action's reply, with this renderer."""
    from rasa.core.actions.action import RemoteAction
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.speech import say

    domain, generator = nlg
    dispatcher = CollectingDispatcher()
    dispatcher.utter_message(response="utter_privacy_warning", secrets="完整卡号")
    dispatcher.utter_message(response="utter_fraud_reminder")
    say(dispatcher, None, "utter_code_check_account")
    tracker = DialogueStateTracker("t", domain.slots)
    uttered = asyncio.run(
        RemoteAction._utter_responses(dispatcher.messages, CollectingOutputChannel(), generator, tracker)
    )
    assert [u.text for u in uttered] == [
        content.render("utter_privacy_warning", secrets="完整卡号"),
        content.render("utter_fraud_reminder"),
        content.render("utter_code_check_account"),
    ]
    assert content.facts()["anti_fraud_hotline"] in uttered[1].text
    assert uttered[0].metadata["utter_action"] == "utter_privacy_warning"
    assert uttered[2].metadata["composed_of"] == ["utter_code_check_account"]  # kept with the bot's event


# -- no words in code -----------------------------------------------------------------------

CJK = re.compile(r"[\u4e00-\u9fff]")
CODE_WITHOUT_WORDS = ["actions", "channels", "xiaoan/runtime", "xiaoan/content.py", "web/serve.py"]


def python_files():
    for entry in CODE_WITHOUT_WORDS:
        path = ROOT / entry
        yield from ([path] if path.suffix == ".py" else sorted(path.rglob("*.py")))


def test_code_writes_no_sentences():
    """A string of 4 or more Chinese characters in code (docstrings aside) is wording outside domain.yml."""
    found = []
    for path in python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                if len(CJK.findall(node.value)) >= 4:
                    found.append(f"{Path(path).relative_to(ROOT)}:{node.lineno}: {node.value[:30]!r}")
    assert not found, "\n".join(found)
