"""Cost analytics in ClickHouse: migrations, the usage sink core, named queries, report.

Start at README.md beside this file: which process may open embedded chDB, what is
exact under redelivery and why, and the API the usage-sink agent calls.
"""
