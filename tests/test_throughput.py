"""QA throughput machinery of the transformers-native adapters, on tiny real architectures.

The cached path (preprocessing cache + video-prefix KV cache + ``warm`` prefetch) must give
the same greedy tokens as the plain per-question path, preprocess each video once, keep one
prefix (the current video's) and free it when the video changes. ``answer_logits`` must pick
the letter a manual forward pass ranks first. The benchmark script runs in ``--tiny`` mode.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dynbench.adapters.base import QARequest, Video
from dynbench.adapters.registry import create_adapter
from dynbench.modelspec import ModelSpec

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = ("qwen2_5_vl", "qwen3_vl", "internvl_hf")
GEN = {"max_new_tokens": 6, "min_new_tokens": 6}  # six tokens each, eos or not
PLAIN = {"prefix_cache": False, "preprocess_cache": False}
QUESTIONS = [
    ("Q?", ("A. yes", "B. no")),
    ("How does the camera move?", ("A. left", "B. right", "C. it stays still")),
    ("Which object is the fastest one?", ("A. the red car", "B. the dog", "C. the bus",
                                          "D. none")),
]


SHORT = QARequest("src/scene/qa/short", "Q?", ("A. yes", "B. no"), "Q?")  # bare prompt


def request(i: int) -> QARequest:
    question, options = QUESTIONS[i % len(QUESTIONS)]
    prompt = question + "\n" + "\n".join(options) + "\nAnswer with the option's letter."
    return QARequest(f"src/scene/qa/q{i}", question, options, prompt)


def make_video(key: str, n: int, size: tuple[int, int], seed: int) -> Video:
    rng = np.random.default_rng(seed)
    frames = [Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
              for _ in range(n)]
    return Video(key=key, frames=frames, frame_indices=list(range(0, 2 * n, 2)),
                 paths=[Path(f"frame_{i:04d}.jpg") for i in range(n)])


@pytest.fixture(scope="module")
def adapters(tiny):
    """(cached, plain) adapters per family, loaded once for the module."""
    loaded: dict[tuple[str, bool], object] = {}

    def get(family: str, cached: bool = True, **generation):
        key = (family, cached, tuple(sorted(generation.items())))
        if key not in loaded:
            settings = {**GEN, **generation, **({} if cached else PLAIN)}
            adapter = create_adapter(ModelSpec(name=str(tiny(family)), generation=settings))
            adapter.load()
            loaded[key] = adapter
        return loaded[key]

    yield get
    for adapter in loaded.values():
        adapter.close()


def videos_for(family: str, tag: str) -> list[Video]:
    videos = [make_video(f"src/{tag}-a", 3, (64, 48), 1),
              make_video(f"src/{tag}-b", 5, (80, 60), 2)]
    if family == "qwen2_5_vl":  # long video, short suffix: see test below
        videos.append(make_video(f"src/{tag}-long", 40, (28, 28), 3))
    return videos


# --- identical greedy outputs ---------------------------------------------------------------
@pytest.mark.parametrize("family", [*FAMILIES, "qwen3_vl_moe"])
def test_cached_path_matches_plain_path(adapters, family):
    cached, plain = adapters(family), adapters(family, cached=False)
    assert cached.describe()["qa_path"] == "prefix_cache"
    assert plain.describe()["qa_path"] == "plain"
    before = dict(cached.stats)
    videos = videos_for(family, "same")
    asked = [request(i) for i in range(len(QUESTIONS))] + [SHORT]
    reused = 0
    for video in videos:
        questions = [SHORT, asked[0]] if video.key.endswith("long") else asked
        reused += len(questions) - 1
        for i, req in enumerate(questions):
            fast = cached.answer(video, req)
            fast_call = cached.last_call
            slow = plain.answer(video, req)
            assert plain.last_call["path"] == "plain"
            assert fast_call["path"] == "prefix_cache"
            assert fast_call["prefix"] == ("built" if i == 0 else "reused")
            assert fast_call["prompt"] == plain.last_call["prompt"]
            assert len(fast_call["generated_ids"]) == 6
            assert fast_call["generated_ids"] == plain.last_call["generated_ids"], \
                (video.key, i)
            assert fast == slow
    n = len(videos)
    assert cached.stats["prefix_built"] - before["prefix_built"] == n
    assert cached.stats["prefix_reused"] - before["prefix_reused"] == reused


def test_mrope_positions_when_video_outlasts_the_text(adapters):
    """40 frames, short suffix: decoding positions are M-RoPE ones, not sequence indices, and
    under transformers 5.x the temporal index of the last frames even exceeds every text
    position (5.x places text after a video differently from 4.57, where text resumes after
    the largest vision index); the cached path still matches (checked in the test above on
    this very video, under either major)."""
    import transformers

    adapter = adapters("qwen2_5_vl")
    video = make_video("src/long-check", 40, (28, 28), 3)
    inputs, _ = adapter._inputs(video, SHORT)
    rows = adapter.positions(inputs)[-3:, 0]  # (t, h, w); 5.x puts a text row first
    split = adapter.prefix_length(inputs["input_ids"])
    length = inputs["input_ids"].shape[1]
    assert int(rows[:, -1].max()) != length - 1
    if int(transformers.__version__.split(".")[0]) >= 5:
        assert int(rows[:, :split].max()) > int(rows[:, -1].max())
    else:
        assert int(rows[:, -1].max()) == int(rows[:, :split].max()) + length - split


def test_sampling_keys_never_reach_generate(adapters):
    adapter = adapters("qwen2_5_vl")
    assert "prefix_cache" not in adapter.generation
    assert "preprocess_cache" not in adapter.describe()["generation"]


# --- preprocessing once, one prefix, freed on change ---------------------------------------------
def test_preprocessing_runs_once_per_video(adapters):
    adapter = adapters("qwen2_5_vl")
    a, b = make_video("src/once-a", 3, (64, 48), 4), make_video("src/once-b", 4, (64, 48), 5)
    calls = adapter._recorder.calls
    for video in (a, b):
        for i in range(3):
            adapter.answer(video, request(i))
    assert adapter._recorder.calls - calls == 2
    assert len(adapter._features) <= 2


def test_prefix_is_freed_when_the_video_changes(adapters):
    adapter = adapters("qwen3_vl")
    a, b = make_video("src/free-a", 3, (64, 48), 6), make_video("src/free-b", 3, (64, 48), 7)
    adapter.answer(a, request(0))
    adapter.answer(a, request(1))
    assert adapter._prefix.key[0] == "src/free-a"
    old = weakref.ref(adapter._prefix.cache)
    adapter.answer(b, request(0))
    gc.collect()
    assert old() is None  # the previous video's KV cache is gone
    assert adapter._prefix.key[0] == "src/free-b" and adapter.last_call["prefix"] == "built"


def test_same_key_other_frames_is_not_reused(adapters):
    """The cache key pins the frame objects: a re-decoded or different video with the same
    key and indices is preprocessed and prefilled again, never served stale tensors."""
    cached, plain = adapters("qwen2_5_vl"), adapters("qwen2_5_vl", cached=False)
    first = make_video("src/same-key", 3, (64, 48), 8)
    other = make_video("src/same-key", 3, (64, 48), 9)
    cached.answer(first, request(0))
    assert cached.answer(other, request(0)) == plain.answer(other, request(0))
    assert cached.last_call["prefix"] == "built"
    assert cached.last_call["generated_ids"] == plain.last_call["generated_ids"]


def test_warm_prefetches_the_next_video(adapters):
    adapter, plain = adapters("internvl_hf"), adapters("internvl_hf", cached=False)
    current = make_video("src/warm-a", 3, (64, 48), 10)
    following = make_video("src/warm-b", 4, (64, 48), 11)
    adapter.answer(current, request(0))
    calls = adapter._recorder.calls
    adapter.warm(lambda: following)  # a callable: decoding may happen there too
    adapter.answer(current, request(1))  # the current video is still served from its cache
    adapter._warm_future.result(timeout=60)
    assert adapter._recorder.calls - calls == 1  # the background job preprocessed it
    for i in range(2):
        assert adapter.answer(following, request(i)) == plain.answer(following, request(i))
        assert adapter.last_call["generated_ids"] == plain.last_call["generated_ids"]
    assert adapter._recorder.calls - calls == 1  # and nothing ran again
    adapter.warm(following)  # already there: no new work
    adapter._warm_future.result(timeout=60)
    assert adapter._recorder.calls - calls == 1


def test_plain_adapter_installs_no_proxies(adapters):
    plain = adapters("qwen2_5_vl", cached=False)
    assert plain._recorder is None
    assert type(plain.processor.video_processor).__name__ == "Qwen2VLVideoProcessor"
    plain.warm(make_video("src/noop", 2, (64, 48), 12))  # a no-op without the cache
    assert plain._warm_future is None


def test_failing_cached_path_falls_back_to_plain(tiny):
    adapter = create_adapter(ModelSpec(name=str(tiny("qwen2_5_vl")), generation=dict(GEN)))
    adapter.load()
    plain = create_adapter(ModelSpec(name=str(tiny("qwen2_5_vl")), generation={**GEN, **PLAIN}))
    plain.load()

    def broken(*_args, **_kwargs):
        raise TypeError("unexpected keyword argument 'position_ids'")

    adapter._prefill = broken
    video = make_video("src/fallback", 3, (64, 48), 13)
    assert adapter.answer(video, request(0)) == plain.answer(video, request(0))
    facts = adapter.describe()
    assert adapter.last_call["path"] == "plain" and facts["qa_path"] == "plain"
    assert "position_ids" in facts["prefix_cache_off"]
    adapter.answer(video, request(1))  # stays on the plain path
    assert adapter.last_call["path"] == "plain"


def test_input_that_fails_both_paths_keeps_the_cache_on(tiny):
    adapter = create_adapter(ModelSpec(name=str(tiny("qwen2_5_vl")), generation=dict(GEN)))
    adapter.load()

    def broken(*_args, **_kwargs):
        raise ValueError("this input is broken")

    adapter._prefill = adapter.generate = broken
    with pytest.raises(ValueError, match="broken"):
        adapter.answer(make_video("src/bad", 2, (64, 48), 16), request(0))
    assert adapter._prefix_off is None and adapter.describe()["qa_path"] == "prefix_cache"


# --- logits mode ----------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_answer_logits_picks_the_argmax_letter(adapters, family):
    import torch

    cached, plain = adapters(family), adapters(family, cached=False)
    video = make_video(f"src/logits-{family}", 3, (64, 48), 14)
    for i in range(len(QUESTIONS)):
        req = request(i)
        # manual: one full forward pass of the plain prompt, logits after its last token
        frames = plain.prepare_frames(video)
        prompt = plain.render_prompt(req.prompt + plain.prompt_suffix, frames)
        inputs = plain.processor(text=[prompt], return_tensors="pt",
                                 **plain.visual_inputs(frames, video))
        with torch.inference_mode():
            logits = plain.model(**plain._to_model(inputs)).logits[0, -1]
        tokenizer = plain.processor.tokenizer
        letters = [o[0] for o in req.options]
        ids = [tokenizer.convert_tokens_to_ids(letter) for letter in letters]
        scores = logits[ids]
        expected = letters[int(scores.argmax())]
        assert plain.answer_logits(video, req) == expected
        assert cached.answer_logits(video, req) == expected
        assert cached.last_call["path"] == "prefix_cache"
        assert cached.last_call["letter_token_ids"] == ids
        got = torch.tensor([cached.last_call["letter_scores"][x] for x in letters])
        torch.testing.assert_close(got, scores.float(), rtol=1e-4, atol=1e-4)


def test_answer_logits_needs_options(adapters):
    adapter = adapters("qwen2_5_vl")
    req = QARequest("src/x/qa/q0", "Q?", (), "Q?")
    with pytest.raises(ValueError, match="needs options"):
        adapter.answer_logits(make_video("src/no-options", 2, (64, 48), 15), req)


# --- the benchmark script -------------------------------------------------------------------
def test_benchmark_script_tiny(tmp_path):
    out = tmp_path / "bench.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_qa_throughput.py"), "--tiny",
         "--videos", "2", "--questions", "2", "--frames", "3", "--size", "96x72",
         "--json", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "q/s" in proc.stdout and "RESULT " in proc.stdout
    result = json.loads(out.read_text())
    modes = {row["mode"]: row for row in result["modes"]}
    assert set(modes) == {"reference", "suite"}
    assert modes["suite"]["agree_ids_pct"] == 100.0
    assert modes["suite"]["cache_stats"]["prefix_reused"] >= 2
    assert [r["ids"] for r in result["outputs"]["suite"]] == \
        [r["ids"] for r in result["outputs"]["reference"]]
