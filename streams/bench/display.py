"""What a person sees while a benchmark runs (on stderr) and the table at the end."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tokenyard.streams.bench.loadgen import Progress as ProgressCallback


class BenchDisplay:
    """Progress bars per phase; messages; tables. Everything goes to stderr unless
    ``tables_to_stdout`` (the table is the output when ``--json`` is off)."""

    def __init__(self, *, quiet: bool = False, tables_to_stdout: bool = True) -> None:
        self.err = Console(stderr=True, quiet=quiet)
        # Piped output (a file, CI log) would otherwise wrap the tables at 80 columns.
        out = Console()
        if not out.is_terminal:
            out = Console(width=220)
        self.out = out if tables_to_stdout else self.err
        self._progress: Progress | None = None

    @contextlib.contextmanager
    def running(self) -> Iterator[BenchDisplay]:
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("answered {task.fields[finished]}"), TimeElapsedColumn(),
            console=self.err, transient=False,
        )
        with self._progress:
            yield self
        self._progress = None

    def say(self, message: str) -> None:
        self.err.log(message)

    def phase(self, label: str) -> ProgressCallback:
        """A callback for :func:`run_open_loop` showing ``label``'s progress."""
        progress = self._progress
        if progress is None:
            return lambda started, finished, total: None
        task = progress.add_task(label, total=None, finished=0)

        def update(started: int, finished: int, total: int) -> None:
            progress.update(task, completed=started, total=total, finished=finished)

        return update

    def table(self, title: str, headers: Sequence[str], cells: Sequence[Sequence[str]]) -> None:
        table = Table(title=title, show_lines=False)
        for header in headers:
            table.add_column(header, justify="right")
        for row in cells:
            table.add_row(*row)
        self.out.print(table)
