#!/usr/bin/env python3
"""`freezeframe shadow create --provider vss` where there is no VSS (Wine, which implements none,
and every system but Windows): the documented error, exit status 1, and nothing left behind.

usage: vss_test.py --binary PATH [unittest arguments]
"""
import os
import subprocess
import sys
import tempfile
import unittest

BINARY = None


class VssUnavailableTest(unittest.TestCase):
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
