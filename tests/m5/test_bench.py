"""M5's measurements: gaps between a request's tokens, each step's token split, and the
benchmark that compares chunked prefill with whole prefills in one run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from folovllm.entrypoints.cli import main
from folovllm.outputs import RequestMetrics


def test_inter_token_latencies_are_the_gaps_between_steps_that_gave_tokens() -> None:
    m = RequestMetrics(arrival_time=0.0)
    for now in (1.0, 1.5, 1.5, 4.0):   # the repeat: a second sequence of the request, same step
        m.record_token(now)
    assert m.first_token_time == 1.0 and m.last_token_time == 4.0
    assert m.inter_token_latencies == [0.5, 2.5]


def test_a_long_prefill_shows_in_the_itl_of_a_decoding_request(tiny_model_dirs) -> None:
    """Without chunking, the step that prefills a long prompt gives the decoding request no
    token: its ITL list has one gap per step, and one of them spans the whole prefill step."""
    from folovllm import LLM, SamplingParams

    llm = LLM(str(tiny_model_dirs["llama"]), device="cpu", enable_chunked_prefill=False)
    engine = llm.llm_engine
    params = SamplingParams(temperature=0, max_tokens=6, ignore_eos=True)
    short = engine.add_request({"prompt_token_ids": [5, 6, 7]}, params)
    engine.step()
    engine.step()
    engine.add_request({"prompt_token_ids": list(range(3, 203))}, params)
    stats = []
    done = {}
    while engine.has_unfinished_requests():
        done.update({o.request_id: o for o in engine.step() if o.finished})
        stats.append(engine.last_step_stats)
    assert (stats[0].num_prefill_tokens, stats[0].num_decode_tokens) == (200, 0)  # a stall
    assert len(done[short].metrics.inter_token_latencies) == 5   # 6 tokens, 5 gaps


def _bench(model: Path, path: Path, *extra: str) -> int:
    return main(["bench", "--workload", "long-prompt", "--model", str(model), "--device", "cpu",
                 "--num-prompts", "6", "--input-len", "4", "--output-len", "6",
                 "--long-len", "120", "--long-every", "3", "--max-num-seqs", "3",
                 "--engines", "folovllm,folovllm-no-chunked-prefill", "--repeats", "1",
                 "--max-model-len", "128", "--output-json", str(path), *extra])


def test_bench_long_prompt_compares_chunked_and_whole_prefills(tiny_model_dirs, tmp_path,
                                                               capsys) -> None:
    from folovllm.benchmarks.throughput import format_table

    path = tmp_path / "lp.json"
    assert _bench(tiny_model_dirs["llama"], path, "--max-num-batched-tokens", "16",
                  "--long-prefill-token-threshold", "8", "--timeline") == 0
    result = json.loads(path.read_text())
    on, off = result["results"]
    assert (on["engine"], off["engine"]) == ("folovllm", "folovllm-no-chunked-prefill")
    # without chunks a step must hold a whole prompt: that engine's budget is max_model_len
    assert (on["max_num_batched_tokens"], off["max_num_batched_tokens"]) == (16, 128)
    assert on["output_tokens"] == off["output_tokens"] == 36
    for r, biggest in ((on, 16), (off, 128)):
        steps = r["timeline"]
        assert all(p + d <= biggest for _, p, d in steps)
        assert [t for t, _, _ in steps] == sorted(t for t, _, _ in steps)
        assert sum(d for _, _, d in steps) + 6 == 36          # every output but the first
        assert sum(p for _, p, _ in steps) == 2 * 120 + 4 * 4  # prompts, no preemption here
        assert r["itl_p99"] >= r["itl_p50"] > 0
    # chunked: some step mixes a prompt chunk (at most the threshold) with decodes;
    # whole prefills: a step prefills or decodes, never both
    assert any(p and d for _, p, d in on["timeline"])
    assert not any(p and d for _, p, d in off["timeline"])
    out = capsys.readouterr().out
    assert format_table(result) in out
    assert "| engine | token budget | TPOT p50 (ms) | TPOT p99 (ms) | ITL p50 (ms)" in out
    assert "6 prompts, one in 3 of 120 input tokens, the others 4" in out


def test_bench_keeps_no_timeline_unless_asked(tiny_model_dirs, tmp_path) -> None:
    path = tmp_path / "lp.json"
    assert _bench(tiny_model_dirs["qwen2"], path, "--engines", "folovllm") == 0
    assert json.loads(path.read_text())["results"][0]["timeline"] is None


@pytest.mark.parametrize("flag, value, message", [
    ("--max-num-batched-tokens", "0", "max_num_batched_tokens=0 is invalid"),
    ("--max-num-seqs", "-2", "max_num_seqs=-2 is invalid"),
    ("--long-prefill-token-threshold", "-1", "long_prefill_token_threshold=-1 is invalid"),
])
def test_bench_rejects_bad_scheduler_flags(tiny_model_dirs, tmp_path, capsys, flag, value,
                                           message) -> None:
    assert _bench(tiny_model_dirs["llama"], tmp_path / "x.json", flag, value) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_timeline_chart_is_deterministic_and_has_axes(tiny_model_dirs, tmp_path) -> None:
    from benchmarks.plot import render_timeline_svg

    path = tmp_path / "lp.json"
    assert _bench(tiny_model_dirs["llama"], path, "--max-num-batched-tokens", "16",
                  "--timeline") == 0
    result = json.loads(path.read_text())
    svg = render_timeline_svg(result, "lp")
    assert svg == render_timeline_svg(result, "lp")
    assert "<dc:date>" not in svg and svg.count("<g id=\"axes_") == 2   # one panel per engine
