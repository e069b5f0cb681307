"""The claims of the M5 walkthrough's step section, checked on the results of the program it
shows (a real engine on a tiny model, blocks of 4 tokens, a budget of 16)."""

from __future__ import annotations

from tests.docs.docs_tools import run_program

_PROGRAM = "docs/snippets/m5/walkthrough_step.py"


def test_a_step_mixes_a_decode_with_a_chunk_and_only_the_prompts_end_samples() -> None:
    out = run_program(_PROGRAM).stdout
    # b's 40 tokens: chunks of 15, 15, 10 beside a's decode; logits only for rows that sample.
    assert "step  2: decode 1 + prefill 15 tokens, logits rows 1; computed a 6, b 15" in out
    assert "step  3: decode 1 + prefill 15 tokens, logits rows 1; computed a 7, b 30" in out
    assert "step  4: decode 1 + prefill 10 tokens, logits rows 2; computed a 8, b 40" in out
    assert "step  5: decode 2 + prefill  0 tokens" in out


def test_chunked_tokens_equal_whole_prompt_prefills() -> None:
    ns = run_program(_PROGRAM).namespace
    assert ns["same"] is True
    assert [len(ns["done"][r].outputs[0].token_ids) for r in "ab"] == [6, 6]
