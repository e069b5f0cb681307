"""Exercise: how many characters does the engine hold back?"""

from folovllm import SamplingParams

for kwargs in ({"stop": ["###", "User:"]},
               {"stop": ["###", "User:"], "include_stop_str_in_output": True},
               {"stop_token_ids": [2]}):
    held = SamplingParams(**kwargs).output_text_buffer_length
    print(f"{kwargs}: {held} characters held back")
