"""tokenyard's OpenAI-compatible HTTP front door (``tokenyard serve``).

Applications that speak the OpenAI chat-completions API point their SDK at the
front door; it authenticates the caller (API key -> tenant), publishes the request
to Kafka through one shared :class:`~tokenyard.streams.client.TokenyardClient`,
and answers in OpenAI's format (JSON, or SSE with ``stream: true``).

Modules, by concept:
- ``settings``: :class:`FrontDoorSettings` (host, port, keys file, timeouts).
- ``keys``: :class:`KeyRing`, API key -> tenant with hashed keys.
- ``chat_request``: an OpenAI request body -> the fields of a tokenyard Request.
- ``openai_format``: tokenyard replies and chunks -> OpenAI bodies and SSE chunks.
- ``http_errors``: every tokenyard error code -> HTTP status and OpenAI error body.
- ``stream_relay``: what to send when the gateway restarts a stream mid-way.
- ``app``: the aiohttp application; ``server``: running it with a real client.
"""
