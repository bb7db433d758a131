#!/usr/bin/env python3
"""`freezeframe backup`, `backup list`, `restore`, `verify` and `prune`, end to end: a chain
of backups of two volumes taken through the protocol restores every generation exactly, an
incremental backup reads only what change tracking lists (though the backup context released
the snapshots it compared), differential counts from the last full backup, a damaged pack is
found by verify and by the whole-repository check (exit 5) and refused by restore (which
leaves a volume untouched), the listing tells the backup kinds apart, and prune keeps what it
must.

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
        # The listing tells the three kinds apart, in JSON and in text.
        listed = [s["backups"][0] for s in self.json_of("backup", "list", "--repo", self.repo)]
        self.assertEqual([b["kind"] for b in listed], ["full", "incremental", "differential"])
        self.assertEqual(listed[2]["parent"], full["id"])
        text = self.run_ff("backup", "list", "--repo", self.repo).stdout
        self.assertIn("differential on " + full["id"], text)
        self.assertEqual(text.count("incremental on "), 1, text)

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

    def flip_pack_byte(self, at_from_end):
        packs = glob.glob(os.path.join(self.repo, "packs", "*.pack"))
        self.assertEqual(len(packs), 1)
        with open(packs[0], "r+b") as f:
            f.seek(-at_from_end, os.SEEK_END)
            byte = f.read(1)
            f.seek(-at_from_end, os.SEEK_END)
            f.write(bytes([byte[0] ^ 0x40]))
        return packs[0]

    def test_a_restore_over_a_volume_from_a_damaged_repository_writes_nothing(self):
        self.run_ff("volume", "create", "v", "--size", "2M")
        image = bytearray(2 * MIB)
        offsets = self.change("v", image, 8)
        made = self.backup("v")["backups"][0]
        self.change("v", image, 8)
        before = self.read_volume("v")
        # A byte of the last frame's payload (the trailer is 32 bytes per chunk and 32 more).
        pack = self.flip_pack_byte(32 * len(offsets) + 32 + 100)
        done = self.run_ff("restore", made["id"], "--repo", self.repo, "--volume", "v",
                           check=False)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn(os.path.basename(pack), done.stderr)
        self.assertIn("nothing was written", done.stderr)
        self.assertEqual(self.read_volume("v"), before, "a failed restore changed the volume")

    def test_backup_check_reads_the_whole_repository(self):
        self.run_ff("volume", "create", "v", "--size", "2M")
        image = bytearray(2 * MIB)
        self.change("v", image, 8)
        self.backup("v")
        self.change("v", image, 2)
        self.backup("v")
        report = self.json_of("backup", "check", "--repo", self.repo)
        self.assertEqual(report["status"], "ok", report)
        self.assertEqual(report["manifests_checked"], 2)
        self.assertEqual(report["chunks_checked"], 10)
        self.assertIn("OK", self.run_ff("backup", "check", "--repo", self.repo).stdout)
        # The first backup's pack, damaged in its trailer: restore of the newest backup and
        # its own verify need not read it, the whole-repository check does.
        packs = sorted(glob.glob(os.path.join(self.repo, "packs", "*.pack")),
                       key=os.path.getmtime)
        with open(packs[0], "r+b") as f:
            f.seek(-40, os.SEEK_END)
            byte = f.read(1)
            f.seek(-40, os.SEEK_END)
            f.write(bytes([byte[0] ^ 0x01]))
        for extra in ([], ["--metadata-only"]):
            done = self.run_ff("--json", "backup", "check", "--repo", self.repo, *extra,
                               check=False)
            self.assertEqual(done.returncode, EXIT_DAMAGED, done.stderr)
            report = json.loads(done.stdout)
            self.assertEqual(report["status"], "damaged")
            self.assertIn(os.path.basename(packs[0]), report["problems"][0])
            self.assertIn("offset", report["problems"][0])

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
