"""A generator of realistic model outputs for multiple-choice answers, each labelled with the
letter it names (or None when it names no option, two options, or negates its only one).

The families follow what video VLMs actually write: bare letters, letter + option text,
answer phrases (English and Chinese), adverbs and hedges, LaTeX boxes, answer tags, braces,
Markdown headings and bullets, JSON, echoed prompts, reasoning blocks, option text alone;
each output also gets realistic noise (case, full-width characters, chat tokens, trailing
punctuation, whitespace).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from dynbench.answers import INSTRUCTION, Option, build_qa_prompt, parse_options

OPTION_SETS = {
    "colors": parse_options(["A. red", "B. blue", "C. green", "D. yellow"]),
    "camera": parse_options(["A. The camera moves left", "B. The camera moves right",
                             "C. The camera stays still", "D. The camera rotates"]),
    "points": parse_options(["A. it moves from point A to point B",
                             "B. it moves from point B to point A", "C. it stays at point A",
                             "D. it stays at point B"]),
    "yes-no": parse_options(["A. Yes", "B. No"]),
    "plain": parse_options(["towards the camera", "away from the camera", "to the left"]),
    "five": parse_options(["A) up", "B) down", "C) left", "D) right", "E) still"]),
    "nine": parse_options([f"{c}. choice {i}" for i, c in enumerate("ABCDEFGHI")]),
    "chinese": parse_options(["A. 向左移动", "B. 向右移动", "C. 保持静止", "D. 旋转"]),
    "articles": parse_options(["A. a dog runs", "B. a car stops", "C. nothing moves"]),
}

REASONING = [
    "The camera follows the cyclist while the background shifts to the left",
    "Looking at the first and last frames, the object changes its position",
    "The red ball rolls behind the box and appears again on the other side",
    "观察视频中的物体运动，摄像机的位置发生了变化",
]

# {L}: letter, {l}: lower-case letter, {t}: option text, {T}: capitalised text,
# {P}: the prompt, {O}: the option lines, {R}: a reasoning sentence (names no option)
POSITIVE = {
    "bare": ["{L}", "{l}", "{L}.", "({L})", "({l})", "{L})", "[{L}]", "**{L}**", "`{L}`",
             '"{L}"', "Option {L}", "{L}!", "  {L}\n"],
    "letter+text": ["{L}. {t}", "{L}: {t}", "({L}) {t}", "{L}) {t}", "{L} - {t}",
                    "**{L}. {t}**", "Option {L}: {t}", "{L}. {T}.", "{L}\n\n{R}.",
                    "{L}, because {r}."],
    "phrase": ["Answer: {L}", "answer: ({l})", "The answer is {L}.", "The answer is ({L}) {t}.",
               "The correct answer is {L}.", "Final answer: {L}", "My answer: {L}",
               "I think the answer is {L}.", "I'd go with {L}.", "I would choose {L}.",
               "It's {L}.", "**Answer:** {L}", "**Answer**: {L}", "answer = {L}",
               "The best option is {L}", "{R}. Therefore, the answer is {L}.",
               "{R}, so the correct option is ({L}).", "Answer:\n{L}",
               "The correct choice is {l}."],
    "adverb": ["The answer is clearly {L}.", "The answer is most likely {L}.",
               "The correct option is probably ({L}).", "It is definitely {L}.",
               "Answer: obviously {L}", "The answer would therefore be {L}."],
    "hedge": ["Probably {L}.", "Most likely {L}.", "Maybe {L}?", "Perhaps {L}.", "I guess {L}.",
              "My best guess is {L}.", "{L}, probably."],
    "chinese": ["答案是{L}", "答案：{L}", "答案为{L}。", "选{L}", "我选择{L}", "选项{L}正确",
                "应该选{L}", "答：{L}", "选项 ({L})", "正确答案是{L}。", "{R}，所以选{L}。",
                "我认为答案应该是{L}", "选{L}，因为{r}。"],
    "boxed": ["\\boxed{{{L}}}", "$\\boxed{{\\text{{{L}}}}}$", "So the answer is $\\boxed{{{L}}}$.",
              "\\boxed{{{t}}}", "{R}. \\boxed{{{l}}}"],
    "tag": ["<answer>{L}</answer>", "<answer> ({L}) {t} </answer>", "<answer>{t}</answer>",
            "<ANSWER>{l}</ANSWER>"],
    "braces": ["{{{L}}}", "Answer: {{{L}}}", "{{ {l} }}"],
    "markdown": ["### Answer\n{L}", "## Final Answer\n\n**{L}**", "**Answer**\n{L}",
                 "**Answer:**\n{L}", "- **{L}**", "* {L}. {t}", "> {L}", "### {L}",
                 "## Reasoning\n{R}.\n\n## Answer\n**{L}**"],
    "json": ['{{"answer": "{L}"}}', "{{'answer': '{L}'}}", '```json\n{{"answer": "{l}"}}\n```',
             '{{"answer": "{L}", "reason": "{r}"}}', '{{"answer": "{t}"}}'],
    "echo": ["{P}\n{L}", "{P}\n\n({L})", "{O}\n{L}", "{P}\nAnswer: {L}", "{P}\n{t}",
             INSTRUCTION + "\n{L}"],
    "think": ["<think>{R}. Hmm, it could be several options.</think>\n{L}",
              "<think>{R}.</think>\n\nThe answer is {L}.", "<think>{R}</think><answer>{L}</answer>",
              "◁think▷{R}◁/think▷{L}"],
    "text": ["{t}", "{T}.", "{t}。", "The answer is {t}.", "**{t}**"],
}

NEGATIVE = {
    "none": ["", "   ", "I'm not sure.", "The video does not show enough information.",
             "None of the options fits.", "{R}.", "我不确定", "<think>{R}, so {L}.</think>",
             "<think>the answer is {L} because", "Answer with the option's letter."],
    "two": ["{L} or {M}", "{L}, {M}", "Both {L} and {M}", "The answer is {L} or {M}.",
            "\\boxed{{{L}}} or maybe \\boxed{{{M}}}", "选{L}或{M}", "选项{L}和{M}都正确",
            "Probably {L} or {M}", "{L}\n\n{M}", "The answer is {L}. Wait, the answer is {M}.",
            '{{"answer": ["{L}", "{M}"]}}', "- **{L}**\n- **{M}**",
            "Probably {L}, but {M} is also possible.", "<answer>{L}</answer> \\boxed{{{M}}}",
            "{P}\n{L} or {M}", "{L}/{M}", "{{{L}}} or {{{M}}}"],
    "negated": ["definitely not {L}", "Probably not {L}.", "The answer is definitely not {L}.",
                "It's not {L}.", "I don't think it's {L}.", "Not {L}.", "不选{L}",
                "选项{L}错误", "不应该选{L}", "It is not {L}."],
}


def _fields(option: Option, options: Sequence[Option], rng: random.Random) -> dict:
    reason = rng.choice(REASONING)
    lines = "\n".join(f"{o.letter}. {o.text}" for o in options)
    return {"L": option.letter, "l": option.letter.lower(), "t": option.text,
            "T": option.text[:1].upper() + option.text[1:], "R": reason,
            "r": reason[:1].lower() + reason[1:], "O": lines,
            "P": build_qa_prompt("What happens in the video?", options)}


NOISE = [
    lambda s: s, lambda s: s, lambda s: s + "<|im_end|>", lambda s: s + "</s>",
    lambda s: "\u00a0" + s + "\n", lambda s: s.replace("\n", "\r\n"), lambda s: "\n\n" + s,
    lambda s: s.translate({ord(c): ord(c) + 0xFEE0 for c in "ABCDEFGHI"}),  # full-width
]


def positives(rng: random.Random) -> Iterator[tuple[str, str, str, Sequence[Option]]]:
    """(family, output, letter, options) for every form, option set and letter."""
    for options in OPTION_SETS.values():
        for option in options:
            fields = _fields(option, options, rng)
            for family, forms in POSITIVE.items():
                for form in forms:
                    text = form.format(**fields)
                    for noise in rng.sample(NOISE, 2):
                        yield family, noise(text), option.letter, options


def negatives(rng: random.Random) -> Iterator[tuple[str, str, Sequence[Option]]]:
    """(family, output, options): no option, two different options, or a negated one."""
    for options in OPTION_SETS.values():
        for first in options:
            second = rng.choice([o for o in options if o != first])
            fields = {**_fields(first, options, rng), "M": second.letter}
            for family, forms in NEGATIVE.items():
                for form in forms:
                    text = form.format(**fields)
                    for noise in rng.sample(NOISE, 2):
                        yield family, noise(text), options
