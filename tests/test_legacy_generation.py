"""transformers-4.49 generation for pre-4.50 remote LLM classes (Sa2VA-8B's InternLM2).

``OldStyleLM`` reproduces the traits of the real ``modeling_internlm2.py`` the shim depends
on: it inherits ``GenerationMixin`` only through its ``PreTrainedModel`` base class (so
transformers >= 4.50 gives it no generation config), its
``prepare_inputs_for_generation`` indexes ``past_key_values`` as the legacy tuple cache and
keeps only the inputs it knows (no ``output_hidden_states``), and its forward returns the
legacy tuple cache. Under transformers 4.57 it fails where the real code fails; restored, its
greedy tokens and hidden states equal a plain loop over the full sequence without a cache.
"""

from __future__ import annotations

import pytest
import torch

from dynbench.adapters import legacy_generation
from tests.remote_helpers import TF_MAJOR

pytestmark = pytest.mark.skipif(TF_MAJOR >= 5, reason="pre-4.50 remote code cannot load under "
                                                      "transformers 5 at all")
VOCAB, HIDDEN = 50, 16


def old_style_lm():
    from transformers import GenerationMixin, PretrainedConfig, PreTrainedModel
    from transformers.modeling_outputs import CausalLMOutputWithPast

    class OldStyleConfig(PretrainedConfig):
        model_type = "old_style_lm"

        def __init__(self, **kwargs):
            kwargs.setdefault("eos_token_id", 0)
            kwargs.setdefault("bos_token_id", 1)
            kwargs.setdefault("num_hidden_layers", 1)  # what a default DynamicCache reads
            super().__init__(**kwargs)

    class OldStylePreTrainedModel(PreTrainedModel, GenerationMixin):  # as InternLM2's
        config_class = OldStyleConfig

    class OldStyleLM(OldStylePreTrainedModel):

        def __init__(self, config):
            super().__init__(config)
            self.embed = torch.nn.Embedding(VOCAB, HIDDEN)
            self.mix = torch.nn.Linear(2 * HIDDEN, HIDDEN)
            self.head = torch.nn.Linear(HIDDEN, VOCAB, bias=False)

        def get_input_embeddings(self):
            return self.embed

        def forward(self, input_ids=None, inputs_embeds=None, past_key_values=None,
                    use_cache=None, output_hidden_states=None, return_dict=None, **kwargs):
            x = self.embed(input_ids) if inputs_embeds is None else inputs_embeds
            prefix = past_key_values[0][0] if past_key_values is not None else x[:, :0]
            seq = torch.cat([prefix, x], dim=1)  # the "cache" is every input embedding so far
            context = seq.cumsum(1) / torch.arange(1, seq.shape[1] + 1).view(1, -1, 1)
            h = torch.tanh(self.mix(torch.cat([seq, context], -1)))[:, -x.shape[1]:]
            return CausalLMOutputWithPast(
                logits=self.head(h), past_key_values=((seq, seq),) if use_cache else None,
                hidden_states=(x, h) if output_hidden_states else None)

        def prepare_inputs_for_generation(self, input_ids, past_key_values=None,
                                          attention_mask=None, inputs_embeds=None, **kwargs):
            if past_key_values is not None:
                past_length = past_key_values[0][0].shape[1]  # the legacy tuple cache
                input_ids = input_ids[:, past_length:] if input_ids.shape[1] > past_length \
                    else input_ids[:, -1:]
            if inputs_embeds is not None and past_key_values is None:
                inputs = {"inputs_embeds": inputs_embeds}
            else:
                inputs = {"input_ids": input_ids}
            inputs.update({"past_key_values": past_key_values,
                           "use_cache": kwargs.get("use_cache"),
                           "attention_mask": attention_mask})
            return inputs  # output_hidden_states dropped, as the real code does

    torch.manual_seed(0)
    return OldStyleLM(OldStyleConfig()).eval()


def reference_greedy(model, prompt: torch.Tensor, steps: int):
    """Greedy decoding by hand: the full sequence every step, no cache."""
    embeds = model.embed(prompt)
    tokens, hidden = [], []
    for _ in range(steps):
        out = model(inputs_embeds=embeds, output_hidden_states=True)
        token = out.logits[:, -1].argmax(-1)
        tokens.append(int(token))
        hidden.append(out.hidden_states[-1][0, -1])
        if int(token) == model.config.eos_token_id:
            break
        embeds = torch.cat([embeds, model.embed(token)[:, None]], 1)
    return tokens, hidden


def test_the_stand_in_fails_where_the_real_code_fails():
    from transformers import GenerationConfig

    model = old_style_lm()
    assert model.generation_config is None and legacy_generation.needs_restoring(model)
    embeds = model.embed(torch.tensor([[1, 5, 7]]))
    with pytest.raises(AttributeError):  # 1. no generation_config
        model.generate(inputs_embeds=embeds, max_new_tokens=3)
    model.generation_config = GenerationConfig.from_model_config(model.config)
    with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'shape'"):
        # 2. the empty DynamicCache indexed as legacy tuples, as in modeling_internlm2.py
        model.generate(inputs_embeds=embeds, max_new_tokens=3, do_sample=False)


@torch.no_grad()
def test_restored_generation_equals_greedy_without_cache():
    model = old_style_lm()
    legacy_generation.restore(model)
    assert not legacy_generation.needs_restoring(model)
    assert type(model).__name__ == "OldStyleLM" and model.generation_config.eos_token_id == 0
    prompt = torch.tensor([[1, 5, 7, 9]])
    out = model.generate(inputs_embeds=model.embed(prompt), max_new_tokens=12, do_sample=False,
                         output_hidden_states=True, return_dict_in_generate=True)
    tokens, hidden = reference_greedy(model, prompt, 12)
    assert out.sequences[0].tolist() == tokens
    # every step's hidden states came back (Sa2VA reads item[-1][0] of each) and are the same
    assert len(out.hidden_states) == len(tokens)
    for step, want in zip(out.hidden_states, hidden, strict=True):
        assert torch.allclose(step[-1][0, -1], want, atol=1e-6)


def test_an_llm_that_can_generate_is_left_alone():
    from transformers import GenerationConfig

    model = old_style_lm()
    model.generation_config = GenerationConfig()
    assert not legacy_generation.needs_restoring(model)
    assert not legacy_generation.needs_restoring(None)
