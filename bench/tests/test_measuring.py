"""The benchmark's own arithmetic, without any service: parsing what /proc, wrk and py-spy
print, percentiles, signed deliveries, the results file. (`pytest bench/tests`)"""

from __future__ import annotations

import json

import pytest
import stripe

from bench import procstat, profile, results, stripe_events, wrk
from bench.load import percentile


def test_proc_stat_is_read_past_a_command_name_with_spaces_and_parentheses() -> None:
    fields = ["S", "41"] + ["0"] * 9 + ["250", "150"] + ["0"] * 30
    stat = procstat.parse_stat(7, "7 (celery (worker) x) " + " ".join(fields))
    assert stat.ppid == 41
    assert stat.cpu_seconds == pytest.approx(400 / procstat.TICKS_PER_SECOND)


def test_this_process_uses_cpu_and_memory_as_proc_reports_them() -> None:
    import os

    sum(range(200_000))
    assert procstat.tree_cpu_seconds(os.getpid()) > 0
    assert procstat.rss_mb(os.getpid()) > 1
    assert os.getpid() in procstat.tree(os.getppid())


def test_percentile_is_the_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 99) == 99
    assert percentile(values, 50) == 50
    assert percentile(values, 100) == 100
    assert percentile([5.0], 99) == 5.0
    assert percentile([], 99) == 0.0


def test_wrk_result_counts_answers_over_the_span_from_first_request_to_last_answer() -> None:
    line = {
        "requests": 1003,
        "sent": 1000,
        "answered": 1000,
        "failed": 2,
        "span_us": 2_000_000,
        "duration_us": 10_000_000,
        "errors_connect": 0,
        "errors_read": 1,
        "errors_write": 0,
        "errors_status": 2,
        "errors_timeout": 0,
        "p50_us": 1500,
        "p90_us": 3000,
        "p99_us": 9000,
        "p999_us": 12000,
        "mean_us": 1800.5,
        "max_us": 15000,
    }
    result = wrk.parse_output("Running...\nBENCH_JSON " + json.dumps(line) + "\n")
    assert result.rate == 500
    assert result.status_errors == 2
    assert result.errors == 1
    assert result.p99_ms == 9


def test_wrk_output_without_a_result_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="no result"):
        wrk.parse_output("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_request_lines_refuse_bodies_that_would_break_the_file_format() -> None:
    assert wrk.request_line("POST", "/p", "t=1,v1=a", "{}") == "POST\t/p\tt=1,v1=a\t{}\n"
    with pytest.raises(ValueError, match="one line"):
        wrk.request_line("POST", "/p", "", '{"a":\n1}')


def test_profile_top_functions_sums_self_and_total_time_from_collapsed_stacks() -> None:
    lines = [
        "run (celery/worker.py:10);execute (sqlalchemy/engine/base.py:5) 30",
        "run (celery/worker.py:10);execute (sqlalchemy/engine/base.py:9);_rd (psycopg/x.py:1) 50",
        "run (celery/worker.py:12) 20",
    ]
    samples, top = profile.top_functions(lines, n=2)
    assert samples == 100
    assert [t.function for t in top] == [
        "_rd (psycopg/x.py)",
        "execute (sqlalchemy/engine/base.py)",
    ]
    assert top[0].self_share == 0.5
    assert top[1].self_share == 0.3
    assert top[1].total_share == 0.8
    packages = dict(profile.by_package(lines))
    assert packages == {"psycopg": 0.5, "sqlalchemy": 0.3, "celery": 0.2}


def test_frames_are_shortened_to_the_module_inside_its_package() -> None:
    lines = ["handle (/work/main/.venv/lib/python3.11/site-packages/stripe/_http.py:88) 4"]
    _, top = profile.top_functions(lines)
    assert top[0].function == "handle (stripe/_http.py)"


def test_deliveries_are_signed_as_stripe_signs_and_padded_to_three_kilobytes() -> None:
    customer = {"id": "cus_1", "object": "customer", "metadata": {}}
    card = {"id": "pm_1", "object": "payment_method", "customer": "cus_1", "metadata": {}}
    sent = list(stripe_events.deliveries([(customer, card)], "whsec_x", "t", 5))
    assert len(sent) == 5
    for header, body in sent:
        stripe.WebhookSignature.verify_header(body, header, "whsec_x", 300)
        assert len(body.encode()) == stripe_events.SIZE
    events = [json.loads(body) for _, body in sent]
    assert [e["type"] for e in events] == list(stripe_events.TYPES)
    assert len({e["id"] for e in events}) == 5
    detached = events[stripe_events.TYPES.index("payment_method.detached")]
    assert detached["data"]["object"]["customer"] is None
    assert detached["data"]["previous_attributes"] == {"customer": "cus_1"}


def test_a_forged_delivery_does_not_verify() -> None:
    header, body = next(stripe_events.deliveries([({"id": "c"}, {"id": "p"})], "whsec_x", "t", 1))
    forged = body.replace("evt_t_0", "evt_t_1")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(forged, header, "whsec_x", 300)


def test_results_json_has_value_unit_baseline_and_ratio_per_figure() -> None:
    figure = results.Figure(
        "pipeline_throughput_0ms",
        123.456,
        "publishes/s",
        baseline=500.0,
        baseline_name="bare_celery_noop",
        ratio=results.ratio(123.456, 500.0),
        target="ratio >= 0.25",
        met=False,
    )
    document = figure.as_json()
    assert document["value"] == 123.5
    assert document["ratio"] == 0.247
    assert {"value", "unit", "baseline", "ratio"} <= set(document)
    assert results.ratio(1.0, None) is None
    assert results.ratio(1.0, 0.0) is None
    table = results.table([figure])
    assert "pipeline_throughput_0ms" in table
    assert "NO" in table


def test_cpu_meter_charges_the_cpu_a_process_burns_to_its_group() -> None:
    import os

    from bench.figures import CpuMeter

    meter = CpuMeter({"me": lambda: [os.getpid()], "nobody": list})
    meter.start()
    deadline = meter.before[os.getpid()] + 0.06
    while procstat.cpu_seconds([os.getpid()]) < deadline:
        sum(range(10_000))
    meter.stop()
    assert meter.used["me"] >= 0.05
    assert meter.used["nobody"] == 0
    assert 0 < meter.machine_busy <= 1
