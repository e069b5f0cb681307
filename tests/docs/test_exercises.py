"""Exercises: three or more per milestone, each with a folded solution program whose answer holds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from folovllm.config import check_tensor_parallel
from tests.docs.docs_tools import DOCS, REPO, SNIPPETS, run_program

_PAGES = sorted(DOCS.glob("milestones/m*/exercises*.md"))
_SOLUTION = re.compile(r'^\?\?\? success "(?:Solution|答案)"\n\n    ```python\n'
                       r'    --8<-- "(?P<path>docs/snippets/m\d/exercise_\w+\.py)"\n    ```\n', re.M)


@pytest.mark.parametrize("page", _PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_page_has_three_exercises_with_solutions(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    exercises = re.findall(r"^## \d+\. ", text, re.M)
    solutions = [m.group("path") for m in _SOLUTION.finditer(text)]
    assert len(exercises) >= 3 and len(solutions) == len(exercises)
    assert all(f"/{page.parent.name}/" in path for path in solutions), "solutions of this milestone"
    assert all(re.search(r"`pytest [^`]+`", part) for part in re.split(r"^## ", text, flags=re.M)[1:])


def test_every_milestone_has_an_exercise_page() -> None:
    for milestone in ("m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"):
        assert (DOCS / "milestones" / milestone / "exercises.md").is_file()
        assert (DOCS / "milestones" / milestone / "exercises.zh.md").is_file()


def _ns(name: str) -> dict:
    path = next(SNIPPETS.glob(f"m*/exercise_{name}.py"))
    return run_program(str(path.relative_to(REPO))).namespace


def test_m0_answers() -> None:
    assert "229,376 bytes per token" in run_program("docs/snippets/m0/exercise_gqa.py").stdout
    assert "top_p=0.75: keeps tokens [0, 1, 2]" in run_program("docs/snippets/m0/exercise_top_p.py").stdout
    assert _ns("params")["greedy"].top_k == 0 and _ns("params")["greedy"].top_p == 1.0


def test_m1_answers() -> None:
    assert _ns("intensity")["intensity"] == 32.0  # the last one printed: fp32, batch 64
    penalty = run_program("docs/snippets/m1/exercise_penalty.py").stdout.splitlines()
    assert [line[-1] for line in penalty] == ["0", "1", "1"]
    assert "['###', 'User:']}: 4 characters" in run_program("docs/snippets/m1/exercise_holdback.py").stdout


def test_m2_answers() -> None:
    ns = _ns("padding")
    assert (ns["prompt_computed"], ns["prompt_useful"]) == (200, 110)
    assert (ns["decode_computed"], ns["decode_useful"]) == (98, 53)
    assert _ns("slots")["md"].slot_mapping.tolist() == [28, 29, 30, 31, 8, 9]
    assert _ns("rmsnorm")["residual"].tolist() == [[4.0, 5.0]]


def test_m3_answers() -> None:
    assert [_ns("blocks")["kv"].num_blocks_for(n) for n in (16, 17, 33, 48, 49)] == [1, 2, 3, 3, 4]
    assert _ns("block_size")["blocks"] == 1170
    assert _ns("free_order")["kv"].get_block_ids(2) == [3, 2, 1]


def test_m4_answers() -> None:
    rule = _ns("hit_rule")
    assert rule["measured"] == {(40, 100): 32, (15, 50): 0, (47, 60): 32, (48, 48): 32,
                                (80, 81): 80}
    assert all(n == rule["rule"](p, length) for (p, length), n in rule["measured"].items())
    parent = _ns("parent")
    assert parent["after_a"] != parent["after_b"]
    assert all(h != s for h, s in zip(parent["plain"], parent["salted"], strict=True))
    lru = _ns("lru")
    assert (lru["tail"], lru["head"]) == (([5, 2], 8), ([5, 0], 0))
    assert _ns("chat")["cached"] == [0, 48, 80, 112]  # each turn: the last turn's full blocks
    assert _ns("radix")["found"] == [(0, 0), (70, 64), (70, 64), (70, 64), (20, 16), (80, 64)]


def test_m5_answers() -> None:
    assert _ns("order")["waits"] == {"Scheduler": 1, "WaitingFirst": 13}   # 16 seqs - 4 chats + 1
    steps = _ns("steps")
    assert all(n == steps["rule"](*case) for case, n in steps["measured"].items())
    assert list(steps["measured"].values()) == [4, 2, 1, 8, 4, 9]
    prop = _ns("property")
    assert prop["check"](prop["Scheduler"]) == "100 random cases passed"
    assert prop["check"](prop["NoCap"]) == "caught: chunk too large"
    first = _ns("chunk_cap")["first"]
    assert first[0]["batch"] < min(first[0][f"chat{i}"] for i in range(3))   # the chats wait
    assert max(first[32][f"chat{i}"] for i in range(3)) <= 1 and first[32]["batch"] == 62


def test_m6_answers() -> None:
    waste = run_program("docs/snippets/m6/exercise_waste.py").stdout.splitlines()
    shares = [float(line.split()[-5].rstrip("%")) for line in waste]
    assert shares == sorted(shares) and shares[0] < 5 < 40 < shares[-1]   # default, pow2, one
    for page in ("exercises.md", "exercises.zh.md"):                      # quoted in the prose
        text = (DOCS / "milestones" / "m6" / page).read_text(encoding="utf-8")
        prose = text.split("Output:" if page == "exercises.md" else "输出：")[1]
        assert all(f"{share}%" in prose.split("```")[2] for share in shares), page
    sizes = _ns("sizes")
    two, four, nine = (sizes["best"](256, k) for k in (2, 4, 9))
    assert two[0] > four[0] > nine[0] and nine[1][-1] == 256 and len(nine[1]) == 9
    assert nine[0] * 4 < sizes["pow2_waste"]                     # a quarter of the powers of two
    assert sizes["pow2_waste"] == sum(sizes["waste"](lo, hi) for lo, hi in
                                      zip([0, *sizes["pow2"]], sizes["pow2"]))
    pad = run_program("docs/snippets/m6/exercise_stale_pad.py").stdout.splitlines()
    assert pad[0].startswith("buggy pad: cache [10.0, 11.0, 12.0, 0.0")   # 99 overwritten
    assert pad[1].startswith("fixed pad: cache [10.0, 11.0, 12.0, 99.0")
    replays = run_program("docs/snippets/m6/exercise_replays.py").stdout.splitlines()
    assert [line.split()[2] for line in replays] == \
        ["eager", "eager", "graph", "eager", "eager", "eager", "graph", "graph"]
    assert [line.split()[3] for line in replays if "graph" in line] == ["8", "4", "1"]


def test_m7_answers() -> None:
    sizes = run_program("docs/snippets/m7/exercise_tp_sizes.py").stdout
    assert "SmolLM2-135M: accepts [1, 3]" in sizes and "Qwen3-0.6B: accepts [1, 2, 4, 8]" in sizes
    qwen = _ns("tp_sizes")["qwen"]
    check_tensor_parallel(qwen, 16)                      # "TP=16 would also be accepted"
    padding = run_program("docs/snippets/m7/exercise_vocab_padding.py").stdout.splitlines()
    for line, (vocab, tp) in zip(padding, [(v, n) for v in (49_152, 151_936) for n in (3, 5, 7)],
                                 strict=True):
        assert line.endswith(f" {tp * -(-vocab // tp) - vocab} padding") and f"TP={tp}:" in line
    bias = run_program("docs/snippets/m7/exercise_bias.py").stdout.splitlines()
    assert [line.split()[-1] for line in bias] == ["1.00", "2.00"]
    assert all("bias once == dense: True" in line for line in bias)
    memory = run_program("docs/snippets/m7/exercise_memory.py").stdout.splitlines()
    tokens = [int(line.split()[-2].replace(",", "")) for line in memory]
    assert all(b > 2 * a for a, b in zip(tokens[:3], tokens[1:4]))   # TP 1 -> 8: > double
    assert tokens[3] < tokens[4] < 1.01 * tokens[3]                  # TP 16: replicated heads
