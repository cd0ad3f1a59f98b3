from pathlib import Path

import pytest

from tokenyard.streams.bench.cpu import (
    OTHERS,
    HostStat,
    ProcessMeter,
    Usage,
    others_cpu_s,
    parse_host_stat,
    parse_proc_stat,
    usage_between,
)


def stat_line(pid: int, comm: str, utime: int, stime: int, rss: int) -> str:
    # fields 3..52 after "pid (comm)"; utime=14, stime=15, rss=24
    fields = ["S"] + ["0"] * 49
    fields[14 - 3] = str(utime)
    fields[15 - 3] = str(stime)
    fields[24 - 3] = str(rss)
    return f"{pid} ({comm}) " + " ".join(fields) + "\n"


def test_parse_reads_utime_stime_rss():
    stat = parse_proc_stat(stat_line(42, "python", 1200, 300, 5000))
    assert (stat.pid, stat.comm, stat.utime_ticks, stat.stime_ticks, stat.rss_pages) == (42, "python", 1200, 300, 5000)
    assert stat.cpu_ticks == 1500


def test_parse_survives_spaces_and_parentheses_in_the_command_name():
    stat = parse_proc_stat(stat_line(7, "tokio-rt (worker) 1", 10, 20, 30))
    assert stat.comm == "tokio-rt (worker) 1"
    assert (stat.utime_ticks, stat.stime_ticks, stat.rss_pages) == (10, 20, 30)


@pytest.mark.parametrize("text", ["", "garbage", "12 (x) S 1 2 3"])
def test_parse_refuses_what_is_not_a_stat_line(text):
    with pytest.raises(ValueError):
        parse_proc_stat(text)


def test_usage_between_two_samples():
    before = parse_proc_stat(stat_line(1, "w", 100, 50, 1000))
    after = parse_proc_stat(stat_line(1, "w", 300, 150, 2000))
    usage = usage_between(before, after, hz=100, page_bytes=4096)
    assert usage.cpu_s == pytest.approx(3.0)
    assert usage.rss_mb == pytest.approx(2000 * 4096 / 1e6)
    assert usage.per_1k(1500) == pytest.approx(2.0)
    assert usage.per_1k(0) is None


def test_usage_between_different_processes_is_refused():
    with pytest.raises(ValueError, match="different processes"):
        usage_between(parse_proc_stat(stat_line(1, "a", 1, 1, 1)), parse_proc_stat(stat_line(2, "b", 2, 2, 2)),
                      hz=100, page_bytes=4096)


def test_usage_going_backwards_is_refused():
    with pytest.raises(ValueError, match="backwards"):
        usage_between(parse_proc_stat(stat_line(1, "a", 9, 9, 1)), parse_proc_stat(stat_line(1, "a", 1, 1, 1)),
                      hz=100, page_bytes=4096)


def test_host_stat_counts_all_but_idle_and_iowait():
    host = parse_host_stat("cpu  100 5 50 800 40 3 2 0 0 0\ncpu0 1 2 3 4 5 6 7 8\n")
    assert host == HostStat(busy_ticks=100 + 5 + 50 + 3 + 2, total_ticks=1000)


def test_host_stat_refuses_other_text():
    with pytest.raises(ValueError, match="cpu line"):
        parse_host_stat("intr 1 2 3\n")


def test_others_is_machine_busy_time_minus_ours():
    ours = {"a": Usage(cpu_s=1.0, rss_mb=0), "b": Usage(cpu_s=0.5, rss_mb=0)}
    assert others_cpu_s(HostStat(0, 0), HostStat(250, 400), ours, hz=100) == pytest.approx(1.0)
    assert others_cpu_s(HostStat(0, 0), HostStat(100, 400), ours, hz=100) == 0.0


def write_proc(root: Path, pid: int, utime: int, stime: int, rss: int, host_busy: int) -> None:
    (root / str(pid)).mkdir(parents=True, exist_ok=True)
    (root / str(pid) / "stat").write_text(stat_line(pid, "w", utime, stime, rss))
    (root / "stat").write_text(f"cpu  {host_busy} 0 0 1000 0 0 0 0 0 0\n")


def test_meter_reports_each_process_and_the_rest_of_the_machine(tmp_path):
    write_proc(tmp_path, 10, 0, 0, 100, host_busy=0)
    meter = ProcessMeter({"worker": 10}, proc=tmp_path)
    meter.mark()
    write_proc(tmp_path, 10, 2 * meter.hz, 1 * meter.hz, 300, host_busy=5 * meter.hz)
    window = meter.window()
    assert window["worker"].cpu_s == pytest.approx(3.0)
    assert window["worker"].rss_mb == pytest.approx(300 * meter.page_bytes / 1e6)
    assert window[OTHERS].cpu_s == pytest.approx(2.0)


def test_parse_reads_the_parent_pid():
    line = stat_line(42, "python", 1, 2, 3).replace(" S 0 ", " S 7 ", 1)
    assert parse_proc_stat(line).ppid == 7


def test_descendants_walks_the_process_tree(tmp_path):
    def proc(pid: int, ppid: int) -> None:
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(stat_line(pid, "p", 0, 0, 0).replace(" S 0 ", f" S {ppid} ", 1))

    proc(10, 1)
    proc(11, 10)
    proc(12, 11)
    proc(13, 1)
    (tmp_path / "self").mkdir()
    from tokenyard.streams.bench.cpu import descendants

    assert descendants(10, tmp_path) == [11, 12]
    assert descendants(13, tmp_path) == []
