#!/usr/bin/env python3
"""`freezeframe check` and `check --repair`, end to end: a healthy store checks OK, damage to a
catalog entry, an orphan image and damaged chunks in a diff area are reported (exit 5), and
--repair drops exactly the damaged shadow copies, leaving the others byte-identical.

usage: check_test.py --binary PATH [unittest arguments, e.g. a test class name]
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_test  # noqa: E402
from cli_test import EXIT_NOT_FOUND, MIB, StoreTest  # noqa: E402

EXIT_FAILED, EXIT_DAMAGED = 1, 5
CHUNK = 16 * 1024  # the store's chunk size


class CheckTest(StoreTest):
    def check(self, *args, expect=0):
        """Runs `check --json ARGS`, asserts its exit code and returns the parsed report."""
        done = self.run_ff("check", "--json", *args, check=False)
        self.assertEqual(done.returncode, expect, "stdout:\n%s\nstderr:\n%s"
                         % (done.stdout, done.stderr))
        return json.loads(done.stdout)

    def catalog_path(self):
        return os.path.join(self.store, "catalog.json")

    def catalog(self):
        with open(self.catalog_path()) as f:
            return json.load(f)

    def write_catalog(self, catalog):
        with open(self.catalog_path(), "w") as f:
            json.dump(catalog, f, indent=2)

    def volume(self, report, name):
        return [v for v in report["volumes"] if v["name"] == name][0]

    def diff_image(self, name):
        entry = [v for v in self.catalog()["volumes"] if v["name"] == name][0]
        return os.path.join(self.store, entry["storage"]["diff_image"])

    def volume_with_shadows(self, name, provider="cow", size=4 * MIB, count=3):
        """A volume with `count` shadow copies; between two of them one chunk-aligned 16 KiB
        piece is rewritten, at offset i * 1 MiB. Returns [(shadow id, its data)]."""
        self.run_ff("volume", "create", name, "--size", str(size), "--provider", provider)
        data = self.rng.randbytes(size)
        self.write(name, 0, data)
        shadows = []
        for i in range(count):
            shadows.append((self.create_set(name)["shadows"][0]["id"], data))
            piece = self.rng.randbytes(CHUNK)
            self.write(name, i * MIB, piece)
            data = data[:i * MIB] + piece + data[i * MIB + CHUNK:]
        return shadows

    def damage_slot(self, name, slot):
        """Flips bytes inside data slot `slot` of the volume's diff area, found through the
        superblock: data_offset (u64 at 120) and data_slots (u64 at 128)."""
        with open(self.diff_image(name), "r+b") as f:
            superblock = f.read(512)
            self.assertEqual(superblock[:8], b"FFDIFFAR")
            data_offset, data_slots = struct.unpack_from("<QQ", superblock, 120)
            self.assertLess(slot, data_slots)
            at = data_offset + slot * CHUNK
            f.seek(at)
            piece = bytearray(f.read(CHUNK))
            for i in (0, 1, 100, 4097, CHUNK - 1):
                piece[i] ^= 0xA5
            f.seek(at)
            f.write(piece)
            return at


class HealthyTest(CheckTest):
    def test_an_empty_store_checks_ok(self):
        self.run_ff("volume", "create", "E:", "--size", str(MIB))
        report = self.check()
        self.assertTrue(report["ok"])
        self.assertEqual(report["status"], "ok")
        self.assertIsNone(report["repair"])

    def test_a_healthy_store_checks_ok_in_json_and_text(self):
        cow = self.volume_with_shadows("C:", "cow")
        row = self.volume_with_shadows("D:", "row", count=2)
        self.run_ff("volume", "create", "E:", "--size", str(MIB))
        report = self.check()
        self.assertTrue(report["ok"], report)
        self.assertEqual(report["catalog"]["status"], "ok")
        self.assertEqual(report["orphan_images"], [])
        self.assertEqual(report["summary"]["volumes"], 3)
        self.assertEqual(report["summary"]["damaged_volumes"], 0)
        for name, shadows in (("C:", cow), ("D:", row)):
            volume = self.volume(report, name)
            self.assertEqual(volume["status"], "ok")
            self.assertEqual(volume["image"]["status"], "ok")
            area = volume["diff_area"]
            self.assertEqual(area["status"], "ok")
            self.assertIsNone(area["fatal"])
            self.assertIsNone(area["journal"])
            self.assertFalse(area["live_damaged"])
            self.assertEqual(area["damaged_chunks"], [])
            self.assertEqual([s["id"] for s in area["shadows"]], [s for s, _ in shadows])
            self.assertTrue(all(s["status"] == "ok" for s in area["shadows"]))
        self.assertIsNone(self.volume(report, "E:")["diff_area"])
        text = self.run_ff("check").stdout
        self.assertIn("Result: OK", text)
        self.assertIn("Volume 'C:' (cow): OK", text)

    def test_names_restrict_the_check_and_an_unknown_name_is_not_found(self):
        self.volume_with_shadows("C:", count=1)
        self.run_ff("volume", "create", "E:", "--size", str(MIB))
        report = self.check("c:")
        self.assertEqual([v["name"] for v in report["volumes"]], ["C:"])
        missing = self.run_ff("check", "nosuch", check=False)
        self.assertEqual(missing.returncode, EXIT_NOT_FOUND, missing.stderr)

    def test_a_missing_store_cannot_be_checked(self):
        done = self.run_ff("check", check=False)
        self.assertEqual(done.returncode, EXIT_FAILED, done.stderr)
        self.assertIn("does not exist", done.stderr)
        self.assertFalse(os.path.exists(self.store))

    def test_repair_of_a_healthy_store_changes_nothing(self):
        shadows = self.volume_with_shadows("C:", count=2)
        with open(self.diff_image("C:"), "rb") as f:
            before = f.read()
        report = self.check("--repair")
        self.assertTrue(report["ok"], report)
        self.assertEqual(report["repair"]["dropped"], [])
        self.assertEqual(report["repair"]["not_repaired"], [])
        self.assertTrue(report["repair"]["before"]["ok"])
        with open(self.diff_image("C:"), "rb") as f:
            self.assertEqual(f.read(), before)
        for shadow, data in shadows:
            self.assertEqual(self.export(shadow), data)


class CatalogDamageTest(CheckTest):
    def test_a_damaged_catalog_entry_is_reported_and_the_others_check_ok(self):
        self.volume_with_shadows("C:", count=1)
        self.run_ff("volume", "create", "E:", "--size", str(MIB))
        catalog = self.catalog()
        entry = [v for v in catalog["volumes"] if v["name"] == "E:"][0]
        entry["size_bytes"] = 2 * MIB  # the checksum no longer matches
        self.write_catalog(catalog)
        report = self.check(expect=EXIT_DAMAGED)
        self.assertFalse(report["ok"])
        self.assertEqual(report["catalog"]["status"], "damaged")
        self.assertEqual(report["catalog"]["damaged_entries"], 1)
        damaged = self.volume(report, "E:")
        self.assertEqual(damaged["status"], "damaged")
        self.assertIn("checksum", damaged["catalog_entry"])
        self.assertEqual(self.volume(report, "C:")["status"], "ok")
        # Its image is not named by any usable entry: an orphan, possibly the entry's.
        orphans = report["orphan_images"]
        self.assertEqual([o["path"] for o in orphans], [entry["image"]])
        self.assertIn("E:", orphans[0]["note"])
        # Repair forgets nothing and deletes nothing here.
        repaired = self.check("--repair", expect=EXIT_DAMAGED)
        self.assertEqual([n["volume"] for n in repaired["repair"]["not_repaired"]], ["E:"])
        self.assertTrue(os.path.exists(os.path.join(self.store, entry["image"])))

    def test_a_damaged_exposure_entry_is_reported(self):
        shadow, _ = self.volume_with_shadows("C:", count=1)[0]
        script = self.path("expose.dsh")
        exposed = self.path("exposed.img")
        with open(script, "w") as f:
            f.write("expose %s %s\n" % (shadow, exposed))
        self.run_ff("script", script)
        self.assertTrue(self.check()["ok"])
        catalog = self.catalog()
        catalog["exposures"][0]["path"] = self.path("elsewhere.img")  # checksum now wrong
        self.write_catalog(catalog)
        report = self.check(expect=EXIT_DAMAGED)
        self.assertEqual(report["catalog"]["status"], "damaged")
        self.assertEqual(len(report["catalog"]["damaged_exposures"]), 1, report["catalog"])
        self.assertIn("elsewhere.img", report["catalog"]["damaged_exposures"][0])
        self.assertEqual(self.volume(report, "C:")["status"], "ok")
        self.assertTrue(os.path.exists(exposed))

    def test_a_catalog_unreadable_as_a_whole_is_damage(self):
        self.run_ff("volume", "create", "E:", "--size", str(MIB))
        with open(self.catalog_path(), "w") as f:
            f.write("{not json")
        report = self.check(expect=EXIT_DAMAGED)
        self.assertEqual(report["catalog"]["status"], "damaged")
        self.assertEqual(report["volumes"], [])
        text = self.run_ff("check", check=False)
        self.assertEqual(text.returncode, EXIT_DAMAGED)
        self.assertIn("Catalog: DAMAGED", text.stdout)


class OrphanTest(CheckTest):
    def test_an_orphan_image_is_reported_and_never_deleted(self):
        self.volume_with_shadows("C:", count=1)
        stray = os.path.join(self.store, "diff", "stray-0c8a1b9e-6ad5-4b8a-9a43-2f7c0d3b9e11.img")
        with open(stray, "wb") as f:
            f.write(b"x" * 4096)
        report = self.check(expect=EXIT_DAMAGED)
        self.assertEqual(self.volume(report, "C:")["status"], "ok")
        self.assertEqual(report["summary"]["orphan_images"], 1)
        orphan = report["orphan_images"][0]
        self.assertEqual(orphan["path"], "diff/stray-0c8a1b9e-6ad5-4b8a-9a43-2f7c0d3b9e11.img")
        self.assertFalse(orphan["pending"])
        text = self.run_ff("check", check=False)
        self.assertEqual(text.returncode, EXIT_DAMAGED)
        self.assertIn("Orphan image 'diff/stray-", text.stdout)
        self.check("--repair", expect=EXIT_DAMAGED)
        self.assertTrue(os.path.exists(stray))
        # Names restrict the check to volumes: the store-wide orphans are not looked at.
        self.assertTrue(self.check("C:")["ok"])

    def test_a_pending_image_is_reported_and_repair_removes_it(self):
        self.run_ff("volume", "create", "E:", "--size", str(MIB))
        relative = "volumes/0c8a1b9e-6ad5-4b8a-9a43-2f7c0d3b9e11.img"
        with open(os.path.join(self.store, relative), "wb") as f:
            f.write(b"\0" * 4096)
        catalog = self.catalog()
        catalog["pending"] = [relative]
        self.write_catalog(catalog)
        report = self.check(expect=EXIT_DAMAGED)
        self.assertEqual([(o["path"], o["pending"]) for o in report["orphan_images"]],
                         [(relative, True)])
        repaired = self.check("--repair")
        self.assertTrue(repaired["ok"], repaired)
        self.assertFalse(os.path.exists(os.path.join(self.store, relative)))


class ChunkDamageTest(CheckTest):
    """Needs diff areas with per-chunk checksums (diff-area format version 2)."""

    def check_damaged_slot_is_found_and_repaired(self, provider):
        shadows = self.volume_with_shadows("C:", provider)
        other = self.volume_with_shadows("D:", provider, count=1)
        # Slot 0 holds the first chunk version the diff area took, of chunk 0: under CoW the
        # version shadow copy 1 saw (preserved before the first rewrite); under RoW a
        # redirected write, which the live volume or shadow copies may read. Exactly one
        # version is damaged, and the check names who reads it.
        at = self.damage_slot("C:", 0)
        report = self.check(expect=EXIT_DAMAGED)
        self.assertEqual(self.volume(report, "D:")["status"], "ok")
        volume = self.volume(report, "C:")
        self.assertEqual(volume["status"], "damaged")
        area = volume["diff_area"]
        self.assertEqual(area["status"], "damaged")
        self.assertGreaterEqual(area["format_version"], 2)
        self.assertEqual(len(area["damaged_chunks"]), 1, area)
        chunk = area["damaged_chunks"][0]
        self.assertEqual((chunk["chunk"], chunk["offset"], chunk["slot"], chunk["slot_offset"]),
                         (0, 0, 0, at))
        damaged = {s["id"] for s in area["shadows"] if s["status"] == "damaged"}
        self.assertEqual(damaged, set(chunk["shadows"]))
        self.assertEqual(area["live_damaged"], chunk["live"])
        if provider == "cow":
            self.assertEqual(damaged, {shadows[0][0]})
            self.assertFalse(chunk["live"])
        else:
            self.assertTrue(damaged or chunk["live"])
        text = self.run_ff("check", check=False).stdout
        self.assertIn("chunk 0 (origin offset 0, diff slot 0)", text)

        # The live volume cannot be dropped: a damaged chunk it reads stays damage.
        repaired = self.check("--repair", expect=EXIT_DAMAGED if chunk["live"] else 0)
        dropped = {d["shadow"] for d in repaired["repair"]["dropped"]}
        self.assertEqual(dropped, damaged)
        self.assertFalse(repaired["repair"]["before"]["ok"])
        listed = {s["id"] for s in self.shadows("--for", "C:")}
        self.assertEqual(listed & dropped, set())
        for shadow, data in shadows + other:
            if shadow not in dropped:
                self.assertEqual(self.export(shadow), data)
        if chunk["live"]:
            self.assertIn("C:", [n["volume"] for n in repaired["repair"]["not_repaired"]])
        else:
            self.assertTrue(self.check()["ok"])

    def test_a_damaged_chunk_of_a_cow_shadow_is_reported_and_repair_drops_that_shadow(self):
        self.check_damaged_slot_is_found_and_repaired("cow")

    def test_a_damaged_chunk_of_a_row_volume_is_reported_with_the_live_volume(self):
        self.check_damaged_slot_is_found_and_repaired("row")


class UnopenableDiffAreaTest(CheckTest):
    def test_a_cow_diff_area_that_cannot_be_opened_is_damaged_and_its_origin_readable(self):
        self.volume_with_shadows("C:", count=1)
        with open(self.diff_image("C:"), "r+b") as f:
            block = bytearray(f.read(512))
            for at in (16, 40, 100):
                block[at] ^= 0x5A
            f.seek(0)
            f.write(block)
        report = self.check(expect=EXIT_DAMAGED)
        volume = self.volume(report, "C:")
        self.assertEqual(volume["status"], "damaged")
        self.assertIsNotNone(volume["diff_area"]["fatal"])
        self.assertTrue(any("origin stays readable" in n for n in volume["notes"]), volume)
        repaired = self.check("--repair", expect=EXIT_DAMAGED)
        self.assertEqual([n["volume"] for n in repaired["repair"]["not_repaired"]], ["C:"])
        self.assertIn("--force", repaired["repair"]["not_repaired"][0]["reason"])

    def test_a_missing_image_is_damaged_and_its_diff_area_not_checked(self):
        self.volume_with_shadows("C:", count=1)
        entry = [v for v in self.catalog()["volumes"] if v["name"] == "C:"][0]
        os.unlink(os.path.join(self.store, entry["image"]))
        report = self.check(expect=EXIT_DAMAGED)
        volume = self.volume(report, "C:")
        self.assertEqual(volume["image"]["status"], "damaged")
        self.assertIsNone(volume["diff_area"])
        repaired = self.check("--repair", expect=EXIT_DAMAGED)
        self.assertEqual([n["volume"] for n in repaired["repair"]["not_repaired"]], ["C:"])
        self.assertTrue(os.path.exists(self.diff_image("C:")))


if __name__ == "__main__":
    cli_test.main(__doc__)
