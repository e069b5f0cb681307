"""The step loop's contracts, checked on a real engine: the scheduler sends plain data, the
runner forgets finished sequences, and the runner's incremental penalty counts are the counts
over each sequence's history."""

from __future__ import annotations

import torch

from folovllm import LLM, SamplingParams
from folovllm.model_executor.layers.sampler import (
    Sampler,
    SamplerOutput,
    SamplingMetadata,
    apply_penalties,
    token_counts,
)
from tests.m2.test_parity import _mixed_prompts
from tests.sched_helpers import plain_data_problems

PENALISED = [
    SamplingParams(temperature=0, max_tokens=16, ignore_eos=True, repetition_penalty=1.8),
    SamplingParams(temperature=0, max_tokens=12, ignore_eos=True, frequency_penalty=0.9),
    SamplingParams(temperature=0, max_tokens=20, ignore_eos=True, presence_penalty=1.5),
    SamplingParams(temperature=0, max_tokens=14, ignore_eos=True),   # no penalty, same batch
    SamplingParams(temperature=0, max_tokens=18, ignore_eos=True, repetition_penalty=0.7,
                   frequency_penalty=0.4, presence_penalty=-0.6),
]


def _small_llm(tiny_model_dirs) -> LLM:
    """Four rows and a cache too small for four long sequences: rows are reused and sequences
    are preempted and resumed."""
    return LLM(str(tiny_model_dirs["llama"]), device="cpu", block_size=4, num_gpu_blocks=24,
               max_num_seqs=4)


def test_scheduler_outputs_are_plain_data_and_the_runner_forgets_finished_seqs(
        tiny_model_dirs) -> None:
    llm = _small_llm(tiny_model_dirs)
    engine = llm.llm_engine
    batch = engine.runner.input_batch
    schedule, outputs = engine.scheduler.schedule, []

    def recording_schedule():
        out = schedule()
        outputs.append(out)
        return out

    engine.scheduler.schedule = recording_schedule
    params = [SamplingParams(temperature=0.8, seed=i, max_tokens=6 + 3 * i, ignore_eos=True)
              for i in range(10)]
    llm.generate(_mixed_prompts(10, seed=5), params, use_tqdm=False)
    assert engine.scheduler.num_preemptions > 0
    assert all(plain_data_problems(out) == [] for out in outputs)
    assert set(batch.row_of) <= engine.scheduler._finished_seq_ids  # only what it was not yet told
    engine.step()                                   # an idle step carries the finished ids
    assert outputs[-1].finished_seq_ids and not outputs[-1].num_scheduled_tokens
    assert batch.row_of == {} and sorted(batch.free_rows) == [0, 1, 2, 3]
    assert batch.generators == [None] * 4 and batch.params == [None] * 4
    assert batch.request_ids == [None] * 4
    # every sequence the runner saw was forgotten exactly once
    finished = [i for out in outputs for i in out.finished_seq_ids]
    seen = {n.seq_id for out in outputs for n in out.scheduled_new_seqs}
    assert sorted(finished) == sorted(seen) and len(seen) == 10


def test_incremental_penalty_counts_equal_counts_over_the_histories(tiny_model_dirs) -> None:
    """At every sampling step, for every penalised row, the runner's device counts equal
    ``token_counts`` over the sequence's prompt and outputs so far, and sampling with metadata
    built from those counts (``SamplingMetadata.build``) gives the same logits and tokens; across
    preemptions and reused rows."""
    llm = _small_llm(tiny_model_dirs)
    engine, runner = llm.llm_engine, llm.llm_engine.runner
    execute, sampler = runner.execute_model, runner.sampler
    scheduled, steps = [], []

    def recording_execute(sched_out):
        running = {s.seq.seq_id: s for s in engine.scheduler.running}
        scheduled[:] = [running[i] for i in sched_out.num_scheduled_tokens]
        return execute(sched_out)

    def checking_sampler(logits: torch.Tensor, md: SamplingMetadata) -> SamplerOutput:
        params = [s.request.sampling_params for s in scheduled]
        prompts = [list(s.seq.data.prompt_token_ids) for s in scheduled]
        outputs = [list(s.seq.data.output_token_ids) for s in scheduled]
        vocab = logits.shape[1]
        ref = SamplingMetadata.build(params, [len(o) for o in outputs], [None] * len(params),
                                     vocab, "cpu", prompt_mask=token_counts(prompts, vocab, "cpu") > 0,
                                     output_counts=token_counts(outputs, vocab, "cpu"))
        if ref.output_counts is None:
            assert md.prompt_mask is None and md.output_counts is None
        else:
            rows = [i for i, p in enumerate(params) if p.repetition_penalty != 1.0
                    or p.frequency_penalty or p.presence_penalty]
            assert torch.equal(md.prompt_mask[rows], ref.prompt_mask[rows])
            assert torch.equal(md.output_counts[rows].long(), ref.output_counts[rows])
            assert torch.equal(apply_penalties(logits.float(), md),
                               apply_penalties(logits.float(), ref))
            steps.append(len(rows))
        out = sampler(logits, md)
        assert torch.equal(out.sampled_token_ids, Sampler()(logits, ref).sampled_token_ids)
        return out

    runner.execute_model, runner.sampler = recording_execute, checking_sampler
    prompts = _mixed_prompts(10, seed=5)
    params = [PENALISED[i % len(PENALISED)] for i in range(10)]
    outs = llm.generate(prompts, params, use_tqdm=False)
    assert engine.scheduler.num_preemptions > 0 and len(steps) > 20
    plain = [o.outputs[0].token_ids for o in llm.generate(
        prompts, SamplingParams(temperature=0, max_tokens=20, ignore_eos=True), use_tqdm=False)]
    # the penalties did change the greedy choice (the check above is not vacuous)
    assert any(o.outputs[0].token_ids != p[:len(o.outputs[0].token_ids)]
               for o, p in zip(outs, plain))
