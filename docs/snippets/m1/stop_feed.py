"""The engine's stop checks, driven one token at a time (Q13, Q14, Q16).

Each token takes the engine's path: the scheduler appends it and runs
check_stop (min_tokens, EOS, stop ids, max_tokens, max_model_len), then
output processing decodes it, cuts the text at a stop string and holds
back the end of a running sequence's text."""

from collections.abc import Iterator

from folovllm import SamplingParams
from folovllm.core.scheduler import SequenceUpdate, check_stop
from folovllm.engine.output_processor import OutputProcessor
from folovllm.outputs import CompletionOutput
from folovllm.sequence import Request, SequenceStatus

EOS = 2


class Pieces:
    """A toy tokenizer: each generated token id decodes to a given piece."""

    def __init__(self, pieces: dict[int, str]) -> None:
        self.pieces = pieces

    def convert_ids_to_tokens(self, ids: list[int], skip_special_tokens: bool
                              ) -> list[str | None]:
        return [self.pieces.get(i) for i in ids]  # None: no text (the prompt)

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return "".join(tokens)


def stream(params: SamplingParams, pieces: list[str],
           tokens: list[int] | None = None,
           ) -> Iterator[tuple[CompletionOutput, SequenceStatus | None]]:
    """One token per text piece, as the engine appends them. After each: the
    output a client gets, and the status if the token finished the sequence."""
    tokens = tokens or [100 + i for i in range(len(pieces))]
    req = Request.create("0", None, [1], params, 0, EOS)
    seq = req.seqs[0]
    seq.status = SequenceStatus.RUNNING  # as when the scheduler admits it
    outputs = OutputProcessor(Pieces(dict(zip(tokens, pieces))))
    outputs.add_request(req)
    for token in tokens:
        seq.data.append_token_id(token, 0.0)  # the scheduler's part
        status, stop_id = check_stop(seq, params, max_model_len=1000)
        if status is not None:
            seq.status = status
        update = SequenceUpdate(req, seq, [token], stop_reason=stop_id)
        if outputs.process_updates([update], now=0.0).stopped_seq_ids:
            seq.status = status = SequenceStatus.FINISHED_STOPPED
        yield outputs.make_output(req).outputs[0], status
        if status is not None:
            return


def feed(params: SamplingParams, pieces: list[str],
         tokens: list[int] | None = None,
         ) -> tuple[CompletionOutput, int | None, SequenceStatus | None]:
    """The last output, the piece that finished it and its status."""
    for i, (out, status) in enumerate(stream(params, pieces, tokens)):
        if status is not None:
            return out, i, status
    return out, None, None
