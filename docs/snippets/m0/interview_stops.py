"""Stop strings, and why the engine holds back len(stop) - 1 chars."""

from folovllm import SamplingParams

sp = SamplingParams(stop="###", stop_token_ids=[7])
print("stop:", sp.stop, "stop_token_ids:", sp.stop_token_ids)  # lists
print("held back:", sp.output_text_buffer_length)  # len("###") - 1
kept_sp = SamplingParams(stop="###", include_stop_str_in_output=True)
print("held back with include_stop_str_in_output:",
      kept_sp.output_text_buffer_length)


def stream(chunks: list[str], params: SamplingParams,
           hold: int) -> tuple[str, list[str]]:
    """A toy detokenizer: the final text, and what was shown each step."""
    text, shown = "", []
    for chunk in chunks:
        text += chunk
        for stop in params.stop:
            i = text.find(stop)
            if i != -1:
                keep = params.include_stop_str_in_output
                return text[:i + len(stop) if keep else i], shown
        shown.append(text[: len(text) - hold])
    return text, shown


chunks = ["The answer", " is 42", "#", "#", "#", " and more"]
params = SamplingParams(stop="###")
final, shown = stream(chunks, params, hold=params.output_text_buffer_length)
print("final:", repr(final), "| shown:", shown)
_, naive = stream(chunks, params, hold=0)
print("without holding back, shown:", naive)  # "##" shown, then taken back
kept, _ = stream(chunks, kept_sp, hold=0)
print("include_stop_str_in_output:", repr(kept))
