"""Exercise: a tiny radix tree (SGLang's RadixAttention keeps one) against
the block hash chain, on the same prompts.

The radix tree stores every earlier prompt, token by token, on edges that
hold runs of tokens; a lookup walks down as far as the tokens agree. The
hash chain is the engine's own KVCacheManager, blocks of 16 tokens.
"""

from dataclasses import dataclass, field

from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.sequence import Sequence, SequenceData


@dataclass
class Node:
    # first token of an edge -> (the edge's tokens, the node it leads to)
    edges: dict[int, tuple[list[int], "Node"]] = field(default_factory=dict)


def common(a: list[int], b: list[int]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def match(node: Node, tokens: list[int]) -> int:
    """How many leading tokens of ``tokens`` the tree holds."""
    done = 0
    while done < len(tokens) and tokens[done] in node.edges:
        edge, child = node.edges[tokens[done]]
        n = common(edge, tokens[done:])
        done += n
        if n < len(edge):
            break
        node = child
    return done


def insert(node: Node, tokens: list[int]) -> None:
    while tokens:
        if tokens[0] not in node.edges:
            node.edges[tokens[0]] = (tokens, Node())
            return
        edge, child = node.edges[tokens[0]]
        n = common(edge, tokens)
        if n < len(edge):                        # split the edge at n
            middle = Node({edge[n]: (edge[n:], child)})
            node.edges[tokens[0]] = (edge[:n], middle)
            child = middle
        node, tokens = child, tokens[n:]


system = [(5 * i) % 97 + 3 for i in range(70)]  # 70 shared tokens
prompts = [system + [200 + j] * (10 + 3 * j) for j in range(4)]
prompts.append(system[:20] + [250] * 30)        # shares only 20 tokens
prompts.append(list(prompts[0]))                # the first one again

root = Node()
kv = KVCacheManager(num_blocks=64, block_size=16, enable_caching=True)
found = []
for i, prompt in enumerate(prompts):
    radix = match(root, prompt)
    seq = Sequence(i, SequenceData(tuple(prompt)))
    hits, chain = kv.get_computed_blocks(seq)
    kv.allocate_slots(i, len(prompt), hits)
    seq.data.num_computed_tokens = len(prompt)  # as if a step computed it
    kv.cache_blocks(seq)
    insert(root, prompt)
    found.append((radix, chain))
    print(f"prompt {i} ({len(prompt)} tokens): radix {radix:2d}, "
          f"hash chain {chain:2d}")
