"""The bench's table: medians, ratios and the spread of per-round ratios, as a reader
of ``bench/RESULTS.md`` sees them (numbers made up; nothing is timed here)."""

from __future__ import annotations

from bench.load import parse_wrk
from bench.report import Row, Target, table

WRK_OUTPUT = """Running 6s test @ http://127.0.0.1:8080/view/files/small.bin
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.10ms    2.01ms  41.33ms   79.24%
    Req/Sec     1.60k   147.24     1.90k    85.00%
  Latency Distribution
     50%    4.03ms
     75%    5.16ms
     90%    7.51ms
     99%    1.02s
  19206 requests in 6.01s, 78.10MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   3195.67
Transfer/sec:     13.00MB
"""


def cells(text: str, metric: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    for line in lines[1:]:
        row = dict(zip(head, (c.strip() for c in line.strip("|").split("|")), strict=True))
        if row["metric"].startswith(metric):
            return row
    raise AssertionError(f"no row {metric!r} in\n{text}")


def test_spread_pairs_round_i_of_immoshare_with_round_i_of_the_peer():
    row = Row("12", "4 KiB GET", "req/s", Target(">=", 1.2, "copyparty"))
    # the peer's rounds arrive in another order: pairing is by round, not by position
    for r, mine in enumerate([1200, 900, 1500]):
        row.add("immoshare", mine, r)
    for r, theirs in [(2, 1500), (0, 1000), (1, 600)]:
        row.add("copyparty", theirs, r)
    assert row.spread() == (1.0, 1.5)  # 1200/1000, 900/600, 1500/1500
    shown = cells(table([row]), "4 KiB GET")
    assert shown["spread"] == "1.00–1.50"
    assert shown["imm/copyparty"] == "1.20" and shown["met"] == "yes"


def test_spread_takes_the_median_within_a_round_and_versus_keeps_one_peer():
    row = Row("3", "GET of 1,024 MiB", "MB/s", Target(">=", 1.0, "copyparty"))
    for r, values in enumerate([(3000, 3100, 2900), (2000, 2100, 1900)]):
        for value in values:
            row.add("immoshare", value, r)
            row.add("copyparty", 2000, r)
            row.add("copyparty-u", 1000, r)
    assert row.spread() == (1.0, 1.5)
    other = row.versus("copyparty-u")
    assert set(other.samples) == {"immoshare", "copyparty-u"}
    assert other.target == Target(">=", 1.0, "copyparty-u")
    assert other.spread() == (2.0, 3.0)
    text = table([row, other])
    assert "wsgidav" not in text.splitlines()[0]  # no column without numbers
    assert cells(text, "GET of 1,024 MiB")["copyparty-u"] == "1,000"


def test_a_target_without_peer_spreads_immoshare_s_own_values_and_no_target_none():
    scaling = Row("13", "workers 2 / workers 1", "×", Target(">=", 1.3))
    for r, value in enumerate([1.25, 1.41, 1.33]):
        scaling.add("immoshare", value, r)
    plain = Row("13", "server CPU per request", "ms")
    plain.add("immoshare", 0.31, 0)
    text = table([scaling, plain])
    assert cells(text, "workers 2 / workers 1")["spread"] == "1.25–1.41"
    assert cells(text, "server CPU per request")["spread"] == ""
    assert cells(text, "server CPU per request")["immoshare"] == "0.31"


def test_wrk_output_gives_rate_requests_errors_and_p99_in_ms():
    got = parse_wrk(WRK_OUTPUT, latency=True)
    assert (got.rate, got.requests, got.errors, got.p99_ms) == (3195.67, 19206, 3, 1020.0)
    assert parse_wrk(WRK_OUTPUT).p99_ms is None
