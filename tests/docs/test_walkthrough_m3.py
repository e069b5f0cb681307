"""The claims of the M3 walkthrough's data-flow section, checked on a real engine step."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from folovllm import SamplingParams
from folovllm.core.scheduler_output import ModelRunnerOutput, SchedulerOutput
from folovllm.engine.llm_engine import LLMEngine
from folovllm.engine.output_processor import OutputProcessor
from folovllm.sequence import Request, Sequence


def _live_objects(value: object) -> list[object]:
    """Every Sequence or Request reachable from a step object."""
    if isinstance(value, (Sequence, Request)):
        return [value]
    if dataclasses.is_dataclass(value):
        value = [getattr(value, f.name) for f in dataclasses.fields(value)]
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, (list, tuple, set)):
        return [found for item in value for found in _live_objects(item)]
    return []


def test_a_step_hands_on_plain_data_and_deltas(tiny_model_dirs: dict[str, Path]) -> None:
    engine = LLMEngine.from_engine_args(model=str(tiny_model_dirs["llama"]), device="cpu",
                                        max_model_len=64, block_size=4, num_gpu_blocks=16)
    steps: list[tuple[SchedulerOutput, ModelRunnerOutput]] = []
    execute = engine.runner.execute_model

    def record(scheduler_output: SchedulerOutput) -> ModelRunnerOutput:
        steps.append((scheduler_output, execute(scheduler_output)))
        return steps[-1][1]

    engine.runner.execute_model = record
    params = SamplingParams(temperature=0, max_tokens=3, ignore_eos=True)
    engine.add_request({"prompt_token_ids": [5, 6, 7, 8, 9]}, params, request_id="a")
    engine.step()
    engine.step()
    assert all(not _live_objects(obj) for step in steps for obj in step)
    (first, first_out), (second, second_out) = steps
    # The first step sends the new sequence whole: its prompt and its whole block table.
    [new] = first.scheduled_new_seqs
    assert new.prompt_token_ids == (5, 6, 7, 8, 9) and len(new.block_ids) == 2
    assert first.num_scheduled_tokens == {new.seq_id: 5}
    # The second only what changed: no prompt, no token ids, its computed count, no new block
    # (6 tokens fit 2 blocks of 4).
    assert not second.scheduled_new_seqs
    cached = second.scheduled_cached_seqs
    assert (cached.seq_ids, cached.num_computed_tokens, cached.new_block_ids) == \
        ([new.seq_id], [5], [[]])
    # The scheduler appended what the runner sampled; the text is output processing's alone.
    seq = engine.requests["a"].seqs[0]
    tokens = [*first_out.sampled_token_ids[0], *second_out.sampled_token_ids[0]]
    assert seq.data.output_token_ids == tokens and seq.data.num_computed_tokens == 6
    assert not hasattr(seq, "output_text")
    assert isinstance(engine.output_processor, OutputProcessor)
    state = engine.output_processor.seq_states[seq.seq_id]
    assert len(state.detok.tokens) == 5 + 2  # its detokenizer has seen both new tokens
