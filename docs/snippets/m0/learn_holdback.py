"""How many characters of streamed text wait for a possible stop string."""

from folovllm import SamplingParams

for kwargs in ({"stop": ["###", "\nUser:"]},
               {"stop": ["###"], "include_stop_str_in_output": True}):
    held = SamplingParams(**kwargs).output_text_buffer_length
    print(f"{kwargs}: hold back {held}")
