#!/usr/bin/env python3
"""The command's VSS paths where there is no VSS (Wine, which implements none, and every system but
Windows): `shadow create`, `shadow list` and `shadow delete` with `--provider vss` fail with the
documented error and exit status 1, leaving nothing behind; `providers list` shows the vss
provider in a Windows build only; `vssadmin list shadows` lists the store's shadow copies and, in
a Windows build, says on stderr that VSS's are not listed.

usage: vss_test.py --binary PATH [unittest arguments]
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

BINARY = None


WINDOWS = os.environ.get("FREEZEFRAME_TEST_WINDOWS") == "1"


def run(*arguments):
    return subprocess.run([BINARY, *arguments], capture_output=True, text=True, timeout=300)


class VssUnavailableTest(unittest.TestCase):
    def test_listing_and_deleting_vss_shadow_copies_fail_saying_vss_is_not_available(self):
        with tempfile.TemporaryDirectory(dir=os.environ.get("FREEZEFRAME_TEST_TMPDIR")) as scratch:
            store = os.path.join(scratch, "store")
            for arguments in (["shadow", "list", "--provider", "vss"],
                              ["--json", "shadow", "list", "--provider", "vss"],
                              ["shadow", "delete", "--provider", "vss", "--shadow",
                               "{0a0a0a0a-0001-0002-0101-010101010101}"]):
                result = run("--store", store, *arguments)
                self.assertEqual(result.returncode, 1, arguments)
                self.assertIn("VSS is not available on this system", result.stderr)
                self.assertEqual(result.stdout, "")
            self.assertEqual(os.listdir(scratch), [])

    def test_vss_options_are_checked_before_vss_is_asked(self):
        with tempfile.TemporaryDirectory(dir=os.environ.get("FREEZEFRAME_TEST_TMPDIR")) as scratch:
            store = os.path.join(scratch, "store")
            result = run("--store", store, "shadow", "delete", "--provider", "vss", "--all")
            self.assertEqual(result.returncode, 2, result.stderr)
            self.assertIn("--shadow ID", result.stderr)
            result = run("--store", store, "shadow", "list", "--provider", "vss", "--shadow", "x")
            self.assertEqual(result.returncode, 2, result.stderr)
            self.assertIn("--shadow 'x' is not a shadow copy id", result.stderr)
            result = run("--store", store, "shadow", "list", "--provider", "cow")
            self.assertEqual(result.returncode, 2, result.stderr)
            self.assertIn("takes only vss", result.stderr)
            self.assertEqual(os.listdir(scratch), [])

    def test_providers_list_has_vss_only_in_a_windows_build(self):
        with tempfile.TemporaryDirectory(dir=os.environ.get("FREEZEFRAME_TEST_TMPDIR")) as scratch:
            result = run("--store", os.path.join(scratch, "store"), "--json", "providers", "list")
            self.assertEqual(result.returncode, 0, result.stderr)
            names = [provider["name"] for provider in json.loads(result.stdout)]
            self.assertEqual("vss" in names, WINDOWS, names)
            self.assertIn("freezeframe copy-on-write provider", names)

    def test_vssadmin_list_shadows_lists_the_store_and_says_what_of_vss(self):
        with tempfile.TemporaryDirectory(dir=os.environ.get("FREEZEFRAME_TEST_TMPDIR")) as scratch:
            store = os.path.join(scratch, "store")
            for arguments in (["volume", "create", "C:", "--size", "4M"],
                              ["shadow", "create", "--for", "C:"]):
                result = run("--store", store, *arguments)
                self.assertEqual(result.returncode, 0, result.stderr)
            result = run("--store", store, "vssadmin", "list", "shadows")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("Contents of shadow copy set ID", result.stdout)
            self.assertEqual("VSS's shadow copies are not listed: VSS is not available" in
                             result.stderr, WINDOWS, result.stderr)
            result = run("--store", store, "--json", "vssadmin", "list", "shadows")
            self.assertEqual(result.returncode, 0, result.stderr)
            listed = json.loads(result.stdout)
            self.assertEqual(len(listed), 1)
            self.assertEqual(listed[0]["volume"], "C:")

    def test_shadow_create_with_vss_fails_saying_vss_is_not_available(self):
        with tempfile.TemporaryDirectory(dir=os.environ.get("FREEZEFRAME_TEST_TMPDIR")) as scratch:
            store = os.path.join(scratch, "store")
            result = subprocess.run(
                [BINARY, "--store", store, "shadow", "create", "--for", "C:", "--provider", "vss"],
                capture_output=True, text=True, timeout=300)
            self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
            self.assertIn("VSS is not available on this system", result.stderr)
            self.assertNotIn("Successfully created", result.stdout)
            # VSS keeps its own shadow copies: the command makes no store, and leaves nothing.
            self.assertEqual(os.listdir(scratch), [])


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if len(arguments) >= 2 and arguments[0] == "--binary":
        BINARY = arguments[1]
        arguments = arguments[2:]
    unittest.main(argv=[sys.argv[0]] + arguments)
