"""CPU time and memory of processes, from ``/proc/<pid>/stat`` (Linux).

CPU seconds per 1,000 requests = (utime + stime after - before) / ticks per
second / requests * 1000: what each process paid for the work of a window.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# The name under which a window reports the CPU of every process not metered.
OTHERS = "others"

# Field numbers (1-based) in proc(5): 4 ppid, 14 utime, 15 stime, 24 rss (pages).
_PPID, _UTIME, _STIME, _RSS = 4, 14, 15, 24


@dataclass(frozen=True)
class ProcStat:
    pid: int
    comm: str
    utime_ticks: int
    stime_ticks: int
    rss_pages: int
    ppid: int = 0

    @property
    def cpu_ticks(self) -> int:
        return self.utime_ticks + self.stime_ticks


def parse_proc_stat(text: str) -> ProcStat:
    """One ``/proc/<pid>/stat`` line. ``comm`` may hold spaces and parentheses, so
    fields are counted from the last ``)``."""
    open_paren, close_paren = text.find("("), text.rfind(")")
    if open_paren < 0 or close_paren < open_paren:
        raise ValueError(f"not a /proc/<pid>/stat line: {text[:80]!r}")
    pid = int(text[:open_paren])
    comm = text[open_paren + 1 : close_paren]
    rest = text[close_paren + 1 :].split()
    # rest[0] is field 3 (state)
    if len(rest) < _RSS - 2:
        raise ValueError(f"/proc/<pid>/stat line has {len(rest) + 2} fields, expected at least {_RSS}")

    def field(number: int) -> int:
        return int(rest[number - 3])

    return ProcStat(pid, comm, field(_UTIME), field(_STIME), field(_RSS), ppid=field(_PPID))


def read_proc_stat(pid: int, proc: Path = Path("/proc")) -> ProcStat:
    return parse_proc_stat((proc / str(pid) / "stat").read_text())


def descendants(pid: int, proc: Path = Path("/proc")) -> list[int]:
    """Every live process below ``pid`` (e.g. a server's worker processes)."""
    parents: dict[int, list[int]] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = read_proc_stat(int(entry.name), proc)
        except (OSError, ValueError):
            continue  # gone meanwhile, or not readable
        parents.setdefault(stat.ppid, []).append(stat.pid)
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return sorted(found)


def ticks_per_second() -> int:
    return int(os.sysconf("SC_CLK_TCK"))


def page_size() -> int:
    return int(os.sysconf("SC_PAGE_SIZE"))


@dataclass(frozen=True)
class Usage:
    """What one process spent during one window."""

    cpu_s: float
    rss_mb: float

    def per_1k(self, requests: int) -> float | None:
        return None if requests <= 0 else self.cpu_s / requests * 1000.0


def usage_between(
    before: ProcStat, after: ProcStat, *, hz: int, page_bytes: int
) -> Usage:
    if before.pid != after.pid:
        raise ValueError(f"samples of different processes: {before.pid} and {after.pid}")
    if after.cpu_ticks < before.cpu_ticks:
        raise ValueError(f"CPU time of pid {before.pid} went backwards")
    return Usage(
        cpu_s=(after.cpu_ticks - before.cpu_ticks) / hz,
        rss_mb=after.rss_pages * page_bytes / 1e6,
    )


class ProcessMeter:
    """Samples named processes; ``window()`` gives each one's usage since ``mark()``."""

    def __init__(self, pids: Mapping[str, int], proc: Path = Path("/proc")) -> None:
        self.pids = dict(pids)
        self.proc = proc
        self.hz = ticks_per_second()
        self.page_bytes = page_size()
        self._marked: dict[str, ProcStat] = {}
        self._host_marked = HostStat(0, 0)

    def sample(self) -> dict[str, ProcStat]:
        return {name: read_proc_stat(pid, self.proc) for name, pid in self.pids.items()}

    def mark(self) -> None:
        self._marked = self.sample()
        self._host_marked = read_host_stat(self.proc)

    def window(self) -> dict[str, Usage]:
        """Each process's usage since :meth:`mark`, plus ``others``: everything else
        the machine ran meanwhile (as CPU seconds, RSS 0)."""
        now, host = self.sample(), read_host_stat(self.proc)
        usage = {
            name: usage_between(self._marked[name], now[name], hz=self.hz, page_bytes=self.page_bytes)
            for name in self.pids
        }
        usage[OTHERS] = Usage(cpu_s=others_cpu_s(self._host_marked, host, usage, hz=self.hz), rss_mb=0.0)
        return usage


@dataclass(frozen=True)
class HostStat:
    """The machine's CPU time so far, from the first line of ``/proc/stat`` (ticks)."""

    busy_ticks: int
    total_ticks: int


def parse_host_stat(text: str) -> HostStat:
    """``cpu  user nice system idle iowait irq softirq steal ...``: busy is all but idle and iowait."""
    first = text.splitlines()[0].split() if text else []
    if not first or first[0] != "cpu" or len(first) < 6:
        raise ValueError(f"not a /proc/stat cpu line: {first[:3]!r}")
    ticks = [int(v) for v in first[1:]]
    idle = ticks[3] + ticks[4]
    # guest time is already counted in user time
    total = sum(ticks[:8])
    return HostStat(busy_ticks=total - idle, total_ticks=total)


def read_host_stat(proc: Path = Path("/proc")) -> HostStat:
    return parse_host_stat((proc / "stat").read_text())


def others_cpu_s(before: HostStat, after: HostStat, ours: Mapping[str, Usage], *, hz: int) -> float:
    """CPU seconds the machine spent on processes other than ``ours`` in the window:
    other people's work on a shared box, which inflates latency without showing in
    our own accounts."""
    busy_s = (after.busy_ticks - before.busy_ticks) / hz
    return max(0.0, busy_s - sum(u.cpu_s for u in ours.values()))
