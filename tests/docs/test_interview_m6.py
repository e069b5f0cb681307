"""The claims the M6 interview answers rely on, checked on the programs the page shows and on
the measured results they quote.

Each program prints what the page shows (tests/docs/test_outputs.py compares the two); these
tests pin what the answers say about it, from the globals the programs leave, and check that
every measured number the English and Chinese pages quote is the one in the results file.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tests.docs.docs_tools import DOCS, REPO, RESULTS, run_program

_PAGES = [DOCS / "milestones" / "m6" / name for name in ("interview.md", "interview.zh.md")]


def _ns(name: str) -> dict:
    return run_program(f"docs/snippets/m6/{name}.py").namespace


def _step() -> dict[tuple[int, bool], dict]:
    rows = json.loads((RESULTS / "m6-gpu-step-time.json").read_text())["rows"]
    return {(r["num_seqs"], r["cuda_graphs"]): r for r in rows}


def _tokens_per_s() -> dict[str, float]:
    bench = json.loads((RESULTS / "m6-gpu-nanovllm.json").read_text())
    return {r["engine"]: r["output_tokens_per_s"] for r in bench["results"]}


def _quoted(*texts: str) -> None:
    """Each text appears in both pages (whitespace-normalised: lines wrap differently)."""
    for page in _PAGES:
        flat = " ".join(page.read_text(encoding="utf-8").split())
        for text in texts:
            assert text in flat, f"{page.relative_to(REPO)} does not quote {text!r}"


def _ms(value: float) -> str:
    return f"{value:.2f} ms"


def test_launch_arithmetic_quotes_the_measurements() -> None:
    step = _step()
    one, one_g = step[1, False], step[1, True]
    assert one["launches_per_step"] == step[16, False]["launches_per_step"] == 448
    assert int(1000 * one["wall_ms"] / one["launches_per_step"]) == 41
    _quoted("448", _ms(one["wall_ms"]), _ms(one["gpu_ms"]),
            f"{one['gpu_ms'] / one['wall_ms']:.0%}", "41 µs", _ms(one_g["wall_ms"]),
            _ms(one_g["gpu_ms"]), f"{one['wall_ms'] / one_g['wall_ms']:.1f}x",
            _ms(step[256, False]["gpu_ms"]), _ms(step[256, False]["wall_ms"]),
            _ms(step[256, True]["wall_ms"]),
            f"{step[256, False]['wall_ms'] / step[256, True]['wall_ms']:.1f}x",
            _ms(step[16, False]["gpu_ms"]), _ms(step[16, False]["wall_ms"]))
    graphed = {r["launches_per_step"] for (_, g), r in step.items() if g}
    assert graphed == {27, 28}
    _quoted("27", "28")
    assert one["wall_ms"] > step[16, False]["wall_ms"]   # "does not grow with the batch"


def test_record_keeps_tensors_not_values() -> None:
    out = run_program("docs/snippets/m6/interview_record.py").stdout.splitlines()
    assert out[1].split("|")[0].split(":")[1].strip() == out[1].split("eager:")[1].strip()
    assert out[2].split("|")[0].split(":")[1].strip() != out[2].split("eager:")[1].strip()


def test_static_buffers() -> None:
    assert "[True, True, True, True]" in run_program(
        "docs/snippets/m6/interview_static.py").stdout


def test_buckets() -> None:
    ns = _ns("interview_buckets")
    default, pow2 = ns["default"], ns["pow2"]
    assert len(default.sizes) == 35 and default.padded_size(100) == 104
    waste = [default.padded_size(n) - n for n in range(1, 257)]
    pow2_waste = [pow2.padded_size(n) - n for n in range(1, 257)]
    assert max(waste) == 7 and max(pow2_waste) == 127
    _quoted("104", "35", f"{sum(waste) / 256:.2f}", "127", f"{sum(pow2_waste) / 256:.2f}")


def test_pool_order() -> None:
    ns = _ns("interview_pool")
    sizes, mib = ns["sizes"], 2**20
    largest = ns["pool_bytes"](sizes[::-1]) / mib
    smallest = ns["pool_bytes"](sizes) / mib
    separate = ns["pool_bytes"](sizes, shared=False) / mib
    assert largest == sum(ns["temporaries"](256)) / mib < smallest < separate
    _quoted(f"{largest:.1f} MiB", f"{smallest:.1f} MiB", f"{separate:.1f} MiB")


def test_host_branch_is_frozen() -> None:
    ns = _ns("interview_host_branch")
    assert ns["g"].kernels == [] and ns["out"].tolist() == [5.0, 9.0]   # eager ran last
    out = run_program("docs/snippets/m6/interview_host_branch.py").stdout
    assert "replay with lengths [5, 9]: [0.0, 0.0]" in out
    assert "enforce_eager=False is invalid" in out


def test_sampling_outside() -> None:
    ns = _ns("interview_sampling")
    assert ns["cfg"].vocab_size == 151_936
    mib = 2**20
    _quoted(f"{ns['hidden'] / mib:.1f} MiB", f"{ns['logits'] / mib:.0f} MiB", "151,936")


def test_replay_decisions() -> None:
    ns = _ns("interview_replays")
    decide = ns["runner"]._graph_size
    assert decide(np.array([1] * 100)) == 104 and decide(np.array([1, 1, 1, 29])) is None
    assert decide(np.array([1])) == 1


def test_modes() -> None:
    kinds = _ns("interview_modes")["kinds"]
    share = kinds["decode only"] / sum(kinds.values())
    assert kinds["mixed"] > 0 and kinds["prefill only"] > 0
    _quoted(f"{share:.0%}")


def test_stale_input_needs_changing_batches() -> None:
    ns = _ns("interview_stale")
    check, a, b = ns["same_as_eager"], ns["a"], ns["b"]
    assert check([a, b], buggy=False)
    assert check([a, a], buggy=True) and not check([a, b], buggy=True)
    gpu_tests = (REPO / "tests/gpu/test_m6_gpu.py").read_text()
    assert "def test_a_graph_reads_each_steps_inputs_not_the_captured_ones" in gpu_tests


def test_splits() -> None:
    ns = _ns("interview_splits")
    split = ns["choose_num_splits"]
    assert split(1, 8, 2048, 132) > split(1, 8, 300, 132)   # captured for the longest
    assert split(64, 8, 2048, 132) == 1
    out = run_program("docs/snippets/m6/interview_splits.py").stdout.splitlines()[-3:]
    assert all(line.endswith("same as one softmax: True") for line in out)
    assert (ns["merged"] - ns["whole"]).abs().max().item() < 1e-12   # 8 splits, 3 of them empty
    assert "(5 non-empty)" in out[-1]


def test_async_bound() -> None:
    step, tps = _step(), _tokens_per_s()
    big = step[256, True]
    idle = big["wall_ms"] - big["gpu_ms"]
    bound = big["wall_ms"] / max(idle, big["gpu_ms"])
    _quoted(_ms(idle), _ms(big["wall_ms"]), f"({idle / big['wall_ms']:.0%})", f"{bound:.2f}x",
            f"{tps['folovllm'] / tps['folovllm-eager']:.2f}x",
            f"{tps['folovllm']:,.1f}", f"{tps['folovllm-eager']:,.1f}")


def test_compile_graphs_keep_gpu_time() -> None:
    step = _step()
    for n in (1, 16, 64, 256):
        eager, graphs = step[n, False]["gpu_ms"], step[n, True]["gpu_ms"]
        assert abs(eager - graphs) / eager < 0.02          # "the same with and without"
    _quoted(_ms(step[256, False]["gpu_ms"]), _ms(step[256, True]["gpu_ms"]))


def test_testing_sizes_are_the_gpu_tests() -> None:
    gpu_tests = (REPO / "tests/gpu/test_m6_gpu.py").read_text()
    assert "for n in (1, 3, 8, 13, 64, 255):" in gpu_tests
    assert "num_replays > before" in gpu_tests
    graphs = _ns("interview_testing")["graphs"]
    exact = [n for n in (1, 3, 8, 13, 64, 255) if graphs.padded_size(n) == n]
    assert exact == [1, 8, 64]
    _quoted("(1, 3, 8, 13, 64, 255)")


def test_block_table() -> None:
    ns = _ns("interview_block_table")
    assert ns["table"][0].tolist() == [5, 8, 9, 0]        # stale 8, 9 beyond one block
    assert ns["entries"] == 128 and ns["rows"] * ns["entries"] * 4 == 128 * 1024
    _quoted("128 KiB")


def test_config() -> None:
    ns = _ns("interview_config")
    assert ns["m"].enforce_eager is True
    out = run_program("docs/snippets/m6/interview_config.py").stdout
    assert out.count("is invalid") == 3


@pytest.mark.parametrize("page", _PAGES, ids=lambda p: p.name)
def test_seventeen_questions(page) -> None:
    assert len(re.findall(r"^## Q\d+\. ", page.read_text(encoding="utf-8"), re.M)) == 17
