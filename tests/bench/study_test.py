#!/usr/bin/python3
"""Tests of the performance study's analysis: bench/study reads a hand-made benchmark JSON
(tests/data/study_bench.json, values chosen so that targets pass, fail and go missing), and
the tests check results.csv, the targets table, the exit status and the plots. No benchmark
and no qemu-img runs.

usage: study_test.py --study PATH --json PATH [unittest arguments]
"""
import argparse
import csv
import importlib.machinery
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

STUDY = None
JSON = None
MIB = 1 << 20


def test_tmpdir():
    base = os.environ.get("FREEZEFRAME_TEST_TMPDIR")
    if base:
        os.makedirs(base, exist_ok=True)
    return base


def run_study(out_dir, *extra):
    return subprocess.run([STUDY, "--from-json", JSON, "--skip-qemu", "--out", out_dir,
                           *extra], capture_output=True, text=True, timeout=120)


class StudyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="study-", dir=test_tmpdir())
        cls.out = os.path.join(cls.dir, "out")
        cls.result = run_study(cls.out)
        with open(os.path.join(cls.out, "results.csv"), newline="") as f:
            cls.rows = list(csv.DictReader(f))
        with open(os.path.join(cls.out, "report.md")) as f:
            cls.report = f.read()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def value(self, suite, metric, **params):
        found = [r for r in self.rows if r["suite"] == suite and r["metric"] == metric and
                 all(r[k] == str(v) for k, v in params.items())]
        self.assertEqual(len(found), 1, f"{suite} {metric} {params}: {found}")
        return found[0]

    def status_of(self, target):
        """The result column of the report's targets table row named `target`."""
        for line in self.report.splitlines():
            cells = [c.strip() for c in line.strip("|").split("|")]
            if cells and cells[0] == target:
                return cells[-1]
        self.fail(f"no target {target!r} in the report")

    def test_runs_and_exits_zero_even_with_failed_targets(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr)
        self.assertIn("report at", self.result.stdout)

    def test_csv_has_one_row_per_metric_with_parameters_as_columns(self):
        row = self.value("write", "ratio_to_raw", source="freezeframe", pattern="random",
                         provider="cow", phase="first", bytes=16384, snapshots=1)
        self.assertAlmostEqual(float(row["value"]), 0.55)
        self.assertEqual(row["unit"], "ratio")
        row = self.value("write", "bytes_per_second", pattern="random", provider="raw",
                         phase="first", bytes=4096, snapshots=0)
        self.assertEqual(float(row["value"]), 400.0 * MIB)
        self.assertEqual(row["unit"], "B/s")
        self.assertEqual(self.value("snapshot", "median_excl_flush_us", op="create",
                                    provider="row", volume_gib=64)["unit"], "us")
        # Google Benchmark's own name components are not parameters.
        self.assertNotIn("iterations", self.rows[0])
        self.assertNotIn("manual_time", self.rows[0])
        # Every benchmark with a result appears; the failed one does not.
        self.assertFalse([r for r in self.rows if r.get("changed_mib") == "256"])
        self.assertEqual(len({r["provider"] + r["chunk"] for r in self.rows
                              if r["suite"] == "sweep"}), 11)

    def test_repetitions_use_the_median_aggregate(self):
        row = self.value("sweep", "bytes_per_second", provider="raw", chunk=0)
        self.assertEqual(float(row["value"]), 401.0 * MIB)

    def test_targets_pass_fail_and_missing(self):
        self.assertEqual(self.status_of("CoW first write / raw (random 16 KiB, 1 snapshot)"),
                         "PASS")
        self.assertEqual(
            self.status_of("CoW rewrite of a preserved chunk / raw (random 16 KiB)"), "FAIL")
        self.assertEqual(
            self.status_of("RoW sequential live read after random writes / raw (16 KiB)"),
            "MISSING")
        self.assertEqual(self.status_of("CoW snapshot create median, 64 GiB / 1 GiB"),
                         "PASS")
        self.assertEqual(self.status_of("RoW index memory per changed chunk (bytes)"), "FAIL")
        # Without qemu-img its comparisons have no figure.
        self.assertEqual(
            self.status_of("CoW sequential first write / qcow2-internal-snapshot (16 KiB)"),
            "MISSING")
        self.assertIn("15 of 22 targets pass", self.report)
        self.assertRegex(self.result.stdout, re.compile(r"^FAIL +CoW rewrite", re.M))

    def test_backup_targets_come_from_the_backup_run(self):
        # The sample: ours 2 s full, 0.1 s incremental; zstd 2.5 s, restic 6 s and borg 4 s
        # incremental; restore 2 s against a raw write of 1.5 s; 600 MiB against borg's 700.
        self.assertEqual(self.status_of(
            "Backup: full backup throughput / zstd -1 -T2 (1 GiB mixed image)"), "PASS")
        self.assertEqual(self.status_of(
            "Backup: restic incremental time / ours (1% of chunks changed)"), "PASS")
        self.assertEqual(self.status_of(
            "Backup: borg incremental time / ours (1% of chunks changed)"), "FAIL")
        self.assertEqual(self.status_of("Backup: restore throughput / raw sequential write"),
                         "FAIL")
        self.assertEqual(self.status_of(
            "Backup: repository bytes / borg's (full + incremental)"), "PASS")
        self.assertEqual(self.status_of(
            "Backup: peak memory, 16 GiB sparse volume holding 1 GiB (MiB)"), "PASS")
        self.assertIn("ours 2 s, zstd 2.5 s", self.report)
        self.assertIn("ours 600.0 MiB, borg 700.0 MiB; after the full backup 0.90", self.report)

    def test_backup_figures_in_csv_report_and_plot(self):
        params = dict(source="freezeframe", image_mib=1024, sparse_mib=16384,
                      tools="zstd+restic+borg")
        self.assertEqual(self.value("backup", "incremental_s", **params)["unit"], "s")
        self.assertEqual(self.value("backup", "repository_bytes", **params)["unit"], "B")
        self.assertEqual(self.value("backup", "peak_memory_mib", **params)["unit"], "MiB")
        self.assertEqual(float(self.value("backup", "repository_chunk_bytes",
                                          **params)["value"]), 65536.0)
        # One row per figure, not one column each.
        self.assertIn("## Backup", self.report)
        self.assertIn("| ratio_full_to_zstd | 1.25 | ratio |", self.report)
        for extension in ("png", "svg"):
            path = os.path.join(self.out, "plots", f"backup_times.{extension}")
            self.assertGreater(os.path.getsize(path), 1000, path)
        self.assertIn("(plots/backup_times.svg)", self.report)

    def test_report_names_the_environment_and_the_failed_benchmark(self):
        for field in ("kernel", "CPU", "scratch file system", "I/O", "git commit"):
            self.assertIn(f"| {field} |", self.report)
        self.assertIn("snapshot/op:revert/provider:cow/changed_mib:256", self.report)
        self.assertIn("diff area full", self.result.stderr)

    def test_plots_are_written_as_png_and_svg(self):
        plots = os.path.join(self.out, "plots")
        for stem in ("write_throughput", "snapshot_count", "read_fragmentation", "space",
                     "chunk_sweep"):
            for extension in ("png", "svg"):
                path = os.path.join(plots, f"{stem}.{extension}")
                self.assertGreater(os.path.getsize(path), 1000, path)
            self.assertIn(f"(plots/{stem}.svg)", self.report)

    def test_strict_exits_one_when_a_target_is_not_met(self):
        result = run_study(os.path.join(self.dir, "strict"), "--strict")
        self.assertEqual(result.returncode, 1, result.stderr)

    def test_unreadable_json_is_a_clear_error(self):
        result = subprocess.run([STUDY, "--from-json", os.path.join(self.dir, "absent.json"),
                                 "--skip-qemu", "--out", os.path.join(self.dir, "absent")],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 2)
        self.assertIn("cannot read benchmark JSON", result.stderr)


class QemuComparisonTest(unittest.TestCase):
    """The qemu-img targets and plot, from measurements shaped like run_qemu's, without
    running qemu-img."""

    def setUp(self):
        loader = importlib.machinery.SourceFileLoader("study", STUDY)
        spec = importlib.util.spec_from_loader("study", loader)
        self.study = importlib.util.module_from_spec(spec)
        loader.exec_module(self.study)
        with open(JSON) as f:
            self.ms, _ = self.study.load_benchmark_json(json.load(f))
        self.dir = tempfile.mkdtemp(prefix="study-qemu-", dir=test_tmpdir())

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def add_qemu(self, image, mib_per_s):
        params = {"image": image, "pattern": "sequential", "phase": "first", "bytes": "16384",
                  "requests": "4096", "cache": "writeback"}
        metrics = {"bytes_per_second": mib_per_s * MIB, "ratio_to_raw": mib_per_s / 1000.0}
        self.ms.append(self.study.Measurement("qemu-img", "write", params, metrics))

    def test_ours_against_qcow2(self):
        # The sample has CoW at 300 MiB/s and RoW at 700 MiB/s for sequential 16 KiB writes.
        self.add_qemu("raw", 1000.0)
        self.add_qemu("qcow2-internal-snapshot", 200.0)
        self.add_qemu("qcow2-overlay", 800.0)
        targets = {t.name: t for t in self.study.evaluate_targets(self.ms)}
        cow = targets["CoW sequential first write / qcow2-internal-snapshot (16 KiB)"]
        self.assertEqual(cow.status, "PASS")
        self.assertAlmostEqual(cow.value, 1.5)
        self.assertIn("0.20 of qemu-img raw", cow.detail)
        row = targets["RoW sequential first write / qcow2-overlay (16 KiB)"]
        self.assertEqual(row.status, "FAIL")
        self.assertAlmostEqual(row.value, 700.0 / 800.0)

    def test_backup_targets_are_missing_without_the_backup_run(self):
        ms = [m for m in self.ms if m.suite != "backup"]
        backup = [t for t in self.study.evaluate_targets(ms) if t.name.startswith("Backup:")]
        self.assertEqual(len(backup), 6)
        self.assertTrue(all(t.status == "MISSING" for t in backup))
        self.assertNotIn("backup_times", dict(self.study.plot_all(ms, self.dir)))

    def test_backup_run_is_appended_to_the_replayable_json(self):
        path = os.path.join(self.dir, "bench.json")
        with open(JSON) as f:
            document = json.load(f)
        backup = {"benchmarks": [b for b in document["benchmarks"]
                                 if b["name"].startswith("backup/")]}
        document["benchmarks"] = [b for b in document["benchmarks"]
                                  if not b["name"].startswith("backup/")]
        self.study.append_benchmarks(path, document, backup)
        with open(path) as f:
            ms, _ = self.study.load_benchmark_json(json.load(f))
        self.assertEqual(self.study.value_of(ms, "ratio_full_to_zstd", suite="backup"), 1.25)

    def test_request_count_comes_from_our_sequential_pass(self):
        # The sample's sequential pass: 1 ms at its rate, in 16 KiB requests.
        self.assertEqual(self.study.sequential_requests(self.ms, 16384),
                         round(300.0 * MIB * 0.001 / 16384))
        self.assertIsNone(self.study.sequential_requests(self.ms, 4096))

    def test_comparison_plot(self):
        for image, rate in (("raw", 1000.0), ("qcow2-internal-snapshot", 200.0),
                            ("qcow2-overlay", 800.0)):
            self.add_qemu(image, rate)
        made = dict(self.study.plot_all(self.ms, self.dir))
        self.assertIn("versus_qcow2", made)
        self.assertGreater(os.path.getsize(os.path.join(self.dir, "versus_qcow2.svg")), 1000)

    def test_publish_rewrites_only_the_marked_region(self):
        plots_dir = os.path.join(self.dir, "plots")
        plots = self.study.plot_all(self.ms, plots_dir)
        doc = os.path.join(self.dir, "performance.md")
        with open(doc, "w") as f:
            f.write("# Title\n\nbefore\n\n<!-- study:begin -->\nold figures\n"
                    "<!-- study:end -->\n\nafter\n")
        self.study.PERFORMANCE_DOC = doc
        self.study.PUBLISH_DIR = os.path.join(self.dir, "performance")
        targets = self.study.evaluate_targets(self.ms)
        self.study.publish(self.ms, [], targets, [("kernel", "test")], plots, plots_dir,
                           "quick")
        with open(doc) as f:
            text = f.read()
        self.assertTrue(text.startswith("# Title\n\nbefore\n\n<!-- study:begin -->\n"))
        self.assertTrue(text.endswith("<!-- study:end -->\n\nafter\n"))
        self.assertNotIn("old figures", text)
        self.assertIn("### Measured: targets", text)
        self.assertIn("](performance/write_throughput.svg)", text)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "performance",
                                                    "write_throughput.png")))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--study", required=True)
    parser.add_argument("--json", required=True)
    args, rest = parser.parse_known_args()
    STUDY, JSON = os.path.abspath(args.study), os.path.abspath(args.json)
    unittest.main(argv=[sys.argv[0]] + rest)
