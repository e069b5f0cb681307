"""Why SHA-256: the same digest in every process, and collisions nobody can
find on purpose. A short hash collides after about 2^(bits / 2) blocks."""

import hashlib
import math
import random
import subprocess
import sys

# Python's hash() of a str is salted per process (PYTHONHASHSEED).
code = "print(hash('system prompt'))"
runs = {subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True, env={"PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")}
print("hash() of one str in two processes agrees:", len(runs) == 1)
digest = hashlib.sha256(b"system prompt").hexdigest()
print("sha256 of it, in any process:", digest[:16] + "...")

# The birthday bound, measured on sha256 cut to 32 bits: random 16-token
# blocks until two share the short hash.
rng = random.Random(0)
seen: dict[bytes, bytes] = {}
while True:
    block = rng.randbytes(64)
    short = hashlib.sha256(block).digest()[:4]
    if short in seen and seen[short] != block:
        break
    seen[short] = block
print(f"32-bit hash: first collision after {len(seen) + 1:,} blocks")
for bits in (32, 64, 256):
    expected = math.sqrt(math.pi / 2 * 2.0**bits)
    print(f"{bits:3}-bit hash: about 2^{math.log2(expected):.0f} blocks")
