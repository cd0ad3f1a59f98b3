"""A gateway worker under cProfile: ``python -m tokenyard.streams.bench.profiled_worker
--config FILE --out FILE.prof``.

The same assembly as ``tokenyard worker`` (``build_gateway_app`` + ``run``); the
profile is written when the worker stops (SIGTERM/SIGINT end Faust's worker,
whose ``run`` then returns or raises SystemExit). cProfile sees the main thread
only: Faust's consumer thread (fetching) is not in it, so read the numbers as
"the event loop that runs the agent, the provider calls and the producer".
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)

    from tokenyard.streams.assembly import build_gateway_app, run
    from tokenyard.streams.settings import load_settings

    app = build_gateway_app(load_settings(args.config, os.environ), os.environ)
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        run(app, loglevel="info")  # as `tokenyard worker` runs it
    finally:
        profiler.disable()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(str(args.out))
        with open(args.out.with_suffix(".txt"), "w") as report:
            stats = pstats.Stats(profiler, stream=report).sort_stats("tottime")
            stats.print_stats(60)
            stats.sort_stats("cumulative").print_stats(60)


if __name__ == "__main__":
    main()
