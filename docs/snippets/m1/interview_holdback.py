"""Streaming with a stop string: the engine holds back len(stop) - 1 chars."""

from folovllm import SamplingParams
from folovllm.engine.llm_engine import LLMEngine
from folovllm.engine.stop_checker import StopChecker
from folovllm.sequence import Sequence, SequenceData, SequenceStatus

EOS = 2
checker = StopChecker(max_model_len=1000)
stop = "\nUser:"
params = SamplingParams(stop=[stop], max_tokens=50)
stream = ["The answer", " is 42.", "\nUs", "er: thanks"]
hold = params.output_text_buffer_length
print("held back:", hold)


def streamed(visible) -> tuple[list[str], str]:
    """What a client prints (each output's new characters), and the text.

    ``visible(seq)`` is the text an output carries for the sequence."""
    seq = Sequence(0, SequenceData((1,)), eos_token_id=EOS)
    seq.status = SequenceStatus.RUNNING  # as when the engine starts it
    printed, shown = [], 0
    for i, piece in enumerate(stream):
        seq.data.append_token_id(100 + i, 0.0)
        seq.output_text += piece
        status = checker.check(seq, params, len(piece))
        if status is not None:
            seq.status = status
        text = visible(seq)
        printed.append(text[shown:])  # the client prints the delta
        shown = max(shown, len(text))
        if status is not None:
            return printed, seq.output_text
    raise AssertionError("the stop string was not found")


# The engine's rule: a running sequence's output leaves out its last
# output_text_buffer_length characters; a finished one shows everything.
printed, final = streamed(lambda seq: LLMEngine._visible_text(seq, params))
print("printed:", printed, "| final:", repr(final))
naive, naive_final = streamed(lambda seq: seq.output_text)
print("without holding back:", naive)  # "\nUs" printed, then cut
flag = SamplingParams(stop=[stop], include_stop_str_in_output=True)
print("held back with include_stop_str_in_output:",
      flag.output_text_buffer_length)
