"""M0 example: one request's sequences through the status state machine, and a fork.

Run: python examples/m0_sequence_life.py
"""

from folovllm import SamplingParams
from folovllm.sequence import IllegalTransitionError, Request, SequenceStatus


def main() -> None:
    params = SamplingParams(n=2, best_of=2, temperature=0.8, max_tokens=3)
    req = Request.create("req-0", "Hello", [101, 102, 103], params, first_seq_id=0, eos_token_id=2)
    seq, other = req.seqs
    prompt = list(seq.data.prompt_token_ids)
    print(f"request {req.request_id}: {len(req.seqs)} sequences share prompt {prompt}")

    seq.status = SequenceStatus.RUNNING              # scheduled for prefill
    seq.data.num_computed_tokens = seq.data.get_len()
    seq.data.append_token_id(7, logprob=-0.25)       # the first sampled token
    print(f"after one step : {seq.status.name}, tokens {seq.data.get_token_ids()}")

    seq.status = SequenceStatus.PREEMPTED            # KV memory ran out: recompute later
    seq.data.reset_state_for_recompute()
    print(f"preempted      : {seq.data.get_len() - seq.data.num_computed_tokens} tokens to recompute")
    seq.status = SequenceStatus.RUNNING

    child = seq.fork(new_seq_id=99)
    child.data.append_token_id(8, logprob=-1.0)
    print(f"fork           : parent {seq.data.output_token_ids}, child {child.data.output_token_ids}")

    seq.status = SequenceStatus.FINISHED_LENGTH_CAPPED
    other.status = SequenceStatus.FINISHED_ABORTED
    print(f"finished       : {req.is_finished()}, reason "
          f"{SequenceStatus.get_finished_reason(seq.status)!r}")
    try:
        seq.status = SequenceStatus.RUNNING
    except IllegalTransitionError as e:
        print(f"illegal move   : {e}")


if __name__ == "__main__":
    main()
