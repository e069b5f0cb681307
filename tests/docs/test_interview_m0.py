"""The claims the M0 interview answers rely on, checked on the programs the page shows."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from folovllm import SamplingParams
from folovllm.config import CacheConfig, ModelConfig, ParallelConfig
from folovllm.default_model import SAVE_DTYPE, default_model_dir
from folovllm.sampling_params import MIN_TEMPERATURE, SamplingType
from folovllm.sequence import LEGAL_TRANSITIONS, IllegalTransitionError, SequenceData
from folovllm.sequence import SequenceStatus as S
from tests.docs.docs_tools import run_program


def _ns(name: str) -> dict:
    return run_program(f"docs/snippets/m0/interview_{name}.py").namespace


def test_layers() -> None:
    ns = _ns("layers")
    engine, m, s = ns["engine"], ns["m"], ns["s"]
    assert isinstance(engine.cache_config, CacheConfig)
    assert isinstance(engine.parallel_config, ParallelConfig)
    # Chunked prefill is on by default, and its default budget is 8192 tokens ...
    assert s.enable_chunked_prefill and m.max_model_len == 8192
    assert s.max_num_batched_tokens == 8192
    # ... and without chunked prefill one step must be able to hold a whole prompt.
    assert "must be >= max_model_len=8192" in ns["too_small"]
    assert ns["chunked_budget"] == 4096


def test_validation() -> None:
    ns = _ns("validation")
    assert ns["errors"] == [
        "block_size=0 is invalid: must be in [1, 1024]",
        "gpu_memory_utilization=1.5 is invalid: must be a number in (0, 1]",
        "max_num_seqs=True is invalid: must be an integer",          # bool is not a count
        "policy='lifo' is invalid: must be one of ['fcfs']",
        "gpu_memory_utilization=nan is invalid: must be a number in (0, 1]",
        "temperature=nan is invalid: must be a finite number",
        "top_p=inf is invalid: must be a finite number",             # isfinite rules out inf
    ]
    assert len(ns["errors"]) == len(ns["cases"])  # every case raised
    # Under `python -O` assertions are compiled away and the bad value goes through.
    assert ns["run"].returncode == 0 and ns["run"].stdout.strip() == "ran with x = -1"
    nan = ns["nan"]
    assert not (nan < 0.0 or nan > 1.0)


def test_engine_args() -> None:
    ns = _ns("engine_args")
    assert ns["typo"].startswith(
        "unknown engine argument 'max_model_length'; did you mean 'max_model_len'?")
    known = ns["known"]
    assert {"dtype", "block_size", "max_num_seqs", "tensor_parallel_size"} <= set(known)
    assert len(known) == len(set(known))  # no name belongs to two groups
    assert ns["bad_block"] == "block_size=0 is invalid: must be in [1, 1024]"
    assert ns["bad_dtype"].startswith("dtype='fp8'")


def test_dtype() -> None:
    ns = _ns("dtype")
    cpu = ns["cpu"]
    assert cpu.checkpoint_dtype == torch.bfloat16   # the weights are stored in bf16 ...
    assert cpu.torch_dtype == torch.float32         # ... and `auto` runs them in fp32 on CPU
    assert ns["gpu_view"]._resolve_dtype() == torch.bfloat16
    assert ns["explicit"].torch_dtype == torch.bfloat16
    assert "dtype='fp8' is invalid" in ns["bad"]


def test_max_len() -> None:
    ns = _ns("max_len")
    cpu = ns["cpu"]
    assert cpu.hf_config.max_position_embeddings == 8192
    assert cpu.derived_max_model_len() == cpu.max_model_len == 8192
    assert ns["lower"].max_model_len == 2048
    assert ns["too_long"] == "max_model_len=16384 is invalid: must be in [1, 8192]"


def test_kv_bytes() -> None:
    ns = _ns("kv_bytes")
    cpu, shape, kv = ns["cpu"], ns["shape"], ns["kv_bytes_per_token"]
    assert shape == (30, 3, 64)
    assert cpu.kv_cache_bytes_per_token() == kv(*shape, 4) == ns["fp32"] == 46_080
    assert cpu.kv_cache_bytes_per_token(torch.bfloat16) == kv(*shape, 2) == ns["bf16"] == 23_040
    # One full 8192-token context in bf16 is exactly 180 MiB ...
    assert 23_040 * cpu.max_model_len == ns["context"] == 188_743_680 == 180 * 2**20
    # ... and 10 GiB of KV memory holds 466,033 tokens (about 56 full contexts).
    assert (10 * 2**30) // 23_040 == ns["tokens"] == 466_033
    assert (10 * 2**30) // (23_040 * 8192) == 56
    # One 16-token block (CacheConfig's default block_size) is 360 KiB.
    assert CacheConfig().block_size * 23_040 == ns["block"] == 368_640 == 360 * 1024


def test_gqa() -> None:
    ns = _ns("gqa")
    cpu, group = ns["cpu"], ns["group"]
    assert (cpu.num_attention_heads, cpu.num_kv_heads, group) == (9, 3, 3)
    # With one KV head per query head (plain multi-head attention) the cache would be 3x larger.
    assert ns["mha"] == 69_120 == group * cpu.kv_cache_bytes_per_token(torch.bfloat16)
    k, k_rep = ns["k"], ns["k_rep"]
    assert all(torch.equal(k_rep[:, h], k[:, h // group]) for h in range(9))
    assert all(torch.equal(ns["v_rep"][:, h], ns["v"][:, h // group]) for h in range(9))
    assert ns["out"].shape == ns["q"].shape   # every query head still gets its own output
    assert ns["tp_error"] == ("tensor_parallel_size=2 is invalid: num_attention_heads=9 is not "
                              "divisible by it")


def test_temperature() -> None:
    ns = _ns("temperature")
    softmax_t, logits = ns["softmax_t"], ns["logits"]
    sharp, p1, flat = ns["sharp"], ns["p1"], ns["flat"]
    assert sharp[0] > p1[0] > flat[0]                     # low T sharpens, high T flattens
    assert sharp.argsort().tolist() == flat.argsort().tolist()  # the ranking never changes
    assert softmax_t(logits, 0.01)[0] > 0.999999          # T -> 0: one-hot on the argmax
    assert torch.isnan(ns["at_zero"]).any()               # T = 0 itself: inf - inf = nan
    big = ns["big"]
    assert torch.isinf(big / 1e-3).all() and torch.isfinite(big / MIN_TEMPERATURE).all()
    assert ns["clamped"] == MIN_TEMPERATURE == SamplingParams(temperature=1e-3).temperature


def test_truncation() -> None:
    ns = _ns("truncation")
    top_k, top_p, min_p = ns["top_k_mask"], ns["top_p_mask"], ns["min_p_mask"]
    peaked, open_ended, long_tail = ns["peaked"], ns["open_ended"], ns["long_tail"]
    # top-k keeps a fixed number: junk when the model is sure, too few when it is not.
    assert top_k(peaked, 3).sum() == 3 and top_k(open_ended, 3).sum() == 3
    # top-p adapts the count to the shape ...
    assert top_p(peaked, 0.85).sum() == 1 and top_p(open_ended, 0.85).sum() == 9
    # ... but a long flat tail of junk must be admitted to reach the mass.
    assert top_p(long_tail, 0.85).sum() == 701
    # min-p drops that tail in one step, and keeps everything when nothing is confident.
    assert min_p(long_tail, 0.1).sum() == 1 and min_p(open_ended, 0.1).sum() == 10
    assert ns["kept"] == {"peaked": [3, 1, 1], "open_ended": [3, 9, 10],
                          "long_tail": [3, 701, 1]}


def test_order() -> None:
    ns = _ns("order")
    top_k, top_p = ns["top_k_mask"], ns["top_p_mask"]
    # 1. Temperature changes what top-p keeps, not what top-k keeps.
    assert top_p(ns["p_t1"], 0.8).sum() == 3 and top_p(ns["p_t05"], 0.8).sum() == 2
    assert torch.equal(top_k(ns["p_t1"], 2), top_k(ns["p_t05"], 2))
    # 2. top-p after top-k measures mass among the survivors, so it stops sooner.
    assert (ns["k_then_p"], ns["p_then_k"]) == (2, 3)
    # 3. min-p commutes with top-k, not with top-p.
    assert torch.equal(ns["k_then_min"], ns["min_then_k"])
    assert (ns["min_then_p"].sum(), ns["p_then_min"].sum()) == (2, 3)


def test_penalties() -> None:
    ns = _ns("penalties")
    pen = {k: v.tolist() for k, v in ns["penalised"].items()}
    # Repetition: divide positive logits, multiply negative ones, for prompt and output tokens.
    assert pen["repetition=2.0"] == [1.0, -2.0, 0.5, 0.5]
    # Frequency: subtract once per occurrence in the output (the prompt is not counted).
    assert pen["frequency=0.5"] == [2.0, -1.5, 0.0, 0.5]
    # Presence: subtract once for any token already generated.
    assert pen["presence=0.5"] == [2.0, -1.5, 0.5, 0.5]
    # Why the sign rule: dividing a negative logit by 2 would *raise* it and reward the repeat.
    assert -1.0 / 2.0 > -1.0
    assert ns["negative"].presence_penalty == -2.0 and ns["negative"].frequency_penalty == -2.0


def test_greedy() -> None:
    ns = _ns("greedy")
    greedy = ns["greedy"]
    assert greedy.sampling_type is SamplingType.GREEDY
    assert (greedy.top_p, greedy.top_k, greedy.min_p) == (1.0, 0, 0.0)   # reset to "off"
    assert ns["tiny"].sampling_type is SamplingType.GREEDY               # below 1e-5
    assert "temperature=-0.5 is invalid" in ns["negative"]
    assert SamplingParams(top_k=-1).top_k == 0   # vLLM's "disabled" spelling is accepted


def test_n_best_of() -> None:
    ns = _ns("n_best_of")
    assert SamplingParams(n=3, temperature=0.8).best_of == 3           # best_of defaults to n
    assert SamplingParams(n=2, best_of=5, temperature=0.8).best_of == 5
    assert ns["too_few"] == "best_of=1 is invalid: must be in [2, inf]"
    # Greedy copies would be identical, so asking for several is an error, not wasted work.
    assert ns["greedy_n"].startswith("best_of=2 (n=2) is invalid with temperature=0")
    assert ns["greedy_best_of"].startswith("best_of=3 (n=1) is invalid")


def test_seeds() -> None:
    ns = _ns("seeds")
    run, seeds, seeded = ns["run"], ns["seeds"], ns["seeded"]
    assert SamplingParams(temperature=0.8).sampling_type is SamplingType.RANDOM
    assert seeded.sampling_type is SamplingType.RANDOM_SEED
    # Shared generator: request A's tokens change when B joins the batch in front of it.
    assert run(["A"], None)["A"] != run(["B", "A"], None)["A"]
    # Per-request generator: A's tokens are the same in any batch.
    assert run(["A"], seeds)["A"] == run(["B", "A"], seeds)["A"] == run(["A", "B"], seeds)["A"]
    # n > 1 with a seed: sequences of one request need different streams.
    assert ns["same"]["A0"] == ns["same"]["A1"]
    assert ns["offset"]["A0"] != ns["offset"]["A1"]


def test_stops() -> None:
    ns = _ns("stops")
    sp = ns["sp"]
    assert sp.stop == ["###"] and sp.stop_token_ids == [7]   # normalised to lists
    assert sp.output_text_buffer_length == 2                 # len("###") - 1
    assert SamplingParams(stop=["###", "END"]).output_text_buffer_length == 2
    assert ns["kept_sp"].output_text_buffer_length == 0
    assert SamplingParams().output_text_buffer_length == 0
    for bad, message in (({"stop": [""]}, "must not be empty"),
                         ({"max_tokens": 4, "min_tokens": 5},
                          "min_tokens=5 is invalid: must be in [0, 4]")):
        try:
            SamplingParams(**bad)
        except ValueError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(f"SamplingParams accepted {bad}")
    final, shown = ns["final"], ns["shown"]
    assert final == "The answer is 42"
    assert all(final.startswith(s) for s in shown)           # nothing shown is taken back
    assert ns["naive"][-1] == "The answer is 42##"            # shown, then cut to "...42"
    assert ns["kept"] == "The answer is 42###"


def test_state_machine() -> None:
    ns = _ns("state_machine")
    seq = ns["seq"]
    assert ns["path"][0] == "WAITING"
    assert seq.is_finished() and S.get_finished_reason(seq.status) == "stop"
    assert ns["illegal"] == "sequence 0: illegal transition FINISHED_STOPPED -> RUNNING"
    assert seq.status is S.FINISHED_STOPPED           # the failed move changed nothing
    # Finished states are terminal; a waiting sequence holds no memory to preempt.
    assert all(not LEGAL_TRANSITIONS[s] for s in S if S.is_finished(s))
    assert S.PREEMPTED not in LEGAL_TRANSITIONS[S.WAITING]
    # An engine bug, not bad user input: a RuntimeError, not a ValueError.
    assert issubclass(IllegalTransitionError, RuntimeError)
    assert not issubclass(IllegalTransitionError, ValueError)


def test_recompute() -> None:
    ns = _ns("recompute")
    data = ns["data"]
    assert ns["steps"] == [("prefill", 4), ("decode", 1), ("decode", 1), ("recompute", 6)]
    assert ns["uncomputed"](data) == data.get_len() == 6   # one prefill over all 6
    assert data.output_token_ids == [15, 16]          # generated tokens are not drawn again
    assert math.isclose(data.cumulative_logprob, -1.0)
    assert ns["seq"].status is S.RUNNING
    # Before the preemption the cache held every token but the newest.
    fresh = SequenceData((1, 2))
    fresh.num_computed_tokens = 2
    fresh.append_token_id(3, logprob=0.0)
    assert fresh.num_computed_tokens == fresh.get_len() - 1


def test_fork() -> None:
    ns = _ns("fork")
    parent, child = ns["parent"], ns["child"]
    assert parent.data.output_token_ids == [4] and child.data.output_token_ids == [4, 5]
    assert parent.status is S.WAITING and child.status is S.RUNNING
    assert math.isclose(parent.data.cumulative_logprob, -0.1)
    # The immutable prompt tuple is shared by deepcopy: free to "copy", impossible to corrupt.
    assert child.data.prompt_token_ids is parent.data.prompt_token_ids
    # A shallow copy would share the mutable list, and an append to one would show in both.
    assert ns["victim"].data.output_token_ids == [9]


def test_request() -> None:
    ns = _ns("request")
    req = ns["req"]
    assert [s.seq_id for s in req.seqs] == [10, 11, 12]       # best_of sequences, one prompt
    assert len({id(s.data) for s in req.seqs}) == 3           # each grows its own output
    assert req.is_finished() and req.num_unfinished_seqs() == 0
    assert [s.seq_id for s in ns["best"]] == [11, 10]
    assert "the prompt is empty" in ns["empty"]


def test_dummy() -> None:
    ns = _ns("dummy")
    assert torch.equal(ns["rng_after"], ns["rng_before"])   # global RNG left untouched
    sa, sb, sc = ns["sa"], ns["sb"], ns["sc"]
    assert all(torch.equal(sa[name], sb[name]) for name in sa)      # same seed, same weights
    assert not torch.equal(sa[ns["up"]], sc[ns["up"]])
    # Same shapes as a real checkpoint: same parameter count, so same FLOPs and bytes.
    assert ns["counted"] == ns["llama_num_params"](ns["cfg"].hf_config) == 106_816
    assert ns["logits"].shape == (1, 3, 256)
    assert ns["smol"] == 134_515_008
    # Batch-1 decode reads every weight once per step: 269 MB in bf16, about 90 us at 3 TB/s.
    assert round(2 * 134_515_008 / 3e12 * 1e6) == 90


def test_gguf() -> None:
    ns = _ns("gguf")
    gguf, model_dir, names = ns["gguf"], ns["model_dir"], ns["names"]
    assert gguf.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert model_dir == default_model_dir() == Path(ModelConfig(model=None, device="cpu").model)
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= names
    assert not any(name.endswith(".gguf") for name in names)
    saved = ns["saved"]
    assert "quantization_config" not in saved  # else transformers would treat it as quantized
    assert saved["dtype"] == SAVE_DTYPE == "bfloat16"
    # bf16 is 2 bytes per parameter: the safetensors file is 2 x 134.5 M bytes plus a header.
    assert 0 < ns["weights"] - 2 * 134_515_008 < 100_000
    # The 4-bit GGUF (with its tokenizer inside) is well under half of that.
    assert gguf.stat().st_size < 0.4 * ns["weights"]
