#!/usr/bin/env python3
"""`freezeframe backup`, `backup list`, `restore`, `verify` and `prune`, end to end: a chain
of backups of two volumes taken through the protocol restores every generation exactly, an
incremental backup reads only what change tracking lists (though the backup context released
the snapshots it compared), differential counts from the last full backup, a damaged pack is
found by verify (exit 5) and refused by restore, and prune keeps what it must.

usage: backup_test.py --binary PATH [unittest arguments, e.g. a test class name]
"""
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_test  # noqa: E402
from cli_test import MIB, StoreTest  # noqa: E402

EXIT_DAMAGED = 5
CHUNK = 16 * 1024  # the store's provider chunk


class BackupTest(StoreTest):
    def setUp(self):
        super().setUp()
        self.repo = os.path.join(self.dir, "repo")

    def backup(self, *names, kind=None):
        args = ["backup", "--for", ",".join(names), "--repo", self.repo]
        if kind:
            args += ["--type", kind]
        return self.json_of(*args)

    def restored(self, backup_id):
        out = self.path("restored-%s.img" % backup_id)
        self.run_ff("restore", backup_id, "--repo", self.repo, "--to", out)
        with open(out, "rb") as f:
            return f.read()

    def change(self, volume, image, chunks):
        """Rewrites `chunks` random chunk-aligned 16 KiB pieces; returns their offsets."""
        offsets = sorted(self.rng.sample(range(len(image) // CHUNK), chunks))
        for index in offsets:
            piece = self.rng.randbytes(CHUNK)
            self.write(volume, index * CHUNK, piece)
            image[index * CHUNK:(index + 1) * CHUNK] = piece
        return offsets

    def test_a_chain_of_backups_restores_every_generation(self):
        images = {}
        for name, provider in (("db", "cow"), ("logs", "row")):
            self.run_ff("volume", "create", name, "--size", "4M", "--provider", provider)
            images[name] = bytearray(4 * MIB)
            data = self.rng.randbytes(MIB)
            self.write(name, MIB, data)
            images[name][MIB:2 * MIB] = data
        taken = []
        first = self.backup("db", "logs")
        for entry in first["backups"]:
            self.assertEqual(entry["mode"], "full")
            self.assertIsNone(entry["parent"])
        taken.append((first, {k: bytes(v) for k, v in images.items()}))
        for generation in range(5):
            changed = {name: self.change(name, images[name], 3) for name in images}
            made = self.backup("db", "logs")
            for entry in made["backups"]:
                self.assertEqual(entry["mode"], "incremental", entry)
                # Only the changed chunks were listed, though the last backup's snapshots
                # were released when its command ended.
                self.assertEqual(entry["planned_read_bytes"],
                                 len(changed[entry["volume"]]) * CHUNK, entry)
            self.assertLessEqual(made["bytes_read"], 2 * 3 * 64 * 1024)
            taken.append((made, {k: bytes(v) for k, v in images.items()}))
        self.assertEqual(self.json_of("shadow", "list"), [])
        for made, expected in taken:
            for entry in made["backups"]:
                self.assertEqual(self.restored(entry["id"]), expected[entry["volume"]],
                                 "generation %s of %s" % (entry["id"], entry["volume"]))
        listed = self.json_of("backup", "list", "--repo", self.repo)
        self.assertEqual(len(listed), 6)
        self.assertEqual([len(s["backups"]) for s in listed], [2] * 6)

    def test_differential_counts_from_the_last_full_backup(self):
        self.run_ff("volume", "create", "v", "--size", "2M")
        image = bytearray(2 * MIB)
        full = self.backup("v", kind="full")["backups"][0]
        first = self.change("v", image, 2)
        self.backup("v")
        second = self.change("v", image, 2)
        made = self.backup("v", kind="differential")["backups"][0]
        self.assertEqual(made["mode"], "differential")
        self.assertEqual(made["parent"], full["id"])
        self.assertEqual(made["planned_read_bytes"], len(set(first) | set(second)) * CHUNK)
        self.assertEqual(self.restored(made["id"]), bytes(image))

    def test_restore_over_a_volume_and_verify(self):
        self.run_ff("volume", "create", "v", "--size", "2M")
        image = bytearray(2 * MIB)
        self.change("v", image, 8)
        kept = bytes(image)
        made = self.backup("v")["backups"][0]
        self.change("v", image, 8)
        self.run_ff("restore", made["id"][:8], "--repo", self.repo, "--volume", "v")
        self.assertEqual(self.read_volume("v"), kept)
        report = self.json_of("verify", made["id"], "--repo", self.repo)
        self.assertEqual(report["status"], "ok")
        self.assertGreater(report["chunks_checked"], 0)

    def test_a_damaged_pack_is_found_and_never_restored(self):
        self.run_ff("volume", "create", "v", "--size", "2M")
        image = bytearray(2 * MIB)
        self.change("v", image, 16)
        made = self.backup("v")["backups"][0]
        packs = glob.glob(os.path.join(self.repo, "packs", "**", "*.pack"), recursive=True)
        self.assertTrue(packs)
        with open(packs[0], "r+b") as f:
            f.seek(200)
            byte = f.read(1)
            f.seek(200)
            f.write(bytes([byte[0] ^ 0x40]))
        done = self.run_ff("--json", "verify", made["id"], "--repo", self.repo, check=False)
        self.assertEqual(done.returncode, EXIT_DAMAGED, done.stderr)
        report = json.loads(done.stdout)
        self.assertEqual(report["status"], "damaged")
        self.assertIn(os.path.basename(packs[0]), report["first_problem"])
        out = self.path("bad.img")
        done = self.run_ff("restore", made["id"], "--repo", self.repo, "--to", out, check=False)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn(".pack", done.stderr)
        self.assertFalse(os.path.exists(out), "a failed restore left its image behind")

    def test_prune_keeps_the_newest_and_they_restore(self):
        self.run_ff("volume", "create", "v", "--size", "2M")
        image = bytearray(2 * MIB)
        made = []
        for _ in range(4):
            self.change("v", image, 4)
            made.append((self.backup("v")["backups"][0], bytes(image)))
        report = self.json_of("prune", "--repo", self.repo, "--keep-last", "2")
        self.assertEqual(report["backups_forgotten"], 2)
        listed = self.json_of("backup", "list", "--repo", self.repo)
        self.assertEqual([s["backups"][0]["id"] for s in listed],
                         [entry["id"] for entry, _ in made[2:]])
        for entry, expected in made[2:]:
            self.assertEqual(self.restored(entry["id"]), expected)

    def test_bad_usage(self):
        self.run_ff("volume", "create", "v", "--size", "1M")
        for args in (["backup", "--repo", self.repo], ["backup", "--for", "v"],
                     ["backup", "--for", "v", "--repo", self.repo, "--type", "weekly"],
                     ["prune", "--repo", self.repo]):
            done = self.run_ff(*args, check=False)
            self.assertEqual(done.returncode, cli_test.EXIT_USAGE, (args, done.stderr))
        done = self.run_ff("restore", "abcd", "--repo", self.repo, "--to", self.path("x"),
                           check=False)
        self.assertNotEqual(done.returncode, 0)
        done = self.run_ff("backup", "--for", "v", "--repo", self.repo, "--chunk-size", "48K",
                           check=False)
        self.assertEqual(done.returncode, cli_test.EXIT_USAGE, done.stderr)

    def test_a_repository_takes_the_chunk_size_it_was_created_with(self):
        self.run_ff("volume", "create", "v", "--size", "2M")
        made = self.json_of("backup", "--for", "v", "--repo", self.repo, "--chunk-size", "64K")
        self.assertEqual(made["repository_chunk_bytes"], 64 * 1024)
        # Given again to an existing repository, it changes nothing.
        made = self.json_of("backup", "--for", "v", "--repo", self.repo, "--chunk-size", "4K")
        self.assertEqual(made["repository_chunk_bytes"], 64 * 1024)


if __name__ == "__main__":
    cli_test.main(__doc__)
