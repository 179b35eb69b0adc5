"""Answer extraction: a table of raw model outputs and what must be read from them."""

from __future__ import annotations

import dataclasses
import random
import time

import pytest

from dynbench.answers import (
    INSTRUCTION,
    Extraction,
    Option,
    build_qa_prompt,
    extract_letter,
    format_options,
    parse_options,
    reference_first_token,
)
from tests import answer_variants

COLORS = parse_options(["A. red", "B. blue", "C. green", "D. yellow"])
RED_C = parse_options(["A. blue", "B. green", "C. red"])
CAMERA = parse_options(
    [
        "A. The camera moves left",
        "B. The camera moves right",
        "C. The camera stays still",
        "D. The camera rotates",
    ]
)
PEOPLE = parse_options(["A. The dog runs away", "B. The car stops", "C. Nothing moves"])
TWO = parse_options(["A. Yes", "B. No"])
THREE_PLAIN = parse_options(["red", "blue", "green"])
FIVE = parse_options(["A) up", "B) down", "C) left", "D) right", "E) still"])
SIX = parse_options([f"{c}. option {c.lower()}" for c in "ABCDEF"])
NINE = parse_options([f"{c}. choice {i}" for i, c in enumerate("ABCDEFGHI")])
POINTS = parse_options(
    [
        "A. it moves from point A to point B",
        "B. it moves from point B to point A",
        "C. it stays at point A",
        "D. it stays at point B",
    ]
)

LONG_PROSE = "The camera follows the cyclist along the road while trees pass by. " * 300
U = None  # expected letter of an unparsed output

# (id, output, options, expected letter or None, expected method or a reason fragment)
CASES = [
    # --- bare letters -----------------------------------------------------------------
    ("bare-upper", "B", COLORS, "B", "bare"),
    ("bare-lower", "b", COLORS, "B", "bare"),
    ("bare-padded", "  C \n", COLORS, "C", "bare"),
    ("bare-dot", "A.", COLORS, "A", "bare"),
    ("bare-paren", "(A)", COLORS, "A", "bare"),
    ("bare-close-paren", "A)", COLORS, "A", "bare"),
    ("bare-bracket", "[D]", COLORS, "D", "bare"),
    ("bare-bold", "**B**", COLORS, "B", "bare"),
    ("bare-backtick", "`C`", COLORS, "C", "bare"),
    ("bare-quoted", '"B"', COLORS, "B", "bare"),
    ("bare-lower-paren", "(b)", COLORS, "B", "bare"),
    ("bare-lower-dot", "d.", COLORS, "D", "bare"),
    ("bare-lower-a", "a", COLORS, "A", "bare"),
    ("bare-option-word", "Option B", COLORS, "B", "bare"),
    ("bare-two-options", "B.", TWO, "B", "bare"),
    ("bare-six-options", "F", SIX, "F", "bare"),
    ("bare-five-lower-paren", "(e)", FIVE, "E", "bare"),
    ("bare-nine-I", "I", NINE, "I", "bare"),
    ("bare-nine-I-dot", "I.", NINE, "I", "bare"),
    # --- a letter followed by text ----------------------------------------------------
    ("colon-text", "A: red", COLORS, "A", "leading"),
    ("dot-text", "A. red", COLORS, "A", "leading"),
    ("paren-text", "B) blue", COLORS, "B", "leading"),
    ("space-own-text", "A red", COLORS, "A", "leading"),
    ("space-own-text-dot", "A red.", COLORS, "A", "leading"),
    ("letter-sentence", "A. The camera moves left", CAMERA, "A", "leading"),
    (
        "letter-newline-explain",
        "B\n\nThe camera pans right, following the car.",
        CAMERA,
        "B",
        "leading",
    ),
    ("a-newline-explain", "A\nBecause the background shifts.", CAMERA, "A", "leading"),
    ("letter-comma-because", "C, because the camera does not move.", CAMERA, "C", "leading"),
    ("b-is-correct", "B is correct.", CAMERA, "B", "answer_is"),
    ("a-is-correct", "A is correct.", CAMERA, "A", "answer_is"),
    ("a-because", "A because the background shifts right", CAMERA, "A", "leading"),
    ("lower-c-own-text", "c) green", COLORS, "C", "leading"),
    ("letter-dash", "D - yellow", COLORS, "D", "leading"),
    ("letter-is-the-answer", "B is the answer", COLORS, "B", "leading"),
    ("bold-paren-text", "**(B) blue**", COLORS, "B", "leading"),
    (
        "letter-explanation-block",
        "B\n\nExplanation: the camera pans right.",
        CAMERA,
        "B",
        "leading",
    ),
    ("letter-then-i-think", "C. I think so", NINE, "C", "leading"),
    # --- explicit answer phrases --------------------------------------------------------
    ("answer-colon", "Answer: A", COLORS, "A", "answer_is"),
    ("answer-colon-lower-paren", "answer: (c)", COLORS, "C", "answer_is"),
    ("answer-is-paren", "The answer is (A).", COLORS, "A", "answer_is"),
    ("correct-option-is", "The correct option is B", COLORS, "B", "answer_is"),
    ("answer-is-option", "The correct answer is option D.", COLORS, "D", "answer_is"),
    ("final-answer", "Final answer: C", COLORS, "C", "answer_is"),
    ("md-answer-bold-colon-in", "**Answer:** B", COLORS, "B", "answer_is"),
    ("md-answer-bold-colon-out", "**Answer**: B", COLORS, "B", "answer_is"),
    ("answer-next-line", "Answer:\nB", COLORS, "B", "answer_is"),
    ("answer-spaced-colon", "\tanswer :  b \n", COLORS, "B", "answer_is"),
    ("answer-is-lower-a-dot", "The answer is a.", COLORS, "A", "answer_is"),
    ("answer-is-text", "The answer is blue.", COLORS, "B", "answer_is"),
    ("answer-is-letter-text", "The answer is B) blue", COLORS, "B", "answer_is"),
    ("answer-is-quoted", "The answer is \u201cC\u201d.", COLORS, "C", "answer_is"),
    ("answer-is-not-other", "The answer is A, not B.", COLORS, "A", "answer_is"),
    (
        "answer-after-prose",
        "The car turns, so the camera pans. The answer is B.",
        CAMERA,
        "B",
        "answer_is",
    ),
    ("correct-choice-lower", "The correct choice is (d)", COLORS, "D", "answer_is"),
    ("i-think-its", "I think it's C", COLORS, "C", "answer_is"),
    ("i-think-letter", "I think C.", COLORS, "C", "answer_is"),
    ("id-go-with", "I'd go with B.", COLORS, "B", "answer_is"),
    ("its-b-because", "It's B because the camera turns.", CAMERA, "B", "answer_is"),
    ("nine-i-think-answer", "I think the answer is C", NINE, "C", "answer_is"),
    ("nine-i-think-its", "I think it's D.", NINE, "D", "answer_is"),
    ("chinese-answer", "答案：B", COLORS, "B", "answer_is"),
    ("phrase-beats-leading", "B. Hmm, no. The answer is C.", COLORS, "C", "answer_is"),
    ("answer-six", "The answer is F.", SIX, "F", "answer_is"),
    ("best-answer-letter-text", "The best answer is D) yellow.", COLORS, "D", "answer_is"),
    ("my-answer", "My answer: C", COLORS, "C", "answer_is"),
    ("choice-colon-paren", "Choice: (A)", COLORS, "A", "answer_is"),
    ("answer-equals", "answer = B", COLORS, "B", "answer_is"),
    ("answer-should-be", "So, the answer should be C.", COLORS, "C", "answer_is"),
    ("answer-would-be", "Therefore, the correct answer would be (B).", COLORS, "B", "answer_is"),
    ("answer-bold-letter", "Correct answer: **D**", COLORS, "D", "answer_is"),
    ("answer-colon-quoted", 'The answer is: "B"', COLORS, "B", "answer_is"),
    ("it-is", "It is C.", COLORS, "C", "answer_is"),
    ("option-is-correct", "The option B is correct", COLORS, "B", "answer_is"),
    ("wrong-then-correct", "Option A is incorrect. Option B is correct.", COLORS, "B", "answer_is"),
    ("answer-then-explain-other", "Answer: B\nWhy not A: it moves left.", COLORS, "B", "answer_is"),
    ("answer-upper-a-mid-sentence", "The answer is A because it pans.", CAMERA, "A", "answer_is"),
    # --- boxed and answer tags ------------------------------------------------------------
    ("boxed", r"\boxed{B}", COLORS, "B", "boxed"),
    ("boxed-text", r"\boxed{\text{B}}", COLORS, "B", "boxed"),
    ("boxed-math", r"So the final answer is $\boxed{C}$.", COLORS, "C", "boxed"),
    ("boxed-paren", r"\boxed{(A)}", COLORS, "A", "boxed"),
    ("boxed-letter-text", r"\boxed{B. blue}", COLORS, "B", "boxed"),
    ("boxed-option-text", r"\boxed{blue}", COLORS, "B", "boxed"),
    ("boxed-textbf-lower", r"\boxed{\textbf{d}}", COLORS, "D", "boxed"),
    ("boxed-repeated-same", r"\boxed{A} so again \boxed{A}", COLORS, "A", "boxed"),
    ("boxed-beats-prose", r"Option A is wrong, B too. Answer: \boxed{C}", COLORS, "C", "boxed"),
    ("tag", "<answer>C</answer>", COLORS, "C", "answer_tag"),
    ("tag-paren-text", "<answer> (C) red </answer>", RED_C, "C", "answer_tag"),
    ("tag-upper-lower", "<ANSWER>b</ANSWER>", COLORS, "B", "answer_tag"),
    ("tag-unclosed-truncated", "<answer>B", COLORS, "B", "answer_tag"),
    ("tag-with-boxed", r"<answer>\boxed{D}</answer>", COLORS, "D", "boxed"),
    ("tag-option-text", "<answer>The camera stays still</answer>", CAMERA, "C", "answer_tag"),
    # --- think-style outputs ---------------------------------------------------------------
    ("think-then-bare", "<think>It moves left, so A.</think>\nB", COLORS, "B", "bare"),
    ("think-last-close", "<think>A</think> <think>B</think> C", COLORS, "C", "bare"),
    (
        "think-then-phrase",
        "<think>Could be A or C.</think>\n\nThe answer is C.",
        COLORS,
        "C",
        "answer_is",
    ),
    ("think-then-tag", "<think>A? B?</think><answer>B</answer>", COLORS, "B", "answer_tag"),
    ("think-boxed-inside-ignored", r"<think>\boxed{A}</think>\boxed{B}", COLORS, "B", "boxed"),
    ("think-no-open-tag", "reasoning without an opening tag</think>D", COLORS, "D", "bare"),
    ("think-upper-tags", "<THINK>x</THINK> A.", COLORS, "A", "bare"),
    ("think-kimi-tags", "◁think▷hmm, A or B◁/think▷B", COLORS, "B", "bare"),
    ("thinking-tag", "<thinking>maybe A</thinking>\nOption C", COLORS, "C", "bare"),
    ("think-unclosed", "<think>the answer is A because", COLORS, U, "unclosed <think>"),
    ("think-nothing-after", "<think>so it is C</think>\n", COLORS, U, "nothing after </think>"),
    ("think-second-unclosed", "<think>A</think>\n<think>maybe B", COLORS, U, "unclosed <think>"),
    # --- option text without a letter -------------------------------------------------------
    ("text", "blue", COLORS, "B", "option_text"),
    ("text-capital-dot", "Blue.", COLORS, "B", "option_text"),
    ("text-shouting-padded", "  BLUE  ", COLORS, "B", "option_text"),
    ("text-bold", "**blue**", COLORS, "B", "option_text"),
    ("text-sentence", "The camera moves right", CAMERA, "B", "option_text"),
    ("text-sentence-dot", "The camera moves right.", CAMERA, "B", "option_text"),
    ("text-whitespace-noise", "the   camera  moves\nright", CAMERA, "B", "option_text"),
    ("text-plain-options", "green", THREE_PLAIN, "C", "option_text"),
    ("text-two-options", "Yes", TWO, "A", "option_text"),
    (
        "text-starts-with-article",
        "A person walks",
        parse_options(["A dog", "A person walks"]),
        "B",
        "option_text",
    ),
    ("text-two-texts", "blue green", COLORS, U, "no option letter"),
    ("text-partial", "moves right", CAMERA, U, "no option letter"),
    # --- several options named: never guess ------------------------------------------------
    ("a-or-b", "A or B", COLORS, U, "names two options: A, B"),
    ("a-and-c-both", "A and C are both correct.", COLORS, U, "names two options: A, C"),
    ("a-comma-c", "A, C", COLORS, U, "names two options: A, C"),
    ("a-slash-b", "A/B", COLORS, U, "names two options: A, B"),
    ("three-named", "A, B, or C", COLORS, U, "names 3 options: A, B, C"),
    ("both-a-and-c", "Both A and C", COLORS, U, "names two options: A, C"),
    ("letter-other-text", "B. red", COLORS, U, "names two options: A, B"),
    ("options-echoed", "A. red\nB. blue\nC. green", COLORS, U, "names 3 options"),
    ("two-boxed", r"\boxed{A} or maybe \boxed{B}", COLORS, U, "names two options: A, B"),
    ("boxed-vs-tag", r"<answer>A</answer> \boxed{B}", COLORS, U, "names two options: A, B"),
    ("boxed-or", r"\boxed{A \text{ or } C}", COLORS, U, "names two options: A, C"),
    ("answer-is-a-or-b", "The answer is A or B.", COLORS, U, "names two options: A, B"),
    ("answer-changes", "The answer is A. Wait, the answer is B.", COLORS, U, "names two options"),
    ("letter-unlike-other", "B. The camera moves right, unlike A.", CAMERA, U, "names two"),
    ("letters-on-two-lines", "A\n\nB", COLORS, U, "names two options: A, B"),
    ("option-list-echo", "Option A: red\nOption B: blue", COLORS, U, "names two options: A, B"),
    ("bullet-list-echo", "- A. red\n- B. blue", COLORS, U, "names two options: A, B"),
    ("colon-list-echo", "B: blue\nC: green", COLORS, U, "names two options: B, C"),
    ("not-a-but-b", "A is not correct, B is.", COLORS, U, "names two options: A, B"),
    ("duplicate-option-texts", "blue", parse_options(["blue", "blue", "red"]), U, "names two"),
    # --- no option / not an option ----------------------------------------------------------
    ("empty", "", COLORS, U, "empty output"),
    ("whitespace", "   \n\t", COLORS, U, "empty output"),
    ("special-token-only", "<|im_end|>", COLORS, U, "empty output"),
    ("letter-not-option", "E.", COLORS, U, "E is not an option letter (A, B, C, D)"),
    ("letter-not-option-two", "C", TWO, U, "C is not an option letter (A, B)"),
    ("letter-not-option-six", "G", SIX, U, "not an option letter"),
    ("answer-not-option", "The answer is E.", COLORS, U, "E is not an option letter"),
    ("boxed-number", r"\boxed{42}", COLORS, U, "content is not an option: '42'"),
    ("boxed-not-option-letter", r"\boxed{E}", COLORS, U, "E is not an option letter"),
    ("boxed-empty", r"\boxed{}", COLORS, U, "content is not an option"),
    ("im-not-sure", "I'm not sure.", COLORS, U, "no option letter"),
    ("answer-not-clear", "The answer is not clear from the video.", COLORS, U, "no option letter"),
    ("answer-is-that", "The answer is that the camera moves.", CAMERA, U, "no option letter"),
    ("to-answer-this", "To answer this question, we watch the video.", CAMERA, U, "no option"),
    ("prompt-echo", INSTRUCTION, COLORS, U, "no option letter"),
    # --- false positives: English "a" / "I" and other words -------------------------------
    ("a-person-walks", "A person walks to the left.", PEOPLE, U, "no option letter"),
    ("a-red-ball", "A red ball moves left", COLORS, U, "no option letter"),
    ("lower-a-red-ball", "a red ball", COLORS, U, "no option letter"),
    ("answer-colon-article", "Answer: A red ball rolls away", COLORS, U, "no option letter"),
    ("answer-is-article", "The answer is a ball rolling left", COLORS, U, "no option letter"),
    ("its-a-ball", "It's a ball.", COLORS, U, "no option letter"),
    ("i-think-prose", "I think the ball is moving.", NINE, U, "no option letter"),
    ("i-alone-not-option", "I.", COLORS, U, "I is not an option letter"),
    ("a-possessive", "A's trajectory curves upward", COLORS, U, "no option letter"),
    ("abbreviation", "E.g. the camera pans", SIX, U, "no option letter"),
    ("hyphen-word", "X-axis motion dominates", COLORS, U, "no option letter"),
    ("letter-is-wrong", "B is wrong.", COLORS, U, "no option letter"),
    ("letter-is-not", "C is not what happens.", COLORS, U, "no option letter"),
    # --- unicode and whitespace noise -------------------------------------------------------
    ("fullwidth-letter", "Ｂ", COLORS, "B", "bare"),
    ("fullwidth-parens", "（C）", COLORS, "C", "bare"),
    ("zero-width", "\u200bB\u200b", COLORS, "B", "bare"),
    ("nbsp", "\u00a0B\u00a0", COLORS, "B", "bare"),
    ("bom-crlf", "\ufeffAnswer:\r\n C\r\n", COLORS, "C", "answer_is"),
    ("im-end", "B<|im_end|>", COLORS, "B", "bare"),
    ("eos", "B</s>", COLORS, "B", "bare"),
    ("seg-token", "C [SEG]", COLORS, "C", "bare"),
    ("curly-apostrophe", "I think it\u2019s D", COLORS, "D", "answer_is"),
    # --- very long outputs -------------------------------------------------------------------
    ("long-then-answer", LONG_PROSE + "\nAnswer: C", CAMERA, "C", "answer_is"),
    ("long-then-boxed", LONG_PROSE + r"\boxed{A}", CAMERA, "A", "boxed"),
    ("long-no-answer", LONG_PROSE, CAMERA, U, "no option letter"),
    ("long-think", "<think>" + "A or B? " * 2000 + "</think>D", COLORS, "D", "bare"),
    ("long-letter-first", "B\n" + LONG_PROSE, CAMERA, "B", "leading"),
    # --- Chinese answer phrases ---------------------------------------------------------------
    ("zh-xuan", "选B", COLORS, "B", "answer_is"),
    ("zh-wo-xuanze", "我选择A", COLORS, "A", "answer_is"),
    ("zh-option-correct", "选项B正确", COLORS, "B", "answer_is"),
    ("zh-yinggai-xuan", "应该选C", COLORS, "C", "answer_is"),
    ("zh-da-colon", "答：A", COLORS, "A", "answer_is"),
    ("zh-option-paren", "选项 (D)", COLORS, "D", "answer_is"),
    ("zh-answer-shi-stop", "答案是B。", COLORS, "B", "answer_is"),
    ("zh-correct-answer-should", "正确答案应该是C", COLORS, "C", "answer_is"),
    ("zh-xuan-because", "选B，因为摄像机向右移动。", CAMERA, "B", "answer_is"),
    ("zh-suoyi-xuan", "摄像机没有移动，所以选C", CAMERA, "C", "answer_is"),
    ("zh-wrong-then-right", "选项A错误，选项B正确", COLORS, "B", "answer_is"),
    ("zh-not-choose", "不选C", COLORS, U, "no option letter"),
    ("zh-should-not-choose", "不应该选C", COLORS, U, "no option letter"),
    ("zh-option-wrong", "选项A错误", COLORS, U, "no option letter"),
    ("zh-two-joined", "选项A和B都正确", COLORS, U, "names two options: A, B"),
    ("zh-or", "选A或B", COLORS, U, "names two options: A, B"),
    ("zh-haishi", "选A还是B呢？", COLORS, U, "names two options: A, B"),
    ("zh-xuan-bu-dui", "选A不对", COLORS, U, "no option letter"),
    ("zh-no-correct-option", "选项中没有正确答案", COLORS, U, "no option letter"),
    ("zh-unsure", "我不确定", COLORS, U, "no option letter"),
    ("zh-multiple-choice-word", "这是一道选择题", COLORS, U, "no option letter"),
    # --- an answer that echoes its option's text, capitals and full-width punctuation ---------
    ("echo-capital-in-text", "C. it stays at point A", POINTS, "C", "leading"),
    ("echo-two-capitals", "B. it moves from point B to point A", POINTS, "B", "leading"),
    ("echo-capitalised-dot", "B. It moves from point B to point A.", POINTS, "B", "leading"),
    ("echo-paren-fullwidth-stop", "(C) it stays at point A。", POINTS, "C", "leading"),
    ("echo-answer-is", "The answer is C. it stays at point A", POINTS, "C", "answer_is"),
    ("echo-text-only", "it stays at point A", POINTS, "C", "option_text"),
    ("echo-text-fullwidth-stop", "it stays at point A。", POINTS, "C", "option_text"),
    ("echo-other-text", "C. it stays at point B", POINTS, U, "names two options: C, D"),
    ("echo-then-other-letter", "C. it stays at point A, unlike B", POINTS, U, "names two"),
    ("echo-two-lines", "C. it stays at point A\nD. it stays at point B", POINTS, U, "names"),
    ("fullwidth-stop-text", "blue。", COLORS, "B", "option_text"),
    ("fullwidth-stop-letter", "B。", COLORS, "B", "bare"),
    ("fullwidth-sentence", "The camera moves right。", CAMERA, "B", "option_text"),
    ("corner-quotes", "「B」", COLORS, "B", "bare"),
    # --- braces, markdown, JSON -------------------------------------------------------------
    ("braces", "{B}", COLORS, "B", "bare"),
    ("braces-lower", "{ c }", COLORS, "C", "bare"),
    ("braces-after-answer", "Answer: {D}", COLORS, "D", "answer_is"),
    ("braces-two", "{A} or {B}", COLORS, U, "names two options: A, B"),
    ("md-heading-answer", "### Answer\nB", COLORS, "B", "answer_is"),
    ("md-heading-final-bold", "## Final Answer\n\n**C**", COLORS, "C", "answer_is"),
    ("md-bold-label-line", "**Answer**\nD", COLORS, "D", "answer_is"),
    ("md-bold-colon-line", "**Answer:**\nA", COLORS, "A", "answer_is"),
    ("md-bullet-bold", "- **B**", COLORS, "B", "bare"),
    ("md-bullet-star-text", "* B. blue", COLORS, "B", "leading"),
    ("md-heading-letter", "### B", COLORS, "B", "bare"),
    ("md-quote", "> C", COLORS, "C", "bare"),
    ("md-bullets-two", "- **A**\n- **B**", COLORS, U, "names two options: A, B"),
    ("json", '{"answer": "B"}', COLORS, "B", "answer_is"),
    ("json-single-quotes", "{'answer': 'C'}", COLORS, "C", "answer_is"),
    ("json-with-reason", '{"answer": "B", "reason": "the car is on the left in A"}', COLORS,
     "B", "answer_is"),
    ("json-fenced", '```json\n{"answer": "d"}\n```', COLORS, "D", "answer_is"),
    ("json-text", '{"answer": "blue"}', COLORS, "B", "answer_is"),
    ("json-not-option", '{"answer": "E"}', COLORS, U, "E is not an option letter"),
    ("json-list", '{"answer": ["A", "B"]}', COLORS, U, "names two options: A, B"),
    # --- adverbs, hedges and negations ----------------------------------------------------
    ("adverb-clearly", "The answer is clearly D.", COLORS, "D", "answer_is"),
    ("adverb-most-likely", "The answer is most likely C.", COLORS, "C", "answer_is"),
    ("adverb-option-probably", "The correct option is probably (B).", COLORS, "B", "answer_is"),
    ("adverb-obviously-not-other", "The answer is obviously B, not A.", COLORS, "B",
     "answer_is"),
    ("adverb-after-colon", "Answer: definitely A", COLORS, "A", "answer_is"),
    ("adverb-its-probably", "It's probably B.", COLORS, "B", "answer_is"),
    ("hedge-probably", "Probably B.", COLORS, "B", "answer_is"),
    ("hedge-most-likely", "Most likely C.", COLORS, "C", "answer_is"),
    ("hedge-maybe", "Maybe D?", COLORS, "D", "answer_is"),
    ("hedge-perhaps-a", "Perhaps A", COLORS, "A", "answer_is"),
    ("hedge-i-guess", "I guess B", COLORS, "B", "answer_is"),
    ("hedge-after-letter", "B, probably.", COLORS, "B", "leading"),
    ("hedge-two", "Probably B or C", COLORS, U, "names two options: B, C"),
    ("hedge-other-mentioned", "Probably B, but A is also possible.", COLORS, U, "names two"),
    ("hedge-article", "Probably a ball rolling away", COLORS, U, "no option letter"),
    ("negated-definitely-not", "definitely not C", COLORS, U, "no option letter"),
    ("negated-probably-not", "Probably not C.", COLORS, U, "no option letter"),
    ("negated-answer-definitely-not", "The answer is definitely not C.", COLORS, U,
     "no option letter"),
    ("negated-its-not", "It's not A.", COLORS, U, "no option letter"),
    ("negated-dont-think", "I don't think it's B.", COLORS, U, "no option letter"),
    ("negated-then-answer", "It's not A, it's B.", COLORS, "B", "answer_is"),
    ("negated-not-letter", "Not C.", COLORS, U, "no option letter"),
    # --- a final line holding the letter after an echoed prompt ---------------------------
    ("echo-prompt-letter", build_qa_prompt("What colour is the car?", COLORS) + "\nB", COLORS,
     "B", "bare"),
    ("echo-prompt-blank-line-letter",
     build_qa_prompt("Where does it go?", CAMERA) + "\n\n(C)", CAMERA, "C", "bare"),
    ("echo-options-letter", "A. red\nB. blue\nC. green\nD. yellow\nD", COLORS, "D", "bare"),
    ("echo-prompt-text", build_qa_prompt("Which colour?", COLORS) + "\nblue", COLORS, "B",
     "option_text"),
    ("echo-instruction-only", INSTRUCTION + "\nC", COLORS, "C", "bare"),
    ("echo-prompt-two", build_qa_prompt("Which colour?", COLORS) + "\nA or B", COLORS, U,
     "names two"),
    ("echo-prompt-nothing", build_qa_prompt("Which colour?", COLORS), COLORS, U, "names 4 options"),
    ("echo-options-nothing", "A. red\nB. blue\nC. green\nD. yellow", COLORS, U,
     "names 4 options"),
]


@pytest.mark.parametrize(
    ("output", "options", "letter", "detail"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_extract_letter(output: str, options, letter: str | None, detail: str) -> None:
    got = extract_letter(output, options)
    assert got.letter == letter, got
    if letter is None:
        assert got.method == "unparsed"
        assert detail in got.reason, got
    else:
        assert got.method == detail, got
        assert got.reason == ""


def test_table_is_large_and_ids_unique() -> None:
    ids = [case[0] for case in CASES]
    assert len(ids) >= 80
    assert len(set(ids)) == len(ids)


LETTER_FORMS = [
    "{L}",
    "{l}",
    "{L}.",
    "({L})",
    "({l})",
    "{L})",
    "{L}: {text}",
    "{L}. {text}",
    "{l}) {text}",
    "**{L}**",
    "Answer: {L}",
    "answer: ({l})",
    "The answer is ({L}).",
    "The correct option is {L}",
    "The answer is {l}.",
    r"\boxed{{{L}}}",
    r"\boxed{{\text{{{L}}}}}",
    "<answer>{L}</answer>",
    "<answer> ({L}) {text} </answer>",
    "<think>hmm, not sure</think>\n{L}",
    "{text}",
    "{Text}.",
]


@pytest.mark.parametrize("options", [TWO, THREE_PLAIN, COLORS, FIVE, SIX], ids=len)
@pytest.mark.parametrize("form", LETTER_FORMS)
def test_every_form_for_every_option(form: str, options) -> None:
    for option in options:
        output = form.format(
            L=option.letter, l=option.letter.lower(), text=option.text, Text=option.text.title()
        )
        got = extract_letter(output, options)
        assert got.letter == option.letter, (output, got)


def test_never_guesses_on_letterless_noise() -> None:
    rng = random.Random(1234)
    words = ["the", "camera", "moves", "slowly", "while", "people", "walk", "around", "it"]
    for _ in range(200):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 30)))
        assert extract_letter(text, COLORS) == Extraction(
            None, "unparsed", "no option letter found"
        )


@pytest.mark.parametrize(
    ("output", "letter"),
    [
        ("A or " * 20_000, "A"),  # was a RecursionError: joined letters are read in a loop
        ("A, B, " * 20_000, None),
        (r"\boxed{" * 3_000 + "B" + "}" * 3_000, None),  # nested beyond any real answer
        (r"\boxed{" * 3_000, None),  # unclosed braces
        ("Answer: " * 10_000, None),
        ("I think " * 10_000, None),
        ("A " * 50_000, None),
        ("<think></think>" * 10_000 + "B", "B"),
    ],
    ids=lambda v: v[:12] if isinstance(v, str) else str(v),
)
def test_pathological_outputs_finish_quickly(output: str, letter: str | None) -> None:
    start = time.perf_counter()
    assert extract_letter(output, COLORS).letter == letter
    assert time.perf_counter() - start < 5.0  # was minutes when some scans were quadratic


@pytest.mark.parametrize(
    ("output", "letter"),
    [
        ("选" * 50_000, None),  # one cue per character
        ("Probably " * 10_000, None),  # each hedge once read every later one as an adverb
        ('{"answer": ' * 10_000, None),
        ("### Answer\n" * 10_000, None),
        ("A. red\nB. blue\nC. green\nD. yellow\n" * 3_000 + "B", "B"),  # echoed options
        ("The answer is " + "clearly " * 20_000 + "B", None),  # at most three adverbs
    ],
    ids=lambda v: v[:12] if isinstance(v, str) else str(v),
)
def test_pathological_cues_are_read_in_bounded_work(output: str, letter: str | None) -> None:
    assert extract_letter(output, COLORS).letter == letter


def test_deterministic() -> None:
    text = "<think>A or C</think> Final answer: (c)"
    assert {extract_letter(text, COLORS) for _ in range(5)} == {Extraction("C", "answer_is")}


def test_extraction_parsed_flag() -> None:
    assert extract_letter("B", COLORS).parsed
    assert not extract_letter("", COLORS).parsed


def test_extract_letter_wants_option_objects() -> None:
    with pytest.raises(TypeError, match="parse_options"):
        extract_letter("A", ["A. red", "B. blue"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        extract_letter("A", [])


def test_extract_letter_accepts_none_text_as_empty() -> None:
    assert extract_letter(None, COLORS).reason == "empty output"  # type: ignore[arg-type]


# ------------------------------------------------------------------ options and prompt


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["A. red", "B) blue", "c. green"], [("A", "red"), ("B", "blue"), ("C", "green")]),
        (["(A) red", "(b) blue"], [("A", "red"), ("B", "blue")]),
        (["A: red", "B:blue"], [("A", "red"), ("B", "blue")]),
        (["A.  red  ", " B. blue"], [("A", "red"), ("B", "blue")]),
        (["red", "blue", "green"], [("A", "red"), ("B", "blue"), ("C", "green")]),
        (["a dog runs", "a cat sits"], [("A", "a dog runs"), ("B", "a cat sits")]),
        (["C. x", "A. y"], [("C", "x"), ("A", "y")]),
        (["Ａ．red", "（Ｂ）blue"], [("A", "red"), ("B", "blue")]),
    ],
)
def test_parse_options(raw: list[str], expected: list[tuple[str, str]]) -> None:
    got = parse_options(raw)
    assert isinstance(got, tuple)
    assert [(o.letter, o.text) for o in got] == expected


def test_parse_options_mixed_prefixes_is_an_error() -> None:
    with pytest.raises(ValueError, match="mix letter prefixes and plain text.*'blue'"):
        parse_options(["A. red", "blue", "C. green"])


def test_parse_options_repeated_letters_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"letters repeat \(A\)"):
        parse_options(["A. red", "a) blue"])


@pytest.mark.parametrize(
    ("raw", "error"),
    [([], ValueError), ("A. red", TypeError), ([f"o{i}" for i in range(27)], ValueError)],
)
def test_parse_options_bad_input(raw, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_options(raw)


def test_option_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        COLORS[0].letter = "Z"  # type: ignore[misc]


def test_format_options() -> None:
    assert format_options(parse_options(["a) red", "(B) blue"])) == ("A. red", "B. blue")
    assert format_options([Option("A", "red"), Option("B", "blue")]) == ("A. red", "B. blue")


def test_build_qa_prompt_exact() -> None:
    options = parse_options(["A) left", "b. right"])
    assert build_qa_prompt("Where does the camera move?", options) == (
        "Where does the camera move?\nA. left\nB. right\n"
        "Answer with the option's letter from the given choices directly."
    )


def test_build_qa_prompt_matches_reference_for_canonical_options() -> None:
    raw = ["A. red", "B. blue"]
    reference = (
        "Q?"
        + "\n"
        + "\n".join(raw)
        + "\nAnswer with the option's letter from the given choices directly."
    )
    assert build_qa_prompt("Q?", parse_options(raw)) == reference


# ------------------------------------------------------------------ reference matcher


@pytest.mark.parametrize(
    ("output", "token"),
    [
        ("B", "B"),
        ("b.", "B"),
        ("  c,\n", "C"),
        ("A: red", "A"),
        ("A. The camera moves left", "A"),
        ("(A)", "(A)"),
        ("A)", "A)"),
        ("**B**", "**B**"),
        ("The answer is A.", "THE"),
        (r"\boxed{B}", "\\BOXED{B}"),
        ("<answer>C</answer>", "<ANSWER>C</ANSWER>"),
        ("<think>so B</think> B", "<THINK>SO"),
        ("blue", "BLUE"),
        ("...", ""),
        ("", None),
        (" \n\t", None),
    ],
)
def test_reference_first_token(output: str, token: str | None) -> None:
    assert reference_first_token(output) == token


@pytest.mark.parametrize(
    "output",
    [
        "(B)",
        "B)",
        "The answer is B.",
        r"\boxed{B}",
        "<answer>B</answer>",
        "<think>A?</think>B",
        "blue",
    ],
)
def test_reference_misscores_what_extraction_reads(output: str) -> None:
    assert reference_first_token(output) != "B"
    assert extract_letter(output, COLORS).letter == "B"


# ------------------------------------------------------------------ realistic variants


def _failures(rows, expected) -> dict[str, list]:
    out: dict[str, list] = {}
    for family, output, options, want in rows:
        got = extract_letter(output, options)
        if got.letter != want:
            out.setdefault(family, []).append((output, want, got))
    return out


def test_realistic_variants_are_read() -> None:
    rows = [(f, out, opts, letter) for f, out, letter, opts in
            answer_variants.positives(random.Random(7))]
    assert len(rows) > 5000
    failures = _failures(rows, "letter")
    assert not failures, {f: v[:3] for f, v in failures.items()}


def test_realistic_variants_that_name_no_single_option_are_unparsed() -> None:
    rows = [(f, out, opts, None) for f, out, opts in answer_variants.negatives(random.Random(8))]
    assert len(rows) > 1000
    failures = _failures(rows, None)
    assert not failures, {f: v[:3] for f, v in failures.items()}
