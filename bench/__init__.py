"""The benchmark suite of campaign-billing (`make bench`; `BENCH_FULL=1 make bench` for the full
run). It starts the real processes on PostgreSQL, Redis and the Stripe test server, measures each
figure with its baseline in the same run, and writes `bench/results/latest.json`.

Read `bench/README.md` for what each figure measures and how.
"""
