"""Mask secrets in user text before anything stores, logs, shows or classifies it.

Card numbers keep their last 4 digits (the contract keeps a card as its
tail); PINs, CVVs and verification codes are masked whole. Masking is
length-preserving, so entity offsets stay valid. Every consumer (the ingress,
the tracker store's last line, the JSON logs, the staff console and its
exports) calls `mask_secrets` / `mask_text`: this module is the one place
that knows how people write a secret.

How a message is read (issue 19: people write numbers every way there is):

* Detection runs on the normalised text (`normalize_text`: full-width to
  half-width, Traditional to Simplified), then on a *digit view* of it: every
  character is a digit or not. ASCII and full-width digits, digits of other
  scripts (``str.isdecimal``) and Chinese numerals used digit by digit
  (零〇一二三四五六七八九, 幺 for 1, 两 for 2, 壹贰叁肆伍陆柒捌玖) are digits. A
  numeral that starts a word (一直, 两次, 三位, 五千) is not.
* A *group* is a run of digits; groups joined by separators only (spaces
  of any kind and number, tabs, newlines, the ``\\n`` of a logged repr,
  dots, slashes, dashes, underscores, commas, 、 and 。), at most
  `_MAX_GAP` characters of them, form a *chain*: ``6222  0212  3456  7894``,
  ``六二二二 零二一二 …``, ``1 3 5 7 9 2``.

Card numbers (kept as their tail):

* one group of 16 digits or more, whatever the context (as before issue
  19: no honest identifier of a POS case is that long; a longer order
  number loses all but its tail, which is the safe side);
* 13 to 19 digits in consecutive groups of a chain, when they pass the Luhn
  check (every real card does), or the chain follows a card word (卡号, 卡,
  账号 …), or they are written in groups of four (16 digits or more: a
  mistyped card is still nearly all of a card).

  Luhn alone is wrong one time in ten, so the product's lookup keys are
  protected by their shape, not by luck: a group of exactly 8 digits (a
  terminal id) or 12 digits (a reference number) is never joined to its
  neighbours into a card unless the context says card, so ``参考号
  202611250001 3500`` or ``10000002 202611250001`` stay as typed. A 12-digit
  reference number is below 13 digits and so never a card by itself.

PINs, CVVs and verification codes (masked whole):

* after their keyword (密码, 支付密码, 取款密码, pin, cvv, cvv2, 安全码,
  验证码, 动态码, 校验码 …) and a short filler (是, ：, 我告诉你是, 我报了,
  输入, quotes …), the chain that follows, group by group up to the longest
  such secret (8 digits; 4 for a CVV) and at least 3 digits, so ``密码 1 3 5
  7 9 2`` is masked and the ``3500`` of ``验证码 482913 转账3500元`` is not; a
  last group followed by a unit (元, 分, 秒, 次 …) is a quantity and is left:
  ``验证码482913 10分钟内有效`` keeps its ``10``, ``验证码120秒后重发`` is no code;
* before their keyword when the message says so (``135792是我的密码``,
  ``482913 验证码`` at the end of a clause), but never a number introduced as
  an identifier (终端号, 参考号, 尾号 …): ``终端号10000002 密码错误`` keeps its
  terminal id.

Not masked, on purpose: 13 to 15 digits in one group that fail Luhn and
follow no card word (order numbers, a phone number with its country code);
a secret more than a short filler away from its keyword (``密码的事我一会儿
说…135792``); numbers in a text whose every character is escaped
(``\\u5bc6\\u7801``: the JSON logs are written unescaped, Rasa's structured
events are parsed first). A Luhn-valid run of 13 to 19 digits is masked even
when it is not a card (one in ten of them): hiding an order or phone number
costs little, a card shown to staff is a breach.

Cost: a few linear passes over the message and regular expressions whose
repetitions are bounded single character classes (no nested or unbounded
repetition of a group, no backtracking blow-up); the card check looks at no
more than 19 digits from each group, with Luhn sums from prefix sums. About
the cost of the normalisation it runs on (tens of microseconds a message).
"""
from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from xiaoan.text.normalize import normalize_text

MASK = "*"

CHINESE_DIGITS: Dict[str, str] = {
    "零": "0", "〇": "0", "○": "0",
    "一": "1", "幺": "1", "壹": "1",
    "二": "2", "两": "2", "贰": "2",
    "三": "3", "叁": "3",
    "四": "4", "肆": "4",
    "五": "5", "伍": "5",
    "六": "6", "陆": "6",
    "七": "7", "柒": "7",
    "八": "8", "捌": "8",
    "九": "9", "玖": "9",
}
# A numeral directly followed by one of these starts a word or a quantity (一直, 一下, 两次, 三位, 五千元).
_WORD_AFTER_NUMERAL = frozenset("直下样次笔个遍般起共些位元块万千百十亿月年日天张条种份回趟批")

_SEPARATOR_GAP = re.compile(r"[\s.\-_/\\,、。·•‧—–−~|]+")
# What a logged repr or JSON makes of a character (\n, \u3000, \xa0): read as that character's kind.
_ESCAPE = re.compile(r"\\(?:u[0-9a-f]{4}|x[0-9a-f]{2}|[ntr])")
_MAX_GAP = 6
_CARD_MIN, _CARD_MAX, _CARD_ALWAYS = 13, 19, 16
_LOOKUP_KEY_LENGTHS = (8, 12)  # terminal id, reference number
_MIN_SECRET = 3
_LONGEST = {"cvv": 4, "pin": 8, "verification_code": 8}

_PIN_WORDS = r"取款密码|支付密码|交易密码|查询密码|银行卡密码|卡密码|密码|口令|(?<![a-z])pin码?"
_CVV_WORDS = r"(?<![a-z])(?:cvv2|cvv|cvc2|cvc|cvn2|cvn)|安全码|卡背面?的?后?三位数?字?|背面的?三位数?字?"
_CODE_WORDS = r"短信验证码|验证码|校验码|动态码|动态密码|短信码|手机码|确认码|(?<![a-z])otp"
_KEYWORDS = rf"(?P<verification_code>{_CODE_WORDS})|(?P<cvv>{_CVV_WORDS})|(?P<pin>{_PIN_WORDS})"
# between a keyword and its value: 是, ：, quotes, "我告诉你是", a logged newline
_FILLER = r"[\s:=是为了就号码的,我你他她给告诉说如下发报填输入收到\"“”'‘’「」【】()\[\]<>\-~→]{0,10}"
# a number followed by one of these is an amount, a count or a time, not a secret: 验证码120秒后重发
_UNIT_AFTER = frozenset("元块万千百次分秒天时个笔位条%")
_SECRET_AFTER = re.compile(rf"(?:{_KEYWORDS}){_FILLER}")
_SECRET_BEFORE = re.compile(
    r"[\s,]{0,3}(?P<said>(?:就是|是|为|即)(?:我的|卡的|收到的|我|的)?|我的|收到的)?"
    rf"(?:{_KEYWORDS})"
)
_CLAUSE_END = frozenset(" \t\r\n,.!?;:)~。！？；…")
_CARD_CONTEXT = re.compile(r"(?:卡|账号|账户|pan)[\s:=是为号码的,()\"“”'‘’]{0,6}\Z")
_IDENTIFIER_CONTEXT = re.compile(
    r"(?:终端|参考|检索|商户|订单|流水|凭证|批次|授权|尾号|尾数|后四位|后4位|末四位|电话|手机|热线|客服|金额|码|号)"
    r"[\s:=是为号码的,]{0,4}\Z"
)
_CONTEXT_CHARS = 16


@dataclass
class MaskResult:
    """The masked text and which kinds of secret were found."""

    text: str
    found: set[str] = field(default_factory=set)
    card_tails: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.found)


_NUMERALS = "".join(CHINESE_DIGITS)
_NOT_A_DIGIT = re.compile(rf"[^\d{_NUMERALS}]")
_NUMERAL_AS_WORD = re.compile(rf"[{_NUMERALS}](?=[{''.join(sorted(_WORD_AFTER_NUMERAL))}])")
_TO_ASCII = str.maketrans(CHINESE_DIGITS)
_OTHER_DIGIT = re.compile(r"[^\x00-\x7f]")
_GROUP = re.compile(r"[0-9]+")
NOT_DIGIT = "\0"


def digit_view(probe: str) -> str:
    """The normalised text with each character replaced, length kept, by the ASCII digit it stands for or NUL."""
    view = _NOT_A_DIGIT.sub(NOT_DIGIT, probe)
    if view.isascii():
        return view
    view = view.translate(_TO_ASCII)
    words = [m.start() for m in _NUMERAL_AS_WORD.finditer(probe)]
    if words:
        chars = list(view)
        for i in words:
            chars[i] = NOT_DIGIT
        view = "".join(chars)
    if not view.isascii():  # digits of other scripts (str.isdecimal)
        view = _OTHER_DIGIT.sub(lambda m: str(unicodedata.decimal(m.group(), 0)), view)
    return view


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _unescaped(probe: str) -> str:
    """`probe` with each escape sequence replaced, length kept: by spaces for a space or a line break, else by
    NULs, so the digits of ``\\u3000`` are no digits and ``6222\\n0212`` reads as two groups of one number."""
    if "\\" not in probe:
        return probe

    def blank(m: "re.Match[str]") -> str:
        code = m.group()[1:]
        ch = {"n": "\n", "t": "\t", "r": "\r"}.get(code) or chr(int(code[1:], 16))
        return (" " if ch.isspace() else "\0") * len(m.group())

    return _ESCAPE.sub(blank, probe)


class _Reading:
    """The groups and chains of one message, and what is to be masked."""

    def __init__(self, probe: str) -> None:
        probe = _unescaped(probe)
        self.probe = probe
        self.view = digit_view(probe)
        self.groups: List[Tuple[int, int]] = [m.span() for m in _GROUP.finditer(self.view)]  # runs of digits
        self.starts = [s for s, _ in self.groups]
        self.chains: List[List[int]] = []
        self.chain_of: List[int] = []  # group -> its chain
        for g, (s, _) in enumerate(self.groups):
            if not (g and self._joined(self.groups[g - 1][1], s)):
                self.chains.append([])
            self.chains[-1].append(g)
            self.chain_of.append(len(self.chains) - 1)
        self.masked = bytearray(len(probe))

    def _joined(self, end: int, start: int) -> bool:
        return start - end <= _MAX_GAP and _SEPARATOR_GAP.fullmatch(self.probe, end, start) is not None

    def group_at(self, position: int) -> Optional[int]:
        """The group holding the digit at `position`, if it is one."""
        g = bisect_right(self.starts, position) - 1
        return g if g >= 0 and position < self.groups[g][1] else None

    def size(self, g: int) -> int:
        s, e = self.groups[g]
        return e - s

    def digits(self, groups: List[int]) -> str:
        return "".join(self.view[s:e] for s, e in (self.groups[g] for g in groups))

    def mask(self, positions: range | List[int]) -> None:
        for i in positions:
            if self.view[i] != NOT_DIGIT:
                self.masked[i] = 1

    def glued_to_letters(self, g: int) -> bool:
        """Digits written straight after Latin letters are an identifier's ("XA20261207000013", a ticket)."""
        start = self.groups[g][0]
        return start > 0 and self.probe[start - 1].isascii() and self.probe[start - 1].isalpha()

    def before(self, pattern: "re.Pattern[str]", g: int) -> bool:
        start = self.groups[g][0]
        return pattern.search(self.probe[max(0, start - _CONTEXT_CHARS):start]) is not None


def _cards(reading: _Reading, result: MaskResult) -> None:
    for chain in reading.chains:
        card_word = reading.before(_CARD_CONTEXT, chain[0])
        segments: List[List[int]] = [[]]
        for g in chain:  # a terminal id or reference number is a border, unless the context says card
            if not card_word and reading.size(g) in _LOOKUP_KEY_LENGTHS and len(chain) > 1:
                segments.extend([[g], []])
            else:
                segments[-1].append(g)
        for segment in segments:
            _cards_in(reading, result, segment, card_word and bool(segment) and segment[0] == chain[0])


def _cards_in(reading: _Reading, result: MaskResult, segment: List[int], card_word: bool) -> None:
    sizes = [reading.size(g) for g in segment]
    if sum(sizes) < _CARD_MIN:
        return
    digits = reading.digits(segment)
    offsets = [0]
    for n in sizes:
        offsets.append(offsets[-1] + n)
    # Luhn sums of any slice in O(1): plain[k] / doubled[k] are the sums of digits[:k] taking even indexes
    # plain and odd ones doubled, or the other way round.
    plain, doubled = [0], [0]
    for k, ch in enumerate(digits):
        d = int(ch)
        twice = d * 2 - 9 if d > 4 else d * 2
        plain.append(plain[-1] + (d if k % 2 == 0 else twice))
        doubled.append(doubled[-1] + (twice if k % 2 == 0 else d))

    def luhn(a: int, b: int) -> bool:
        sums = plain if (b - 1) % 2 == 0 else doubled
        return (sums[b] - sums[a]) % 10 == 0

    i = 0
    while i < len(segment):
        if sizes[i] >= _CARD_ALWAYS:
            chosen: Optional[int] = i
        else:
            chosen = None
            j = i
            while j < len(segment) and offsets[j + 1] - offsets[i] <= _CARD_MAX:
                j += 1
            for end in range(j - 1, i - 1, -1):  # longest first
                count = offsets[end + 1] - offsets[i]
                if count < _CARD_MIN:
                    break
                fours = end > i and count >= _CARD_ALWAYS and all(n == 4 for n in sizes[i:end])
                by_luhn = luhn(offsets[i], offsets[end + 1]) and not reading.glued_to_letters(segment[i])
                if by_luhn or (card_word and i == 0) or fours:
                    chosen = end
                    break
        if chosen is None:
            i += 1
            continue
        positions = [p for g in segment[i:chosen + 1] for p in range(*reading.groups[g])]
        reading.mask(positions[:-4])
        result.found.add("card_number")
        result.card_tails.append("".join(reading.view[p] for p in positions[-4:]))
        i = chosen + 1


def _take(reading: _Reading, positions: List[int], groups: List[int], longest: int) -> List[int]:
    """`positions` (where the value starts), then the next `groups` of its chain while it could still be one value."""
    taken = list(positions)
    for g in groups:
        more = range(*reading.groups[g])
        if len(taken) + len(more) > longest:
            break
        taken.extend(more)
    return taken


def _kind(match: "re.Match[str]") -> str:
    return next(k for k in ("verification_code", "cvv", "pin") if match.group(k) is not None)


def _secrets_after_keywords(reading: _Reading, result: MaskResult) -> None:
    for m in _SECRET_AFTER.finditer(reading.probe):
        kind = _kind(m)
        p = m.end()
        g = reading.group_at(p)
        if p == m.end(kind) and m.group(kind)[-1] == "2" and g is not None \
                and reading.groups[g][1] - p < _MIN_SECRET:
            p -= 1  # "cvv200": the CVV is 200, not a "cvv2" of 00
        if g is None:
            continue
        chain = reading.chains[reading.chain_of[g]]
        later = chain[g - chain[0] + 1:]  # a chain holds consecutive groups
        taken = _take(reading, list(range(p, reading.groups[g][1])), later, _LONGEST[kind])
        after = reading.probe[taken[-1] + 1:taken[-1] + 3].lstrip()
        if after and after[0] in _UNIT_AFTER:  # the last group is a quantity: "验证码482913 10分钟内有效"
            last = reading.starts[bisect_right(reading.starts, taken[-1]) - 1]
            taken = [i for i in taken if i < last]
        if len(taken) >= _MIN_SECRET:
            reading.mask(taken)
            result.found.add(kind)


def _secrets_before_keywords(reading: _Reading, result: MaskResult) -> None:
    probe = reading.probe
    for chain in reading.chains:
        end = reading.groups[chain[-1]][1]
        m = _SECRET_BEFORE.match(probe, end)
        if m is None:
            continue
        said = m.group("said") is not None
        if not said and m.end() < len(probe) and probe[m.end()] not in _CLAUSE_END:
            continue  # "10000002 密码错误" speaks of the password, it does not give one
        if reading.before(_IDENTIFIER_CONTEXT, chain[0]):
            continue
        kind = _kind(m)
        last = chain[-1]
        taken = list(range(*reading.groups[last]))
        for g in reversed(chain[:-1]):
            more = list(range(*reading.groups[g]))
            if len(taken) + len(more) > _LONGEST[kind]:
                break
            taken = more + taken
        if len(taken) >= _MIN_SECRET:
            reading.mask(taken)
            result.found.add(kind)


def mask_secrets(text: str | None) -> MaskResult:
    """Mask full card numbers, PINs, CVVs and verification codes, however they are written."""
    if not text:
        return MaskResult(text or "")
    probe = normalize_text(text)  # same length as text
    result = MaskResult(text)
    reading = _Reading(probe)
    if not reading.groups:
        return result
    _cards(reading, result)
    _secrets_after_keywords(reading, result)
    _secrets_before_keywords(reading, result)
    if result.found:
        result.text = "".join(MASK if hidden else ch for ch, hidden in zip(text, reading.masked))
    return result


def mask_text(text: str | None) -> str:
    """Shorthand for callers that only need the masked text (logs, stores, the console)."""
    return mask_secrets(text).text
