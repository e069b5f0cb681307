"""The engine's stop checks, driven one token at a time (Q13, Q14, Q16)."""

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
