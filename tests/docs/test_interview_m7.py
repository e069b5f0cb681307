"""The claims the M7 interview answers rely on, checked on the programs the page shows.

Each program prints what the page shows (tests/docs/test_outputs.py compares the two); these
tests pin what the answers say about it, from the globals the programs leave and from the
engine's own code, and check that the numbers the English and Chinese pages quote are the ones
the programs compute.
"""

from __future__ import annotations

import re

import pytest
import torch

from folovllm.executor import multiproc_executor
from tests.docs.docs_tools import DOCS, REPO, run_program

_PAGES = [DOCS / "milestones" / "m7" / name for name in ("interview.md", "interview.zh.md")]


def _run(name: str):
    return run_program(f"docs/snippets/m7/{name}.py")


def _quoted(*texts: str) -> None:
    """Each text appears in both pages (whitespace-normalised: lines wrap differently)."""
    for page in _PAGES:
        flat = " ".join(page.read_text(encoding="utf-8").split())
        for text in texts:
            assert text in flat, f"{page.relative_to(REPO)} does not quote {text!r}"


def test_column_slices_concatenate_and_row_partials_add() -> None:
    out = _run("interview_column_row").stdout.splitlines()
    assert [line.split()[-1] for line in out] == ["True", "True"]


def test_one_all_reduce_per_mlp_and_silu_needs_whole_sums() -> None:
    out = _run("interview_one_reduce").stdout.splitlines()
    assert out[1].endswith("== dense: True") and out[2].endswith(": False")


def test_qkv_heads_split_or_replicated() -> None:
    out = _run("interview_qkv").stdout
    assert "SmolLM2-135M TP=3: 3 q + 1 KV heads/rank, replicas 1" in out
    assert "Qwen3-0.6B TP=16: 1 q + 1 KV heads/rank, replicas 2" in out
    assert "tiny, 1 KV head TP=2: 2 q + 1 KV heads/rank, replicas 2\n" \
           "  first KV head of each rank: [0, 0]" in out
    _quoted("`num_kv_head_replicas = N // num_kv_heads`", "`r // num_kv_head_replicas`")


def test_merged_split_pairs_gate_and_up() -> None:
    out = _run("interview_merged").stdout.splitlines()
    assert out[0] == "rank 0 holds rows [0.0, 1.0, 10.0, 11.0]"
    assert out[1] == "rank 1 holds rows [2.0, 3.0, 12.0, 13.0]"


def test_vocab_embedding_masks_and_sums_to_the_dense_lookup() -> None:
    ns = _run("interview_vocab").namespace
    assert torch.equal(sum(ns["parts"]), ns["table"][ns["ids"]])
    assert all((p != 0).any(-1).sum() <= 1 for p in torch.stack(ns["parts"]).transpose(0, 1))


def test_gather_moves_n_times_less_than_all_gather() -> None:
    for line in _run("interview_lm_head").stdout.splitlines():
        n = int(line.split(":")[0].removeprefix("TP="))
        gather, all_gather = (float(x) for x in re.findall(r"([\d.]+) MiB", line)[1:])
        assert all_gather == pytest.approx(n * gather, rel=1e-3)
    _quoted("151,936")


def test_one_checkpoint_loads_at_every_size() -> None:
    out = _run("interview_loading").stdout.splitlines()
    assert len(out) == 3 and all(line.endswith("reassembled == full: True") for line in out)


def test_kv_cache_per_rank() -> None:
    ns = _run("interview_kv_cache").namespace
    qwen = ns["qwen"]
    per_rank = {tp: qwen.kv_cache_bytes_per_token(torch.bfloat16, tp) for tp in (1, 8, 16)}
    assert per_rank[1] == 8 * per_rank[8] and per_rank[8] == per_rank[16] == 14_336
    assert ns["smol"].kv_cache_bytes_per_token(torch.bfloat16, 3) * 3 == \
        ns["smol"].kv_cache_bytes_per_token(torch.bfloat16, 1)
    _quoted("14,336", "`max(1, num_kv_heads // N)`")


def test_communication_per_token() -> None:
    out = _run("interview_comm").stdout
    assert "Qwen3-0.6B: 57 all-reduces of 1024 values, 116,736 bytes per token" in out
    assert "SmolLM2-135M: 61 all-reduces of 576 values" in out
    tp2 = re.search(r"TP=2: each rank sends\s+([\d.]+) KiB", out).group(1)
    assert round(float(tp2)) == 114
    _quoted("57", "61", "116,736", "114 KiB")


def test_ring_sends_2_n_minus_1_over_n() -> None:
    for line in _run("interview_ring").stdout.splitlines():
        sent, formula = re.findall(r"(\d\.\d{3})", line)
        assert "sum everywhere True" in line and sent == formula


def test_independent_sampling_diverges() -> None:
    ns = _run("interview_broadcast").namespace
    assert ns["t0"] != ns["t1"] and ns["t0"][0] == ns["t1"][0]   # same until the extra draw


def test_a_decode_step_message_is_small() -> None:
    out = _run("interview_pickle").stdout
    decode = int(re.search(r"decode step \(32 seqs\):\s+([\d,]+) bytes", out).group(1)
                 .replace(",", ""))
    assert decode < 1024
    _quoted(f" {decode} ")


def test_lifecycle_settings() -> None:
    assert multiproc_executor.SHUTDOWN == b""
    assert "shutdown message: b''" in _run("interview_lifecycle").stdout
    assert 'if __name__ == "__main__":' in (REPO / "folovllm/executor/multiproc_executor.py"
                                            ).read_text()


def test_worker_error_carries_the_traceback() -> None:
    out = _run("interview_errors").stdout
    assert out.startswith("tensor-parallel worker rank 1 failed:\nValueError: checkpoint")
    assert "after the worker's end closes: ('exited', '')" in out


def test_parallelism_arithmetic() -> None:
    ns = _run("interview_parallelism").namespace
    (_, tp_w, tp_sent), (_, pp_w, pp_sent), (_, dp_w, dp_sent) = ns["rows"]
    assert tp_w == pp_w == dp_w / 4 and tp_sent > 50 * pp_sent and dp_sent == 0


def test_small_model_tp_does_not_pay() -> None:
    ns = _run("interview_scaling").namespace
    assert ns["weights"] == pytest.approx(_run("interview_parallelism").namespace["weights"],
                                          rel=0.01)
    assert round(ns["weights"] / 4.8e12 * 1e6, -1) == 250
    out = _run("interview_scaling").stdout.splitlines()[1:]
    one = float(out[0].split()[2])
    assert all(float(x) > one for line in out[1:] for x in line.split()[2:])
    _quoted("250 µs")


def test_testing_twins_and_named_tests() -> None:
    out = _run("interview_testing").stdout
    assert "row-parallel == dense: True" in out and "qkv-parallel == dense: True" in out
    tests = (REPO / "tests/m7/test_tensor_parallel.py").read_text()
    assert "def test_default_model_tp3_matches_tp1" in tests
    assert "def test_a_failing_worker_is_reported_with_its_traceback" in tests
    assert "rank_3_of_4" in (REPO / "tests/m7/test_parallel_layers.py").read_text()


@pytest.mark.parametrize("page", _PAGES, ids=lambda p: p.name)
def test_seventeen_questions(page) -> None:
    text = page.read_text(encoding="utf-8")
    assert len(re.findall(r"^## Q\d+\. ", text, re.M)) == 17
