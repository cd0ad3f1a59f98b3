"""`tokenyard bench`: what the pipeline adds to each request, measured on this machine.

Pure parts (latency statistics, open-loop arrival schedules, /proc CPU accounting,
table and JSON shaping) are separate from the parts that start processes and send
load, so the former are unit-tested and the latter only run in a benchmark.
"""
