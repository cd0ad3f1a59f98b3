from tokenyard.providers.sse import SseDecoder, SseEvent


def _decode(lines):
    decoder = SseDecoder()
    events = [e for line in lines if (e := decoder.feed_line(line)) is not None]
    if (tail := decoder.flush()) is not None:
        events.append(tail)
    return events


def test_events_data_joining_comments_and_defaults():
    lines = [": keep-alive", "event: ping", "data: {}", "", "data: a", "data:b", "", "id: 4", "", "data: [DONE]"]
    assert _decode(lines) == [SseEvent("ping", "{}"), SseEvent("message", "a\nb"), SseEvent("message", "[DONE]")]


def test_blank_lines_alone_yield_nothing():
    assert _decode(["", "", ": x", ""]) == []
