"""Streaming with a stop string: the engine holds back len(stop) - 1 chars."""

from docs.snippets.m1.stop_feed import stream  # shown with Q13
from folovllm import SamplingParams

stop = "\nUser:"
params = SamplingParams(stop=[stop], max_tokens=50)
pieces = ["The answer", " is 42.", "\nUs", "er: thanks"]
hold = params.output_text_buffer_length
print("held back:", hold)


def streamed(params: SamplingParams) -> tuple[list[str], str]:
    """What a client prints (each output's new characters), and the text."""
    printed, shown = [], 0
    for out, _ in stream(params, pieces):
        printed.append(out.text[shown:])  # the client prints the delta
        shown = max(shown, len(out.text))
    return printed, out.text


class ShowEverything(SamplingParams):
    """The same request, as an engine without the holdback would treat it."""

    output_text_buffer_length = 0


# The engine's rule: a running sequence's output leaves out its last
# output_text_buffer_length characters; a finished one shows everything.
printed, final = streamed(params)
print("printed:", printed, "| final:", repr(final))
naive, naive_final = streamed(ShowEverything(stop=[stop], max_tokens=50))
print("without holding back:", naive)  # "\nUs" printed, then cut
flag = SamplingParams(stop=[stop], include_stop_str_in_output=True)
print("held back with include_stop_str_in_output:",
      flag.output_text_buffer_length)
