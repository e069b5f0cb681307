"""The claims of the M4 walkthrough's "prompt that hits the cache" section, checked on the
results of the program it shows (a real engine, blocks of 4 tokens)."""

from __future__ import annotations

from tests.docs.docs_tools import run_program

_PROGRAM = "docs/snippets/m4/walkthrough_step.py"


def test_a_hit_schedules_only_the_uncached_tokens_on_the_shared_blocks() -> None:
    ns = run_program(_PROGRAM).namespace
    a_table, new = ns["a_table"], ns["new"]
    # b shares a's first 9 of 10 tokens: two whole blocks (8 tokens) come from the cache, and
    # they are a's own blocks; only the last 2 tokens are computed, in a new block.
    assert len(new.prompt_token_ids) == 10 and new.num_computed_tokens == 8
    assert ns["b_step"].num_scheduled_tokens == {new.seq_id: 2}
    assert new.block_ids[:2] == a_table[:2] and new.block_ids[2] not in a_table


def test_a_block_is_findable_only_after_the_step_that_computed_it() -> None:
    ns = run_program(_PROGRAM).namespace
    # c and d arrive together: neither finds the other's blocks (registered after the step),
    # and the map keeps one block per hash, so only c's full blocks are registered.
    assert ns["both"] == {"c": (0, [True, True, False]), "d": (0, [False, False, False])}
