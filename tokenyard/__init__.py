"""tokenyard: a Kafka-native LLM gateway.

The subpackages map to the repository's top-level folders (see pyproject.toml):
``tokenyard.streams`` (app, topics, settings, client, CLI), ``tokenyard.agents``
(the thin Faust stages), ``tokenyard.schemas`` (wire records), ``tokenyard.analytics``
(ClickHouse), and the pure cores ``providers``, ``cache``, ``admission``, ``pricing``.
"""

__version__ = "0.1.0"
