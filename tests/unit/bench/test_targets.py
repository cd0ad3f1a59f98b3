from tokenyard.streams.bench.targets import _has_text, prompt


def test_prompts_are_distinct_and_reproducible():
    texts = [prompt(i)[0]["content"] for i in range(500)]
    assert len(set(texts)) == 500
    assert prompt(7) == prompt(7)
    # not one template with a number swapped: the words themselves differ
    assert prompt(1)[0]["content"].split()[:4] != prompt(2)[0]["content"].split()[:4]


def test_first_chunk_is_the_first_sse_line_with_text():
    assert not _has_text('data: {"choices":[{"delta":{"role":"assistant","content":""}}]}')
    assert _has_text('data: {"choices":[{"delta":{"content":"echo: "}}]}')
    assert not _has_text("data: [DONE]")
    assert not _has_text('data: {"choices":[],"usage":{"prompt_tokens":3}}')
    assert not _has_text(": keep-alive")
