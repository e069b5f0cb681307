"""M1 interview answers on text: stop strings, streaming holdback, min_tokens, detokenization.

The stop checker runs on hand-made sequences; the detokenizer uses the default model's tokenizer
(no weights are loaded). Run from the repository root:
``python docs/snippets/m1/interview_text.py``.
"""

from transformers import AutoTokenizer

from folovllm import SamplingParams
from folovllm.engine.detokenizer import IncrementalDetokenizer
from folovllm.engine.llm_engine import LLMEngine
from folovllm.engine.stop_checker import StopChecker
from folovllm.model_executor.default_model import ensure_default_model
from folovllm.sequence import Sequence, SequenceData, SequenceStatus

EOS = 2
checker = StopChecker(max_model_len=1000)


def feed(params: SamplingParams, pieces: list[str], tokens: list[int] | None = None):
    """Append one token per text piece, as the engine does, and run the stop check after each.

    Returns the sequence and the index of the piece that finished it (None if none did)."""
    seq = Sequence(0, SequenceData((1,)), eos_token_id=EOS)
    tokens = tokens or [100 + i for i in range(len(pieces))]
    for i, (token, piece) in enumerate(zip(tokens, pieces)):
        seq.data.append_token_id(token, 0.0)
        seq.output_text += piece
        status = checker.check(seq, params, new_char_count=len(piece))
        if status is not None:
            return seq, i, status
    return seq, None, None


# --8<-- [start:window]
pieces = ["Hello wo", "rld, and", " more"]            # "world" spans two tokens
params = SamplingParams(stop=["world"], max_tokens=50)
seq, at, status = feed(params, pieces)
assert (at, status) == (1, SequenceStatus.FINISHED_STOPPED)
assert seq.output_text == "Hello " and seq.stop_reason == "world"
assert "world" not in pieces[1]            # searching only the new piece would miss it

# The window: a match must END inside the new text, so it can START at most len(stop) - 1
# characters before it. Everything earlier was searched on previous steps.
text, new = "Hello world, and", len(pieces[1])
start = max(len(text) - new - len("world") + 1, 0)
assert text[start:] == "o world, and" and text.find("world", start) == 6

# Two stop strings completed by the same token: the first one *in the list* wins, even though
# the other one starts earlier in the text.
seq, _, _ = feed(SamplingParams(stop=["bc", "ab"], max_tokens=50), ["x", "abc"])
assert seq.stop_reason == "bc" and seq.output_text == "xa"
# --8<-- [end:window]

# --8<-- [start:include]
keep = SamplingParams(stop=["world"], include_stop_str_in_output=True, max_tokens=50)
seq, _, _ = feed(keep, pieces)
assert seq.output_text == "Hello world"     # cut AFTER the match; ", and" is still dropped
# The token ids are never cut: the token that completed the stop string stays in the output.
assert seq.data.output_token_ids == [100, 101]

# The same flag governs stop *tokens* (EOS and stop_token_ids, vLLM's rule): the token stays in
# token_ids, but the text it decoded to is removed unless include_stop_str_in_output is set.
end = dict(stop_token_ids=[7], max_tokens=50)
seq, _, _ = feed(SamplingParams(**end), ["Hi", "<end>"], tokens=[100, 7])
assert (seq.output_text, seq.stop_reason, seq.data.output_token_ids) == ("Hi", 7, [100, 7])
seq, _, _ = feed(SamplingParams(**end, include_stop_str_in_output=True), ["Hi", "<end>"],
                 tokens=[100, 7])
assert seq.output_text == "Hi<end>"
seq, _, _ = feed(SamplingParams(max_tokens=50), ["Hi", "</s>"], tokens=[100, EOS])
assert (seq.output_text, seq.stop_reason) == ("Hi", None)    # EOS: no stop_reason
# --8<-- [end:include]

# --8<-- [start:holdback]
stop = "\nUser:"
params = SamplingParams(stop=[stop], max_tokens=50)
stream = ["The answer", " is 42.", "\nUs", "er: thanks"]
hold = params.output_text_buffer_length
assert hold == len(stop) - 1 == 5


def streamed(visible) -> tuple[list[str], str]:
    """What a client prints when it prints each output's new characters, and the final text.

    ``visible(seq)`` is the text an output carries for the sequence at that step."""
    seq = Sequence(0, SequenceData((1,)), eos_token_id=EOS)
    seq.status = SequenceStatus.RUNNING           # as when the engine starts its batch
    printed, shown = [], 0
    for i, piece in enumerate(stream):
        seq.data.append_token_id(100 + i, 0.0)
        seq.output_text += piece
        status = checker.check(seq, params, len(piece))
        if status is not None:
            seq.status = status
        text = visible(seq)
        printed.append(text[shown:])                 # the client's whole rule: print the delta
        shown = max(shown, len(text))
        if status is not None:
            return printed, seq.output_text
    raise AssertionError("the stop string was not found")


# The engine's rule (LLMEngine._make_output): a running sequence's output text leaves out its
# last output_text_buffer_length characters; a finished one shows everything.
printed, final = streamed(lambda seq: LLMEngine._visible_text(seq, params))
assert final == "The answer is 42." and "".join(printed) == final   # nothing taken back
# Each running step shows all but the last 5 characters; the finishing step shows the rest.
assert printed == ["The a", "nswer i", "s 4", "2."]
# Without a holdback, the client prints "\nUs" and then the stop string cuts it from the text.
naive, final = streamed(lambda seq: seq.output_text)
assert "".join(naive) == "The answer is 42.\nUs" != final
assert SamplingParams(stop=[stop], include_stop_str_in_output=True).output_text_buffer_length == 0
# --8<-- [end:holdback]

# --8<-- [start:min_tokens]
params = SamplingParams(stop=["!"], min_tokens=3, max_tokens=10)
# Token 1 is EOS and its text holds the stop string, yet nothing may stop before 3 tokens.
seq, at, _ = feed(params, ["Hi!", "", " ok"], tokens=[EOS, 100, 101])
assert at is None and seq.output_text == "Hi! ok"
# The one exception: max_model_len. Past it there is no position left, so it ends the sequence
# ("length") even before min_tokens is reached.
tight = StopChecker(max_model_len=3)                 # the 1-token prompt leaves room for 2
short, statuses = Sequence(0, SequenceData((1,)), eos_token_id=EOS), []
for token in (100, 101):
    short.data.append_token_id(token, 0.0)
    statuses.append(tight.check(short, params, new_char_count=0))
assert statuses == [None, SequenceStatus.FINISHED_LENGTH_CAPPED]   # 2 tokens < min_tokens=3
# From the third token on, the checks run again: here the stop string ends it.
seq, at, status = feed(params, ["a", "b", "c!"])
assert (at, status, seq.output_text) == (2, SequenceStatus.FINISHED_STOPPED, "abc")
# max_tokens is never in danger: SamplingParams rejects min_tokens > max_tokens.
try:
    SamplingParams(min_tokens=5, max_tokens=4)
    raise AssertionError("min_tokens > max_tokens was accepted")
except ValueError as exc:
    assert "min_tokens=5 is invalid" in str(exc)
# --8<-- [end:min_tokens]

# --8<-- [start:detok]
tok = AutoTokenizer.from_pretrained(ensure_default_model())
text = "模型推理 🚀 done"
ids = tok(text, add_special_tokens=False).input_ids
assert len(ids) == 10 and len(text) == 11            # CJK and emoji split over byte tokens

# Wrong: decode each token alone. Half a character decodes to U+FFFD.
naive = [tok.decode([i]) for i in ids]
assert sum(piece.count("\ufffd") for piece in naive) == 7

# Wrong but correct-looking: decode everything each step; O(length) per token.
assert tok.decode(ids) == text

# Right: the incremental detokenizer with its two offsets.
detok = IncrementalDetokenizer(tok)
state = detok.init_state(tok("Q: hi").input_ids, skip_special_tokens=True)
pieces, windows = [], []
for token in ids:
    pieces.append(detok.step(state, token, skip_special_tokens=True))
    windows.append(len(state.tokens) - state.prefix_offset)
assert "".join(pieces) == text and not any("\ufffd" in p for p in pieces)
assert pieces[:3] == ["", "模", "型"]                # held back until the character is complete
assert pieces[6:9] == ["", "", " 🚀"]               # the emoji needs 3 tokens (and its space)
assert max(windows) <= 4                             # the decoded window never grows

# Generation that stops in the middle of the emoji: the partial bytes (and the space that
# shares their token) are never emitted, while a full decode shows U+FFFD.
state = detok.init_state(tok("Q: hi").input_ids, skip_special_tokens=True)
cut = "".join(detok.step(state, t, skip_special_tokens=True) for t in ids[:8])
assert cut == "模型推理" and tok.decode(ids[:8]).endswith("\ufffd")
# --8<-- [end:detok]
