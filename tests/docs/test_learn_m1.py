"""The numbers the M1 learning notes quote, checked on the programs the page shows."""

from __future__ import annotations

import torch

from folovllm import SamplingParams
from tests.docs.docs_tools import run_program

REPLACEMENT = "\ufffd"  # what a decoder prints for bytes that are not a whole UTF-8 character


def test_decode_intensity() -> None:
    ns = run_program("docs/snippets/m1/decode_intensity.py").namespace
    smol, qwen, ctx = ns["smol"], ns["qwen"], ns["CTX"]
    assert smol.params == 134_515_008 and smol.flops_per_token == 269_030_016
    assert round(smol.weight_bytes / 2**20, 1) == 256.6
    assert smol.attn_flops_per_ctx == 69_120 and smol.kv_per_token == 23_040
    assert qwen.params == 596_049_920 and qwen.flops_per_token == 1_192_099_840
    assert qwen.attn_flops_per_ctx == 229_376 and qwen.kv_per_token == 114_688
    # 2 x params also counts the norm weights, which do no matmul: 0.03 % of the parameters.
    assert 576 * (2 * 30 + 1) / smol.params < 0.0003
    # One decoding sequence without KV: 2 FLOPs per 2-byte weight; a batch of B: B per byte.
    assert all(smol.decode_intensity(b, 0) == b for b in (1, 8, 64, 256))
    assert qwen.decode_intensity(1, 0) == 1.0
    assert smol.flops_per_token / (4 * smol.params) == 0.5  # fp32 on CPU: 4-byte weights
    # Attention alone: query heads per KV head x 2 FLOPs per 2-byte element, whatever the batch.
    assert smol.attn_flops_per_ctx / smol.kv_per_token == 3.0   # 9 query heads / 3 KV heads
    assert qwen.attn_flops_per_ctx / qwen.kv_per_token == 2.0   # 16 / 8
    assert round(smol.prefill_intensity(512)) == 523 and round(qwen.prefill_intensity(512)) == 512
    ridge = ns["H100_FLOPS"] / ns["H100_BW"]
    assert round(ridge) == 295
    assert smol.prefill_intensity(512) > ridge > smol.decode_intensity(256, ctx)
    table = {s.name: [round(s.decode_intensity(b, ctx), 1) for b in ns["BATCHES"]]
             + [round(s.decode_limit(ctx), 1)] for s in (smol, qwen)}
    assert table["SmolLM2-135M"] == [1.2, 5.9, 10.6, 12.2, 13.8, 14.4]
    assert table["Qwen3-0.6B"] == [1.1, 5.4, 9.2, 10.5, 11.7, 12.2]
    # At this context, 11 SmolLM2 sequences (10 for Qwen3) read as many KV bytes as weights.
    assert smol.weight_bytes // (ctx * smol.kv_per_token) == 11
    assert qwen.weight_bytes // (ctx * qwen.kv_per_token) == 10
    for batch in (1, 64):  # decode is memory-bound there: the bytes, not the FLOPs, set the time
        flops, nbytes = qwen.decode(batch, ctx)
        assert nbytes / ns["H100_BW"] > flops / ns["H100_FLOPS"]
    one, sixty_four = qwen.ceiling(1, ctx), qwen.ceiling(64, ctx)
    assert (round(one), round(sixty_four)) == (2_558, 24_620) and round(sixty_four / one, 1) == 9.6


def test_decode_intensity_counts_the_models_own_parameters() -> None:
    """The meta-device count is the loaded model's: the default model has 134,515,008."""
    ns = run_program("docs/snippets/m1/decode_intensity.py").namespace
    from folovllm.config import ModelConfig
    cfg = ModelConfig(model=None, device="cpu")
    assert cfg.hf_config.hidden_size == 576
    assert (cfg.num_layers, cfg.num_attention_heads, cfg.num_kv_heads, cfg.head_dim) == (30, 9, 3, 64)
    assert ns["smol"].params == 134_515_008


def test_sampler_demo() -> None:
    ns = run_program("docs/snippets/m1/sampler_demo.py").namespace
    sample, kept, P, V = ns["sample"], ns["kept"], ns["P"], ns["V"]
    assert kept(SamplingParams(top_k=4)) == [0, 1, 2, 3]
    assert kept(SamplingParams(top_k=4, top_p=0.8)) == [0, 1, 2]
    assert kept(SamplingParams(top_k=4, top_p=0.8, min_p=0.5)) == [0, 1]
    assert kept(SamplingParams(top_p=0.01)) == [0]  # the most likely token always survives
    assert torch.allclose(ns["freq"], P, atol=0.005)
    # The race in the log domain is the Gumbel-max trick: same winner.
    q = torch.empty(1000, V).exponential_(generator=torch.Generator().manual_seed(1))
    assert torch.equal((P / q).argmax(-1), (P.log() - q.log()).argmax(-1))
    alone = ns["seeded_tokens"](1)
    assert ns["seeded_tokens"](4) == ns["seeded_tokens"](16) == alone and len(set(alone)) > 1
    make_generator = ns["make_generator"]
    assert make_generator(42, 0, "cpu").initial_seed() == 42      # sequence 0 of the request
    assert make_generator(42, 1, "cpu").initial_seed() != 42      # sequence 1: its own stream
    # Logprobs are the model's raw distribution, before temperature, truncation or penalties.
    greedy, hot = SamplingParams(temperature=0, logprobs=2), SamplingParams(temperature=0.5, top_k=2)
    out = sample([greedy, hot], logits=ns["LOGITS"].expand(2, V))
    assert out.sampled_token_ids[0].item() == 0 and out.sampled_token_ids[1].item() in (0, 1)
    raw = ns["LOGITS"].log_softmax(-1)[0]
    for row, token in enumerate(out.sampled_token_ids.tolist()):
        assert torch.isclose(out.sampled_logprobs[row], raw[token])
        assert out.sampled_ranks[row].item() == token + 1
    assert out.topk_token_ids.tolist() == [[0, 1], [0, 1]]
    assert torch.allclose(out.topk_logprobs[0], P[:2].log())
    assert sample([hot]).sampled_ranks.tolist() == [0]  # ranks only when some row asks


def test_detok_demo() -> None:
    ns = run_program("docs/snippets/m1/detok_demo.py").namespace
    tok, ids, text = ns["tok"], ns["ids"], ns["text"]
    assert tok.decode(ids) == text
    assert (len(text), len(text.encode("utf-8")), len(ids)) == (7, 20, 13)
    # "你" is 3 bytes split over two tokens; the rocket's 4 bytes over three.
    assert tok.convert_ids_to_tokens(ids[:2]) == ["ä½", "ł"]
    assert [tok.decode(ids[:k]) for k in (1, 2)] == [REPLACEMENT, "你"]
    assert ns["naive"].count(REPLACEMENT) == 12
    assert ns["emitted"][0] == REPLACEMENT and ns["emitted"][1] == ""
    pieces = ns["pieces"]
    assert "".join(pieces) == text and pieces[:5] == ["", "你", "", "好", "，"]
    assert tok.convert_ids_to_tokens(ids[-3:]) == ["ĠðŁ", "ļ", "Ģ"] and pieces[-3:] == ["", "", " 🚀"]
    assert ns["params"].output_text_buffer_length == 5
    out, stream = ns["out"], ns["stream"]
    assert out.stop_reason == "Paris." and out.text == " The capital is "
    assert out.finish_reason == "stop" and ns["seq"].is_finished()
    assert "".join(stream) == out.text and not any("P" in s for s in stream)


def test_detok_window_stays_short() -> None:
    """prefix_offset trails read_offset by the last emitted chunk only: the window never grows."""
    ns = run_program("docs/snippets/m1/detok_demo.py").namespace
    detok, prompt = ns["detok"], ns["prompt"]
    state = detok.init_state(prompt, skip_special_tokens=True)
    assert (state.prefix_offset, state.read_offset) == (len(prompt) - 5, len(prompt))
    gaps = []
    for t in ns["ids"]:
        detok.step(state, t, skip_special_tokens=True)
        gaps.append(state.read_offset - state.prefix_offset)
    assert max(gaps[1:]) <= 3


def test_static_batch() -> None:
    ns = run_program("docs/snippets/m1/learn_static_batch.py").namespace
    assert [len(p) for p in ns["prompts"]] == [5, 1]
    assert ns["logits"].shape == (2, 49152)  # the last position of each row, over the vocabulary
    assert ns["mask"].tolist() == [[1, 1, 1, 1, 1], [0, 0, 0, 0, 1]]
    assert ns["positions"].tolist() == [[0, 1, 2, 3, 4], [0, 0, 0, 0, 0]]
    cache = ns["cache"]
    assert type(cache).__name__ == "DynamicCache" and len(cache.layers) == 30
    assert ns["tok"].decode(ns["first"][0]) == " Paris"
    assert cache.get_seq_length() == 6
    assert ns["per_token"] == 46_080 and ns["held"] == 2 * 6 * ns["per_token"] == 552_960


def test_validation_is_all_or_nothing() -> None:
    run = run_program("docs/snippets/m1/learn_validation.py")
    assert "[0, 49151]" in run.stdout
    assert not run.namespace["llm"].llm_engine.has_unfinished_requests()


def test_head_of_line_blocking() -> None:
    ns = run_program("docs/snippets/m1/learn_head_of_line.py").namespace
    done = ns["done"]
    assert list(done) == ["long", "short"]
    assert done["short"] == 7  # 5 more decode steps of the long request, then the short one's prefill
    assert done["short"] == done["long"] + 1  # its one step came after the whole batch


def test_best_of_returns_the_best_n() -> None:
    out = run_program("docs/snippets/m1/learn_best_of.py").namespace["out"]
    scores = [c.cumulative_logprob for c in out.outputs]
    assert len(scores) == 2 and scores == sorted(scores, reverse=True)
