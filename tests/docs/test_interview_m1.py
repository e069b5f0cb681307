"""The claims the M1 interview answers rely on, checked on the programs the page shows."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from docs.snippets.m1.batch_metadata import metadata
from folovllm import SamplingParams
from folovllm.model_executor.layers.sampler import Sampler, apply_truncation, make_generator, token_counts
from folovllm.sequence import SequenceStatus
from tests.docs.docs_tools import run_program


def _ns(name: str) -> dict:
    return run_program(f"docs/snippets/m1/interview_{name}.py").namespace


def test_order() -> None:
    ns = _ns("order")
    assert ns["greedy_token"] == [1]      # penalties reach greedy rows: 2.0 - 1.5 < 1.5
    z, penalty, t = ns["z"], ns["penalty"], ns["t"]
    assert ((z - penalty) / t).argmax() == 1 == ns["first"]   # penalty first: it matters
    assert (z / t - penalty).argmax() == 0 == ns["last"]      # penalty last: 200 - 1.5 > 150
    # With the real order, a T = 0.01 random row is (almost surely) the greedy row.
    assert ns["rows"] == 200 and (ns["cold_tokens"] == 1).all()


def test_penalties() -> None:
    ns = _ns("penalties")
    pen = ns["penalised"]
    # Multiplicative, on prompt AND output tokens, with a sign rule.
    assert pen["repetition=2.0"] == [1.5, -4.0, 0.5, 0.25, 0.0]
    # Additive, output tokens only, once per occurrence.
    assert pen["frequency=0.5"] == [3.0, -2.0, -0.5, 0.0, 0.0]
    # Additive, output tokens only, flat.
    assert pen["presence=0.5"] == [3.0, -2.0, 0.5, 0.0, 0.0]
    md = ns["md"]
    assert md.prompt_mask[0].tolist() == [True, True, False, False, False]
    assert md.output_counts[0].tolist() == [0, 0, 3, 1, 0]
    assert ns["no_penalty"].output_counts is None
    # The shared helper builds the penalty tensors with token_counts, as the page says.
    assert torch.equal(md.output_counts, token_counts([[2, 2, 2, 3]], 5, "cpu"))


def test_truncation() -> None:
    ns = _ns("truncation")
    logits, kept, rows = ns["logits"], ns["kept"], ns["rows"]
    for row, (p, got) in enumerate(zip(rows, ns["survivors"])):
        assert got == ns["three_passes"](logits[row], p), p
        assert torch.equal(kept[row][list(got)], logits[row][list(got)])  # survivors untouched
    # A disabled top-k is stored as "keep the whole vocabulary": one code path for every row.
    assert metadata([SamplingParams()], vocab=32).top_k.tolist() == [32]
    # The float32 prefix sum drifts past 1.0: rows with top_p = 1 skip the test.
    assert ns["drift"] > 1000
    mixed = ns["mixed"]
    assert torch.isfinite(mixed[0]).all() and not torch.isfinite(mixed[1]).all()


def test_min_p_order() -> None:
    ns = _ns("min_p_order")
    assert ns["folo_kept"] == 3      # min-p drops 0.1; top-p keeps 0.4 + 0.3 + 0.2
    assert ns["vllm_kept"] == 2      # after min-p and renormalising, top-p stops sooner
    both = SamplingParams(top_p=0.75, min_p=0.3)
    folo = apply_truncation(torch.tensor([[0.4, 0.3, 0.2, 0.1]]).log(), metadata([both], vocab=4))
    assert torch.isfinite(folo).sum() == 3


def test_race() -> None:
    ns = _ns("race")
    assert torch.equal(ns["race"], ns["gumbel"])
    assert (ns["race"] != 4).all()                            # p = 0 is never chosen
    assert torch.allclose(ns["freq"], ns["probs"], atol=0.015), ns["freq"]


def test_seeds() -> None:
    ns = _ns("seeds")
    alone, crowded, moved = ns["alone"], ns["crowded"], ns["moved"]
    assert alone["s"] == crowded["s"] == moved["s"]     # seeded: the batch does not matter
    assert crowded["a"] != moved["a"]                   # unseeded: row position changes its noise
    g0, g1 = make_generator(42, 0, "cpu"), make_generator(42, 1, "cpu")
    assert not torch.equal(torch.rand(8, generator=g0), torch.rand(8, generator=g1))
    assert torch.equal(torch.rand(8, generator=make_generator(42, 1, "cpu")),
                       torch.rand(8, generator=make_generator(42, 1, "cpu")))
    digest = hashlib.sha256(b"42:1").digest()
    assert ns["seeds"][1] == make_generator(42, 1, "cpu").initial_seed() \
        == int.from_bytes(digest[:8], "little") >> 1
    assert hash((-1, 1)) == hash((-2, 1))
    assert make_generator(-1, 1, "cpu").initial_seed() != make_generator(-2, 1, "cpu").initial_seed()


def test_logprobs() -> None:
    ns = _ns("logprobs")
    out, raw = ns["out"], ns["raw"]
    # Reported logprobs are the model's raw distribution: no temperature, no truncation.
    assert torch.allclose(out.sampled_logprobs, raw[out.sampled_token_ids])
    assert out.topk_token_ids[0].tolist() == [0, 1, 2]     # token 2 is outside top-k, still listed
    assert torch.allclose(out.topk_logprobs[0], raw[[0, 1, 2]])
    # Rank: 1 + the number of tokens the model preferred. Sampling picks rank 2 sometimes.
    assert set(out.sampled_ranks.tolist()) == {1, 2}
    assert (out.sampled_ranks == 1 + (out.sampled_token_ids == 1).long()).all()
    quiet = ns["quiet"]
    assert quiet.sampled_ranks.tolist() == [0] and quiet.topk_token_ids.shape == (1, 0)
    processed = ns["processed"]
    assert processed[:2].exp().sum().item() > 0.999 and not torch.allclose(processed[:2], raw[:2])


def test_min_tokens_in_the_sampler() -> None:
    ns = _ns("min_tokens")
    eos = ns["EOS"]
    assert ns["picked"] == [[1], [1], [eos]]     # 2 tokens exist: EOS is allowed again
    md = ns["md"]
    assert md.suppress_rows.tolist() == [0, 0] and md.suppress_cols.tolist() == [eos, ns["STOP_ID"]]


def test_tie() -> None:
    ns = _ns("tie")
    assert ns["tie_token"] == [1]
    tie = torch.tensor([[1.0, 3.0, 3.0, 0.0]])
    assert Sampler()(tie, metadata([SamplingParams(temperature=0)], vocab=4)) \
        .sampled_token_ids.tolist() == [1]


def test_window() -> None:
    ns = _ns("window")
    out = ns["out"]
    assert (ns["at"], ns["status"]) == (1, SequenceStatus.FINISHED_STOPPED)
    assert out.text == "Hello " and out.stop_reason == "world" and out.finish_reason == "stop"
    assert "world" not in ns["pieces"][1]     # searching only the new piece would miss it
    text, start = ns["text"], ns["start"]
    assert text[start:] == "o world, and" and text.find("world", start) == 6
    # The first stop string *in the list* wins, though the other starts earlier in the text.
    assert ns["both"].stop_reason == "bc" and ns["both"].text == "xa"
    # The token that completes a stop string may also be the max_tokens-th: the scheduler finishes
    # the sequence as "length", and output processing still reports the stop string (vLLM's order).
    last = ns["last"]
    assert ns["last_status"] == SequenceStatus.FINISHED_LENGTH_CAPPED
    assert (last.text, last.finish_reason, last.stop_reason) == ("Hello ", "stop", "world")


def test_include() -> None:
    ns = _ns("include")
    kept = ns["kept"]
    assert kept.text == "Hello world"     # cut AFTER the match; ", and" is still dropped
    assert kept.token_ids == [100, 101]   # the token ids are never cut
    plain, flag, eos = (ns["ended"][k] for k in ("stop token 7", "stop token 7, flag", "EOS"))
    assert (plain.text, plain.stop_reason, plain.token_ids) == ("Hi", 7, [100, 7])
    assert flag.text == "Hi<end>"
    assert (eos.text, eos.stop_reason) == ("Hi", None)    # EOS: no stop_reason
    assert eos.token_ids == [100, ns["EOS"]]


def test_holdback() -> None:
    ns = _ns("holdback")
    assert ns["hold"] == len(ns["stop"]) - 1 == 5
    printed, final = ns["printed"], ns["final"]
    assert final == "The answer is 42." and "".join(printed) == final   # nothing taken back
    # Each running step shows all but the last 5 characters; the finishing step shows the rest.
    assert printed == ["The a", "nswer i", "s 4", "2."]
    # Without a holdback, the client prints "\nUs" and then the stop string cuts it.
    assert "".join(ns["naive"]) == "The answer is 42.\nUs" != ns["naive_final"]
    assert ns["flag"].output_text_buffer_length == 0


def test_stop_checks_wait_for_min_tokens() -> None:
    ns = _ns("stop_min_tokens")
    assert ns["early_at"] is None and ns["early"].text == "Hi! ok"
    assert ns["statuses"] == [None, SequenceStatus.FINISHED_LENGTH_CAPPED]  # 2 < min_tokens=3
    assert (ns["late_at"], ns["late_status"], ns["late"].text) == \
        (2, SequenceStatus.FINISHED_STOPPED, "abc")
    assert "min_tokens=5 is invalid" in ns["too_many"]


def test_detok() -> None:
    ns = _ns("detok")
    ids, text, tok = ns["ids"], ns["text"], ns["tok"]
    assert len(ids) == 10 and len(text) == 11            # CJK and emoji split over byte tokens
    assert sum(piece.count("\ufffd") for piece in ns["naive"]) == 7
    assert ns["full"] == text
    pieces = ns["pieces"]
    assert "".join(pieces) == text and not any("\ufffd" in p for p in pieces)
    assert pieces[:3] == ["", "模", "型"]                # held back until the character is complete
    assert pieces[6:9] == ["", "", " 🚀"]               # the emoji needs 3 tokens (and its space)
    assert max(ns["windows"]) <= 4                       # the decoded window never grows
    assert ns["cut"] == "模型推理" and tok.decode(ids[:8]).endswith("\ufffd")


def test_phases() -> None:
    ns = _ns("phases")
    assert ns["prefill"] > 1000      # far above what a GPU needs to be compute bound
    assert ns["decode_1"] < 1        # under one FLOP per byte: pure memory traffic
    assert ns["decode_64"] < 20      # batching helps, but every sequence brings its own KV
    vocab = ns["cfg"].vocab_size
    assert ns["prefill_logits"].shape == (2, vocab)   # only the last position is projected
    assert ns["decode_logits"].shape == (2, vocab)
    # Projecting every position: a 2048-token prompt would make 384 MiB of fp32 logits.
    assert ns["all_positions"] == 2048 * vocab * 4 == 384 * 2**20


def test_kv_cache() -> None:
    ns = _ns("kv_cache")
    cfg = ns["runner"].model.config
    head_dim = cfg.hidden_size // cfg.num_attention_heads
    width = ns["width"]
    assert ns["layer"].keys.shape == (2, cfg.num_key_value_heads, width + 1, head_dim)
    assert ns["cache_bytes"] == 2 * (width + 1) * 46_080   # rows x columns x fp32 bytes per token
    cached, recomputed = ns["cached"], ns["recomputed"]
    assert torch.allclose(cached, recomputed, atol=1e-3) and cached.argmax() == recomputed.argmax()
    before, after = ns["before"], ns["after"]
    assert after.data_ptr() != before.data_ptr() and torch.equal(after[:, :, :-1], before)
    P, n = ns["P"], ns["n"]
    assert P + n == 768 and sum(P + i for i in range(n)) == 163_712


def test_padding() -> None:
    ns = _ns("padding")
    together, alone = ns["together"], ns["alone"]
    assert torch.allclose(together[1], alone[0], atol=1e-3)
    assert together[1].argmax() == alone[0].argmax()
    assert ns["positions"].tolist() == [[0, 1, 2, 3, 4], [0, 0, 0, 0, 0]]
    runner = ns["runner"]
    runner.prefill([ns["long_p"], ns["short_p"]])
    assert runner._next_position.tolist() == [5, 1]      # the next token's position, per row
    assert not torch.allclose(ns["right"][0, -1], alone[0], atol=1e-3)


def test_finished_rows() -> None:
    ns = _ns("finished_rows")
    tokens, fed, pad = ns["tokens"], ns["fed"], ns["pad"]
    assert [len(t) for t in tokens] == [1, 5]
    # Row 0 finished at the prefill, yet rides along for all 4 decode steps, fed a pad token.
    assert len(fed) == 4 and all(step[0] == pad for step in fed)
    assert ns["columns"] == [6, 7, 8, 9]                 # its KV keeps growing as well
    assert ns["wasted"] == 0.5                           # half the decode rows computed nothing
    assert ns["runner"]._cache is None   # the batch's cache went when its last row finished


def test_head_of_line() -> None:
    ns = _ns("head_of_line")
    # The short request needs one forward but waits for the whole batch to drain.
    assert ns["long_done"] == 8 and ns["short_done"] == 9
    assert ns["short_done"] - 1 == ns["long_done"]       # its one step came after the batch's last
    assert ns["waited"] == 7


def test_parity() -> None:
    ns = _ns("parity")
    assert ns["ours"] == ns["theirs"] and len(ns["ours"]) == 3
    assert all(len(t) == 8 for t in ns["ours"])


def test_best_of() -> None:
    ns = _ns("best_of")
    best, every, ranked = ns["best"], ns["every"], ns["ranked"]
    assert [c.index for c in every] == [0, 1, 2, 3]           # n: all of them, in order
    # best_of=4, n=2: the same 4 seeded samples are drawn, and the 2 most likely are returned.
    assert [c.token_ids for c in best] == [c.token_ids for c in ranked[:2]]
    assert [c.index for c in best] == [c.index for c in ranked[:2]]
    # The score is the sum of the sampled tokens' raw log-probabilities.
    for c in best:
        total = sum(step[t].logprob for t, step in zip(c.token_ids, c.logprobs))
        assert abs(c.cumulative_logprob - total) < 1e-4


def test_validation() -> None:
    ns = _ns("validation")
    engine = ns["engine"]
    assert "contains [10000000]" in ns["bad_token"]
    # Submitting one by one leaves the good request queued (the next generate would run it).
    assert ns["left_queued"] == 1
    assert "best_of=300 is invalid" in ns["too_many"] and "max_num_seqs=256" in ns["too_many"]
    outs = ns["outs"]
    assert all(o.outputs[0].finish_reason == "abort" for o in outs)
    assert all("device went away" in o.error for o in outs)
    assert not engine.has_unfinished_requests()
    # LLM.generate checks everything before it queues anything.
    try:
        ns["llm"].generate(ns["bad_batch"], SamplingParams(max_tokens=2), use_tqdm=False)
    except ValueError:
        assert not engine.has_unfinished_requests()
    else:
        raise AssertionError("an out-of-vocabulary token id was accepted")


def test_sync() -> None:
    ns = _ns("sync")
    reads, ours, steps = ns["reads"], ns["ours"], ns["steps"]
    assert steps == 3 and len(ours) == steps                          # one read per step ...
    assert all(what == "tolist" and path.endswith("model_runner.py") for what, path in ours)
    assert not any(what == "item" for what, _ in reads)               # ... and no .item() anywhere
    # Any other read happens inside transformers (its attention-mask code), not in the engine.
    package = ns["package"]
    assert all("transformers" in Path(path).parts for _, path in reads
               if not Path(path).is_relative_to(package))


def test_output_processing_searches_the_window_and_fails_requests_alone() -> None:
    """What the M1 walkthrough says of process_updates: a stop string must end in the new text
    (one wholly inside older text was found, or not, before), and a request whose output cannot
    be processed fails alone while the others go on."""
    from docs.snippets.m1.stop_feed import Pieces
    from folovllm.core.scheduler import SequenceUpdate
    from folovllm.engine.output_processor import OutputProcessor
    from folovllm.engine.stop_checker import find_stop_string
    from folovllm.sequence import Request

    assert find_stop_string("abcSTOPdef", 3, ["STOP"], False) is None          # "def" is new
    assert find_stop_string("abcSTOP", 2, ["STOP"], False) == ("STOP", 3)       # "OP" completes it
    assert find_stop_string("abcSTOP", 2, ["STOP"], True) == ("STOP", 7)

    class Raising(Pieces):
        def convert_ids_to_tokens(self, ids, skip_special_tokens):
            if 666 in ids:
                raise RuntimeError("cannot decode")
            return super().convert_ids_to_tokens(ids, skip_special_tokens)

    params = SamplingParams(stop=["STOP"], max_tokens=10)
    processor = OutputProcessor(Raising({100: "ok ", 101: "ST", 102: "OP!"}))
    bad, good = (Request.create(rid, None, [1], params, i, eos_token_id=2)
                 for i, rid in enumerate(("bad", "good")))
    for req in (bad, good):
        processor.add_request(req)
        req.seqs[0].status = SequenceStatus.RUNNING
    stopped = []
    for step, token in enumerate((100, 101, 102)):
        updates = [SequenceUpdate(good, good.seqs[0], [token])]
        if step == 1:
            updates.insert(0, SequenceUpdate(bad, bad.seqs[0], [666]))
        for u in updates:
            u.seq.data.append_token_id(u.new_token_ids[0], 0.0)
        done = processor.process_updates(updates, now=0.0)
        assert list(done.failed) == (["bad"] if step == 1 else [])
        stopped += done.stopped_seq_ids
    assert "RuntimeError: cannot decode" in bad.error
    assert stopped == [good.seqs[0].seq_id]           # "ST" + "OP!" completes the stop string
    good.seqs[0].status = SequenceStatus.FINISHED_STOPPED
    out = processor.make_output(good).outputs[0]
    assert (out.text, out.stop_reason, out.finish_reason) == ("ok ", "STOP", "stop")
