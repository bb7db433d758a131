#!/usr/bin/env python3
"""A store on a full file system: deleting shadow copies, which is how space is freed, still
works. The store lives on a small tmpfs the test mounts (as root) and unmounts; without the
right to mount, the test is skipped and says why.

usage: full_disk_test.py --binary PATH [unittest arguments, e.g. a test class name]
"""
import errno
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_test  # noqa: E402
from cli_test import MIB, StoreTest  # noqa: E402

FILE_SYSTEM_BYTES = 24 * MIB


def free_bytes(path):
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


class FullFileSystemTest(StoreTest):
    def setUp(self):
        super().setUp()
        self.mount = os.path.join(self.dir, "fs")
        os.makedirs(self.mount)
        if os.geteuid() != 0:
            self.skipTest("mounting a small tmpfs needs root")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d" % FILE_SYSTEM_BYTES,
                               "tmpfs", self.mount], capture_output=True, text=True)
        if done.returncode != 0:
            self.skipTest("cannot mount a tmpfs: " + done.stderr.strip())
        self.addCleanup(subprocess.run, ["umount", "-l", self.mount], capture_output=True)
        self.store = os.path.join(self.mount, "store")

    def fill(self):
        """Writes a filler file on the tmpfs until the file system is full."""
        block = b"\x5a" * (64 * 1024)
        with open(os.path.join(self.mount, "filler"), "wb", buffering=0) as f:
            for _ in range(FILE_SYSTEM_BYTES // len(block) + 1):
                try:
                    f.write(block)
                except OSError as e:
                    self.assertEqual(e.errno, errno.ENOSPC)
                    return
        self.fail("the filler outgrew the file system")

    def test_shadow_delete_frees_space_on_a_full_file_system(self):
        size = 2 * MIB
        self.run_ff("volume", "create", "data", "--size", str(size))
        self.write("data", 0, self.rng.randbytes(size))  # the image's blocks are all taken
        oldest = self.create_set("data")["shadows"][0]["id"]
        self.write("data", 0, self.rng.randbytes(MIB))
        middle = self.create_set("data")["shadows"][0]["id"]
        self.write("data", MIB, self.rng.randbytes(MIB // 2))
        newest = self.create_set("data")["shadows"][0]["id"]
        # The oldest is exposed on the same file system: deleting it rewrites the catalog.
        exposed = os.path.join(self.mount, "oldest.img")
        script = self.path("expose.dsh")
        with open(script, "w") as f:
            f.write("expose %s %s\n" % (oldest, exposed))
        self.run_ff("script", script)
        self.assertTrue(os.path.exists(os.path.join(self.store, "reserve")))
        used_before = self.json_of("shadowstorage", "list")[0]["used_bytes"]

        self.fill()
        self.assertEqual(free_bytes(self.mount), 0)
        self.run_ff("shadow", "delete", "--for", "data", "--oldest", "--quiet")
        self.assertEqual([s["id"] for s in self.shadows()], [middle, newest])
        self.assertFalse(os.path.exists(exposed))
        self.assertGreaterEqual(free_bytes(self.mount), size)
        self.assertLess(self.json_of("shadowstorage", "list")[0]["used_bytes"], used_before)

        # Full again; a plain delete works too, and the store keeps its reserve afterwards.
        self.fill()
        self.run_ff("shadow", "delete", "--shadow", middle, "--quiet")
        self.assertEqual([s["id"] for s in self.shadows()], [newest])
        self.assertTrue(os.path.exists(os.path.join(self.store, "reserve")))


if __name__ == "__main__":
    cli_test.main(__doc__)
