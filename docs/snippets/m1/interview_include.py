"""include_stop_str_in_output, for stop strings and for stop tokens."""

from folovllm import SamplingParams
from folovllm.engine.stop_checker import StopChecker
from folovllm.sequence import Sequence, SequenceData

EOS = 2
checker = StopChecker(max_model_len=1000)


def feed(params: SamplingParams, pieces: list[str],
         tokens: list[int] | None = None):
    """One token per text piece, as the engine appends them, each checked.

    Returns the sequence, the piece that finished it and its status."""
    seq = Sequence(0, SequenceData((1,)), eos_token_id=EOS)
    tokens = tokens or [100 + i for i in range(len(pieces))]
    for i, (token, piece) in enumerate(zip(tokens, pieces)):
        seq.data.append_token_id(token, 0.0)
        seq.output_text += piece
        status = checker.check(seq, params, new_char_count=len(piece))
        if status is not None:
            return seq, i, status
    return seq, None, None


pieces = ["Hello wo", "rld, and", " more"]
keep = SamplingParams(stop=["world"], include_stop_str_in_output=True,
                      max_tokens=50)
kept, _, _ = feed(keep, pieces)
print("stop string kept:", repr(kept.output_text),
      "| token ids:", kept.data.output_token_ids)  # ids are never cut

# Stop tokens: the token stays in token_ids; its text goes unless the flag.
end = dict(stop_token_ids=[7], max_tokens=50)
runs = {"stop token 7": SamplingParams(**end),
        "stop token 7, flag": SamplingParams(**end,
                                             include_stop_str_in_output=True),
        "EOS": SamplingParams(max_tokens=50)}
ended = {}
for name, params in runs.items():
    last = EOS if name == "EOS" else 7
    ended[name], _, _ = feed(params, ["Hi", "<end>"], tokens=[100, last])
    seq = ended[name]
    print(f"{name + ':':<19} text {seq.output_text!r:<10} stop_reason",
          repr(seq.stop_reason), "| token ids", seq.data.output_token_ids)
