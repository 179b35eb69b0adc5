r"""Multiple-choice answer extraction from raw model output.

The model is asked for a letter, but real outputs wrap it in prose, markdown, LaTeX, tags, JSON
or reasoning, in English or Chinese. ``extract_letter`` reads the letter back and refuses to
guess: anything it cannot read unambiguously is *unparsed* (scored wrong, counted and shown in
the report). It never returns a letter for an output that names no option or two different
options.

Clean-up first: Unicode NFKC (full-width ``Ａ``/``（Ａ）``/``：`` become ``A``/``(A)``/``:``, NBSP a
space), zero-width characters and chat special tokens (``<|im_end|>``, ``</s>``, ``[SEG]``)
dropped. Reasoning is ignored: the answer region is the text after the LAST ``</think>``
(``</thinking>``, ``◁/think▷`` too); an unclosed ``<think>`` leaves only the text before it,
usually nothing, so a truncated reasoning is unparsed rather than mined for letters. An echoed
prompt is skipped: when the output repeats the instruction line or lists every option in order
one per line, only what follows is read (if anything follows).

Rules, in priority order; the first rule that finds anything decides, and every match of
that rule must name the same letter, else the output is unparsed ("names two options"):

1. ``boxed`` / ``answer_tag``: ``\boxed{B}``, ``\boxed{\text{B}}``, ``<answer> (C) red
   </answer>``. The content is read like a whole short answer (a letter or an option's text).
   Boxed and tagged answers must agree; content that is no option is unparsed, not skipped.
2. ``answer_is``: a cue followed by a letter (or, on that line, exactly an option's text):
   "answer is / answer: / correct option is / choice: / it's / I'd go with", JSON keys
   (``{"answer": "B"}``), a label line (``### Answer`` or ``**Answer:**`` then the letter on
   the next line), Chinese cues (答案是/答案为/答案：/答：/选/我选择/应该选/选项), and hedges
   ("probably", "most likely", "maybe", "I guess"); adverbs between cue and letter are skipped
   ("The answer is clearly D"). Also "B is (the) correct / right / best / most likely" with
   an upper-case letter. A negated cue names nothing: "not" after it ("definitely not C"), a
   negation earlier in its clause ("I don't think it's B", "不选C"), or a verdict after the
   letter ("B is wrong", "选项A错误"). A hedge alone counts only when no other option letter
   is mentioned ("Probably B, but A is possible" is unparsed).
3. ``bare`` / ``leading``: the output (after a list bullet, ``#`` heading or ``>`` quote mark)
   starts with a letter token: ``B``, ``b``, ``A.``, ``(A)``, ``A)``, ``{B}``, ``**B**``,
   ``Option B``, ``A: text``, ``A. text of option``. ``bare`` when nothing but punctuation
   follows. Any other option letter standing alone in the output (``A or B``, ``A, C``, ``B.
   Unlike A, ...``, a second line ``C. green``), outside the text of the option the letter
   names (``C. it stays at point A`` names only C), or text after the letter that is exactly
   another option's text (``A. blue`` when blue is B), makes it unparsed.
4. ``option_text``: the whole output is exactly one option's text (case, whitespace,
   surrounding punctuation incl. ``。`` and markdown ignored), e.g. ``Blue.`` for option B
   "blue".

A letter counts only as a standalone token: not followed by a letter or digit, an
apostrophe-word (``A's``, ``I'm``), ``-word`` or ``.x`` (``E.g.``, ``i.e.``). The letters that
are also English words, ``a`` and ``I``, need more: in leading position, after a colon, after
the soft phrases ("it's", "I'd say") and whenever lower case, they count only when followed
by the end, punctuation, a line break, Chinese text, a word an article or pronoun cannot
precede ("is", "or", "because", ...), or the option's own text ending there or at
punctuation. So ``A red ball moves left`` is not option A (unless A's text is "red ball moves
left"), and ``I think`` is not option I. A letter not among the options' letters is unparsed
with that reason.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

INSTRUCTION = "Answer with the option's letter from the given choices directly."
UNPARSED = "unparsed"


@dataclass(frozen=True)
class Option:
    letter: str  # upper case "A"
    text: str  # option text without the letter prefix


@dataclass(frozen=True)
class Extraction:
    letter: str | None  # upper case, None when unparsed
    method: str  # rule that matched, or "unparsed"
    reason: str = ""  # why it is unparsed

    @property
    def parsed(self) -> bool:
        return self.letter is not None


# ---------------------------------------------------------------- options and prompt

_OPTION_PREFIX = re.compile(r"\s*(?:\(\s*([A-Za-z])\s*\)|([A-Za-z])\s*[.):：．、])\s*(.*)", re.S)


def parse_options(options: Sequence[str]) -> tuple[Option, ...]:
    """Options as stored in the data ("A. red", "B) blue", "c. green" or plain "red").

    Text is NFKC-normalised (full-width ``Ａ．`` is ``A.``). Plain options get letters A, B,
    C... by position. A mix of prefixed and plain options, or a repeated letter, is a data
    error: ``ValueError``, since any letter we assigned could disagree with the ground truth.
    """
    if isinstance(options, str):
        raise TypeError("options must be a sequence of strings, not one string")
    if not options:
        raise ValueError("no options")
    options = [unicodedata.normalize("NFKC", o) for o in options]
    matches = [_OPTION_PREFIX.fullmatch(o) for o in options]
    plain = [o for o, m in zip(options, matches, strict=True) if m is None]
    if len(plain) == len(options):
        return _assign_letters(options)
    if plain:
        raise ValueError(
            f"options mix letter prefixes and plain text ({plain[0]!r} has no letter prefix): "
            f"{list(options)!r}"
        )
    parsed = tuple(Option((m[1] or m[2]).upper(), m[3].strip()) for m in matches)
    letters = [o.letter for o in parsed]
    repeated = sorted({x for x in letters if letters.count(x) > 1})
    if repeated:
        raise ValueError(f"option letters repeat ({', '.join(repeated)}): {list(options)!r}")
    return parsed


def _assign_letters(options: Sequence[str]) -> tuple[Option, ...]:
    if len(options) > 26:
        raise ValueError(f"{len(options)} options without letters: more than A-Z")
    return tuple(Option(chr(ord("A") + i), o.strip()) for i, o in enumerate(options))


def format_options(options: Sequence[Option]) -> tuple[str, ...]:
    """Canonical "A. red" lines, whatever prefix style the data used."""
    return tuple(f"{o.letter}. {o.text}" for o in options)


def build_qa_prompt(question: str, options: Sequence[Option]) -> str:
    """The reference implementation's QA prompt, with canonically formatted options."""
    return question + "\n" + "\n".join(format_options(options)) + "\n" + INSTRUCTION


# ---------------------------------------------------------------- reference matcher


def reference_first_token(text: str) -> str | None:
    """The reference implementation's matcher (``fuzzy_matching``), for compatibility runs.

    Exactly: strip the output, take its first whitespace-separated token, remove trailing
    ``.,;:!?`` (only trailing, only these), upper-case. The caller compares the result with
    the upper-cased ground-truth letter. ``None`` for an empty output (the reference returns
    ``""``; neither equals a letter). So ``"b."`` -> ``"B"`` (right), but ``"(A)"`` ->
    ``"(A)"``, ``"The answer is A."`` -> ``"THE"``, ``"\\boxed{B}"`` -> ``"\\BOXED{B}"``:
    scored wrong.
    """
    tokens = text.split()
    return tokens[0].rstrip(".,;:!?").upper() if tokens else None


# ---------------------------------------------------------------- clean-up and region

_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060\ufeff]")
_SPECIAL_TOKENS = re.compile(r"<\|[^|<>\s]{1,40}\|>|</?s>|\[SEG\]", re.I)
_THINK_CLOSE = re.compile(r"</\s*think(?:ing)?\s*>|◁/think▷", re.I)
_THINK_OPEN = re.compile(r"<\s*think(?:ing)?\s*>|◁think▷", re.I)


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return _SPECIAL_TOKENS.sub(" ", _INVISIBLE.sub("", text))


def _answer_region(text: str) -> tuple[str, str]:
    """The text that may hold the answer, and the reason to give if it is empty."""
    closes = list(_THINK_CLOSE.finditer(text))
    reason = "empty output"
    if closes:
        text, reason = text[closes[-1].end() :], "nothing after </think>"
    opened = _THINK_OPEN.search(text)
    if opened:
        text = text[: opened.start()]
        reason = "unclosed <think> block: no answer after the reasoning"
    return text.strip(), reason


# ---------------------------------------------------------------- letter tokens

_QUOTES = "\"'“”‘’「」『』"
_SKIP = r"[\s*_`" + _QUOTES + "]*"
_TOKEN = re.compile(
    _SKIP + r"(?:(?:answer|option|choice|letter)\b\s*[:#]?" + _SKIP + ")?"
    r"(?:\(\s*([a-z])\s*\)|\[\s*([a-z])\s*\]|\{\s*([a-z])\s*\}"
    r"|([a-z])(?![a-z0-9]|['’][a-z]|-\w|\.[a-z]))",
    re.I,
)
_BARE = re.compile(
    _SKIP + r"(?:(?:answer|option|choice|letter)\b\s*[:#]?\s*)?"
    r"(?:\(\s*[a-z]\s*\)|\[\s*[a-z]\s*\]|\{\s*[a-z]\s*\}|[a-z])[\s.,:;!?)*_`。、" + _QUOTES
    + "]*",
    re.I,
)
_LIST_MARK = re.compile(r"(?:[-+•]\s+|\*\s+|#{1,6}\s+|>\s*)*")  # "- ", "* ", "### ", "> "
_WORD_LETTERS = frozenset("ai")
_ANSWER_WORDS = frozenset(
    "is are and or because since seems appears fits matches describes".split()
)
_AFTER_LETTER_PUNCT = "\r\n.,:;)]}!?*\"'`“”‘’-–—/&。、「」『』"
_FIRST_WORD = re.compile(r"[a-z]+", re.I)
_JOINER = re.compile(
    r"[\s*_]*(?:,\s*(?:(?:or|and)\b)?|/|&|\b(?:or|and|vs)\b\.?|和|或者?|或是|还是|与|及|、)\s*",
    re.I)
_SEPARATOR = re.compile(r"[\s.:)\]\-–—*_]*")
_NEGATED = re.compile(
    r"\s*(?:(?:is|are)\s*(?:n['’]t|not|wrong|incorrect|false)\b|(?:是)?\s*(?:错|不|非))", re.I)
_MENTION = re.compile(r"(?<![\w'’-])([A-Z])(?![A-Za-z0-9]|['’][A-Za-z]|-\w|\.[A-Za-z])")
_MAX_JOINED = 26  # "A, B, C, ..." is read this far
_LOOKAHEAD = 400  # characters read after a letter or phrase: bounds work on long outputs
_TEXT_EDGE = " \t\n.,;:!?\"'`*_“”‘’「」『』。、{}"


def _norm_text(text: str) -> str:
    return " ".join(text.casefold().split()).strip(_TEXT_EDGE)


@functools.lru_cache(maxsize=4096)
def _norm_option(text: str) -> str:
    return _norm_text(text)


def _standalone(raw: str, rest: str, options: Sequence[Option], strict: bool) -> bool:
    """Whether a bare letter is an answer token rather than the word "a" or "I"."""
    if raw.lower() not in _WORD_LETTERS or (raw.isupper() and not strict):
        return True
    after = rest.lstrip(" \t")
    if not after or after[0] in _AFTER_LETTER_PUNCT or _is_wide(after[0]):
        return True  # the end, punctuation, or Chinese text: never the article "a"
    word = _FIRST_WORD.match(after)
    if word and word.group().lower() in _ANSWER_WORDS:
        return True
    return _starts_with_text(after, _text_of(raw.upper(), options))


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in "WF"


def _text_of(letter: str, options: Sequence[Option]) -> str:
    return next((_norm_text(o.text) for o in options if o.letter == letter), "")


def _starts_with_text(text: str, option_text: str) -> bool:
    """Text is the option's text, alone or closed by punctuation ("red." but not "red ball")."""
    if not option_text:
        return False
    norm = _norm_text(text[: 2 * len(option_text) + 40])  # room for spacing and markdown
    if not norm.startswith(option_text):
        return False
    tail = norm[len(option_text) :]
    return not tail or not (tail[0].isalnum() or tail[0].isspace())


def _read_token(text: str, options: Sequence[Option], strict: bool) -> tuple[str, str] | None:
    """(letter, rest) for a letter token at the start of ``text``; ``None`` when there is none."""
    m = _TOKEN.match(text)
    if not m:
        return None
    raw, rest = m[1] or m[2] or m[3] or m[4], text[m.end() :]
    if (m[4] and not _standalone(raw, rest, options, strict)) or _NEGATED.match(rest):
        return None
    return raw.upper(), rest


def _read_choice(text: str, options: Sequence[Option], strict: bool) -> frozenset[str]:
    """Letters named by a letter token at the start of ``text`` (empty set: none).

    Letters joined on ("A or B", "A, C", "A and C are both ...") are named too.
    """
    token = _read_token(text, options, strict)
    if token is None:
        return frozenset()
    letter, rest = token
    letters = {letter} | _other_text(letter, rest, options)
    for _ in range(_MAX_JOINED):
        joiner = _JOINER.match(rest)
        token = joiner and _read_token(rest[joiner.end() :], options, strict=True)
        if not token:
            break
        letters.add(token[0])
        rest = token[1]
    return frozenset(letters)


def _other_text(letter: str, rest: str, options: Sequence[Option]) -> frozenset[str]:
    """The letter of another option when the text after the letter is exactly its text."""
    tail = rest[_SEPARATOR.match(rest).end() :]
    named = _match_text(tail, options)
    return frozenset() if not named or letter in named else named


def _match_text(text: str, options: Sequence[Option]) -> frozenset[str]:
    norm = _norm_text(text)
    if not norm:
        return frozenset()
    return frozenset(o.letter for o in options if _norm_option(o.text) == norm)


# ---------------------------------------------------------------- rules

_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_ANSWER_TAG = re.compile(r"<\s*answer\s*>(.*?)(?:<\s*/\s*answer\s*>|\Z)", re.I | re.S)
_LATEX_WRAPPER = re.compile(
    r"\\(?:text|textbf|textit|textrm|mathrm|mathbf|mathit|boxed|fbox|mbox)\s*\{([^{}]*)\}"
)
_LATEX_DEPTH = 8
_LATEX_NOISE = re.compile(r"\$|\\[()\[\]]|\\[ ,;!]")
_ANSWER_IS = re.compile(
    r"\b(?:answer|option|choice)[\s*_\"'“”‘’]*(?:(?:is|(?:would|should|will|must)"
    r"(?:\s+(?:therefore|then|thus|also|probably|likely|definitely|clearly|certainly))?"
    r"\s+be)\b\s*:?|:|=)"
    r"|答案\s*(?:应该|应当|应|就|可能)?\s*(?:是|为|:)|答\s*:|选(?:择|定)?了?(?!项)|选项",
    re.I,
)
_ANSWER_LINE = re.compile(  # a line that is only a label: "### Answer", "**Final answer:**"
    r"^[ \t>#*_]*(?:(?:final|correct|my)\s+)?answer[ \t\r*_:]*$", re.I | re.M
)
_HEDGE = re.compile(
    r"\b(?:probably|most\s+likely|likely|perhaps|maybe|possibly|presumably|i\s+guess"
    r"|my\s+(?:best\s+)?guess(?:\s+is)?\s*:?)(?![\w'’-])",
    re.I,
)
_ADVERBS = re.compile(
    r"(?:[\s,]*\b(?:clearly|probably|most\s+likely|likely|definitely|certainly|obviously"
    r"|surely|indeed|actually|simply|undoubtedly|perhaps|maybe|possibly|presumably"
    r"|apparently|evidently|really|then|therefore|thus|just|again|also)\b){0,3}",
    re.I,
)
_NOT_AFTER = re.compile(r"[\s,]*(?:not|never)\b", re.I)
_NEG_BEFORE = re.compile(r"\b(?:not|never|no)\b|n['’]t\b|[不没]", re.I)
_CLAUSE_END = re.compile(r"[.,;:!?\n。]")
_SOFT_PHRASE = re.compile(
    r"\b(?:it['’]?s|it\s+is|i\s+think|i\s+believe"
    r"|i(?:\s+would|['’]d|['’]ll|\s+will)?\s+(?:say|choose|pick|select|go\s+with))\b",
    re.I,
)
_IS_CORRECT = re.compile(
    r"(?<![\w'’-])\(?([A-Z])\)?\s+(?i:is\s+(?:the\s+)?(?:correct|right|best|most\s+likely)\b)"
)
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)|。")
_NEXT_LINE = re.compile(rf"\s*([^\n]{{0,{_LOOKAHEAD}}})")  # the line after a phrase, bounded


def _closing_braces(text: str) -> dict[int, int]:
    """Position of the matching ``}`` for every ``{`` that has one (one pass)."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for i, ch in enumerate(text):
        if ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            pairs[stack.pop()] = i
    return pairs


def _boxed_contents(text: str) -> list[str]:
    """Contents of every outermost ``\\boxed{...}``; an unclosed one is skipped."""
    matches = list(_BOXED.finditer(text))
    pairs = _closing_braces(text) if matches else {}
    out, covered_to = [], -1
    for m in matches:
        close = pairs.get(m.end() - 1)
        if close is not None and m.start() > covered_to:
            out.append(text[m.end() : close])
            covered_to = close
    return out


def _unlatex(text: str) -> str:
    """``\\text{\\textbf{B}}`` -> ``B``; a few levels suffice for any real answer."""
    for _ in range(_LATEX_DEPTH):
        text, count = _LATEX_WRAPPER.subn(r"\1", text)
        if not count:
            break
    return _LATEX_NOISE.sub(" ", text).strip()


def _read_short(text: str, options: Sequence[Option]) -> frozenset[str]:
    """A whole short answer (boxed or tagged content): a letter, else an option's text."""
    text = _unlatex(text)
    return _read_choice(text, options, strict=True) or _match_text(text, options)


def _rule_final(region: str, options: Sequence[Option]) -> Extraction | None:
    boxed = _boxed_contents(region)
    tagged = _ANSWER_TAG.findall(region)
    if not boxed and not tagged:
        return None
    from_boxed = [_read_short(c, options) for c in boxed]
    letters = frozenset().union(*from_boxed, *(_read_short(c, options) for c in tagged))
    if not letters:
        what, content = ("\\boxed{}", boxed[0]) if boxed else ("<answer>", tagged[0])
        return _unparsed(f"{what} content is not an option: {content.strip()[:40]!r}")
    return _decide(letters, "boxed" if any(from_boxed) else "answer_tag", options)


def _phrase_letters(region: str, pattern: re.Pattern, options: Sequence[Option]) -> set[str]:
    """Letters named right after each match of a cue ("the answer is", "选", "probably"),
    skipping adverbs ("clearly", "most likely") and a label line ("**Answer:**" then the
    next line); a negated cue ("not", "I don't think it's", "不选") names nothing."""
    letters: set[str] = set()
    for m in pattern.finditer(region):
        pos = _ADVERBS.match(region, m.end()).end()
        if _negated_before(region, m.start()) or _NOT_AFTER.match(region, pos):
            continue
        line = _line_after(region, pos)
        strict = pattern is not _ANSWER_IS or m.group().rstrip()[-1:] in ":="
        found = _read_choice(line, options, strict) or _match_text(line, options)
        end = _SENTENCE_END.search(line)
        letters |= found or (_match_text(line[: end.start()], options) if end else found)
    return letters


def _negated_before(region: str, start: int) -> bool:
    """A negation earlier in the cue's clause: "I don't think it's B", "不选C"."""
    clause_start = max((m.end() for m in _CLAUSE_END.finditer(region, max(0, start - 80),
                                                                start)), default=0)
    return bool(_NEG_BEFORE.search(region, max(clause_start, start - 80), start))


def _line_after(region: str, pos: int) -> str:
    """The rest of the line after a cue; the next line when only markdown is left."""
    m = _NEXT_LINE.match(region, pos)
    if m[1].strip(" \t*_#`:") or m.end() >= len(region):
        return m[1]
    return _NEXT_LINE.match(region, m.end())[1]


def _rule_answer_is(region: str, options: Sequence[Option]) -> Extraction | None:
    letters = _phrase_letters(region, _ANSWER_IS, options)
    letters |= _phrase_letters(region, _ANSWER_LINE, options)
    letters |= _phrase_letters(region, _SOFT_PHRASE, options)
    letters |= {m[1] for m in _IS_CORRECT.finditer(region)}
    hedged = _phrase_letters(region, _HEDGE, options)
    if hedged and not letters:  # "Probably B" alone: no other option may be mentioned
        hedged |= _mentioned(region, options)
    letters |= hedged
    return _decide(frozenset(letters), "answer_is", options) if letters else None


def _rule_leading(region: str, options: Sequence[Option]) -> Extraction | None:
    body = region[_LIST_MARK.match(region).end() :]
    letters = _read_choice(body, options, strict=True)
    if not letters:
        return None
    letters |= _mentioned(_without_option_text(body, options), options)
    method = "bare" if _BARE.fullmatch(body) else "leading"
    return _decide(letters, method, options)


def _without_option_text(body: str, options: Sequence[Option]) -> str:
    """The output without the option text that follows its leading letter (its own, or
    another option's), so that a capital letter inside that text ("C. it stays at point A")
    is not read as a mention of another option."""
    m = _TOKEN.match(body)
    letter = (m[1] or m[2] or m[3] or m[4]).upper()
    rest = body[m.end() :]
    texts = sorted(options, key=lambda o: (o.letter != letter, -len(o.text)))
    for option in texts:
        words = _norm_text(option.text).split()
        own = words and re.compile(r"[\s.:)\]\-–—*_`]*" + r"[\s*_`]+".join(
            map(re.escape, words)) + r"(?![^\W_])", re.I).match(rest)
        if own:
            return body[: m.end()] + rest[own.end() :]
    return body


def _rule_option_text(region: str, options: Sequence[Option]) -> Extraction | None:
    letters = _match_text(region, options)
    return _decide(letters, "option_text", options) if letters else None


_RULES = (_rule_final, _rule_answer_is, _rule_leading, _rule_option_text)


def _unparsed(reason: str) -> Extraction:
    return Extraction(None, UNPARSED, reason)


def _names(letters: frozenset[str] | set[str]) -> str:
    count = "two" if len(letters) == 2 else str(len(letters))
    return f"names {count} options: {', '.join(sorted(letters))}"


def _decide(letters: frozenset[str], method: str, options: Sequence[Option]) -> Extraction:
    if len(letters) > 1:
        return _unparsed(_names(letters))
    (letter,) = letters
    valid = [o.letter for o in options]
    if letter not in valid:
        return _unparsed(f"{letter} is not an option letter ({', '.join(valid)})")
    return Extraction(letter, method)


_INSTRUCTION_ECHO = re.compile(re.escape(INSTRUCTION).replace("'", "['’]"), re.I)


def _after_echo(region: str, options: Sequence[Option]) -> str:
    """What follows an echoed prompt (the instruction line, or every option listed in
    order, one per line), when anything does; else the region unchanged."""
    ends = [m.end() for m in _INSTRUCTION_ECHO.finditer(region)]
    ends.append(_options_block_end(region, options))
    rest = region[max(ends) :].strip()
    return rest if max(ends) and rest else region


def _options_block_end(region: str, options: Sequence[Option]) -> int:
    """End of the last run of lines that lists every option in order ("A. red" ...)."""
    end, expected, pos = 0, 0, 0
    for line in region.splitlines(keepends=True):
        pos += len(line)
        if not line.strip():
            continue
        m = _OPTION_PREFIX.fullmatch(line.strip(" \t\r\n*_-"))
        if m and _is_option(m, options[expected]):
            expected += 1
        else:
            expected = 1 if m and _is_option(m, options[0]) else 0
        if expected == len(options):
            end, expected = pos, 0
    return end


def _is_option(m: re.Match, option: Option) -> bool:
    return (m[1] or m[2]).upper() == option.letter and _norm_text(m[3]) == _norm_text(
        option.text)


def _mentioned(region: str, options: Sequence[Option]) -> frozenset[str]:
    """Upper-case option letters standing alone anywhere ("unlike B", "\nC. green")."""
    valid = {o.letter for o in options}
    return frozenset(
        m[1]
        for m in _MENTION.finditer(region)
        if m[1] in valid
        and _standalone(m[1], region[m.end() : m.end() + _LOOKAHEAD], options, strict=True)
    )


def _no_letter_reason(region: str, options: Sequence[Option]) -> str:
    """Diagnostic only (never scored): say so when several option letters are mentioned."""
    named = _mentioned(region, options)
    return _names(named) if len(named) > 1 else "no option letter found"


def extract_letter(text: str, options: Sequence[Option]) -> Extraction:
    """The option letter a raw model output names, or why it cannot be read (see module doc)."""
    options = tuple(options)
    if not options or not all(isinstance(o, Option) for o in options):
        raise TypeError("options must be a non-empty sequence of Option (see parse_options)")
    region, empty_reason = _answer_region(_clean(text or ""))
    if not region:
        return _unparsed(empty_reason)
    region = _after_echo(region, options)
    for rule in _RULES:
        result = rule(region, options)
        if result is not None:
            return result
    return _unparsed(_no_letter_reason(region, options))
