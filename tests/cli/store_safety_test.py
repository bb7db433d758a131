#!/usr/bin/env python3
"""Store safety, end to end: the freezeframe command never touches what is outside its store,
never lets two commands write at once, isolates a damaged volume, and keeps working on a
copied or moved store. Each test drives the built binary on a fresh temporary store.

usage: store_safety_test.py --binary PATH [unittest arguments, e.g. a test class name]
"""
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_test  # noqa: E402
from cli_test import EXIT_BUSY, EXIT_USAGE, MIB, StoreTest  # noqa: E402

EXIT_FAILED = 1


def traced_environment():
    """The environment for a run under strace: LeakSanitizer cannot work under ptrace, so a
    sanitizer build must not try (the rest of AddressSanitizer still runs)."""
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "detect_leaks=0"]))
    return env


class SafetyTest(StoreTest):
    def run_ff(self, *args, check=True, store=True):
        # Damaged catalogs may hold bytes that are not UTF-8; messages quote them.
        argv = [cli_test.BINARY] + (["--store", self.store] if store else []) + list(args)
        done = subprocess.run(argv, capture_output=True, text=True, errors="backslashreplace",
                              timeout=240)
        if check and done.returncode != 0:
            self.fail("%s exited %d\nstdout:\n%s\nstderr:\n%s"
                      % (" ".join(args), done.returncode, done.stdout, done.stderr))
        return done

    def catalog(self):
        with open(os.path.join(self.store, "catalog.json")) as f:
            return json.load(f)

    def write_catalog(self, catalog):
        """Writes a hand-made catalog as an older freezeframe would have: format version 1,
        whose entries carry no checksums, so what is checked is the entries' content."""
        catalog = json.loads(json.dumps(catalog))
        catalog["version"] = 1
        for entry in catalog["volumes"] + catalog["exposures"]:
            entry.pop("checksum", None)
        with open(os.path.join(self.store, "catalog.json"), "w") as f:
            json.dump(catalog, f, indent=2)

    def entry(self, name):
        return [v for v in self.catalog()["volumes"] if v["name"] == name][0]

    def diff_image(self, name, store=None):
        return os.path.join(store or self.store, self.entry(name)["storage"]["diff_image"])

    def damage_superblock(self, name):
        """Flips bytes inside the diff area's superblock (its first sector)."""
        with open(self.diff_image(name), "r+b") as f:
            block = bytearray(f.read(512))
            for at in (16, 40, 100):
                block[at] ^= 0x5A
            f.seek(0)
            f.write(block)

    def volume_with_shadow(self, name, provider="cow", size=4 * MIB):
        self.run_ff("volume", "create", name, "--size", str(size), "--provider", provider)
        old = self.rng.randbytes(size)
        self.write(name, 0, old)
        shadow = self.create_set(name)["shadows"][0]["id"]
        new = self.rng.randbytes(size // 2)
        self.write(name, size // 4, new)
        live = old[:size // 4] + new + old[size // 4 + len(new):]
        return shadow, old, live

    def expose(self, shadow, path, cwd=None, check=True):
        """Exposes a shadow copy at `path` through a script (the command has no expose verb),
        run from `cwd` (default: the test's directory)."""
        script = self.path("expose.dsh")
        with open(script, "w") as f:
            f.write("expose %s %s\n" % (shadow, path))
        done = subprocess.run([cli_test.BINARY, "--store", self.store, "script", script],
                              capture_output=True, text=True, cwd=cwd or self.dir)
        if check:
            self.assertEqual(done.returncode, 0, done.stderr)
        return done

    def victim(self, name="victim.txt", text=b"not the store's\n"):
        path = self.path(name)
        with open(path, "wb") as f:
            f.write(text)
        return path, text

    def assert_file(self, path, content):
        self.assertTrue(os.path.exists(path), "%s was deleted" % path)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), content)


class DamagedStorageTest(SafetyTest):
    def test_resize_and_delete_of_a_damaged_diff_area_fail_cleanly_and_force_removes_it(self):
        shadow, _, live = self.volume_with_shadow("C:")
        diff = self.diff_image("C:")
        self.damage_superblock("C:")
        resize = self.run_ff("shadowstorage", "resize", "--for", "C:", "--maxsize", "8M",
                             check=False)
        self.assertEqual(resize.returncode, EXIT_FAILED, resize.stderr)
        self.assertIn("damaged", resize.stderr)
        self.assertIn("--force", resize.stderr)
        delete = self.run_ff("shadowstorage", "delete", "--for", "C:", "--quiet", check=False)
        self.assertEqual(delete.returncode, EXIT_FAILED, delete.stderr)
        self.assertIn("--force", delete.stderr)
        self.assertTrue(os.path.exists(diff))
        forced = self.run_ff("shadowstorage", "delete", "--for", "C:", "--quiet", "--force")
        self.assertIn(diff, forced.stdout)
        self.assertIn("damaged", forced.stdout)
        self.assertFalse(os.path.exists(diff))
        # The volume is whole again, its live data intact, the lost shadow gone.
        volumes = self.json_of("volume", "list")
        self.assertEqual(volumes[0]["status"], "ok")
        self.assertIsNone(volumes[0]["shadow_storage"])
        self.assertEqual(self.read_volume("C:"), live)
        self.assertNotIn(shadow, [s["id"] for s in self.shadows()])
        self.create_set("C:")  # and takes shadow copies again

    def test_resize_whose_catalog_save_fails_deletes_nothing(self):
        self.run_ff("volume", "create", "C:", "--size", "4M")
        ids = []
        for _ in range(3):
            self.write("C:", 0, self.rng.randbytes(2 * MIB))
            ids.append(self.create_set("C:")["shadows"][0]["id"])
        limit_before = self.json_of("shadowstorage", "list")[0]["max_bytes"]
        # The catalog cannot be replaced: its temporary file's name is taken by a directory
        # that is not empty.
        blocker = os.path.join(self.store, "catalog.json.tmp")
        os.makedirs(os.path.join(blocker, "keep"))
        done = self.run_ff("shadowstorage", "resize", "--for", "C:", "--maxsize", "1M",
                           check=False)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("catalog.json.tmp", done.stderr)
        shutil.rmtree(blocker)
        self.assertEqual([s["id"] for s in self.shadows()], ids)
        listed = self.json_of("shadowstorage", "list")[0]
        self.assertEqual(listed["max_bytes"], limit_before)
        self.assertEqual(listed["maxsize"], "UNBOUNDED")


    def test_force_never_removes_a_diff_area_whose_image_is_only_missing(self):
        image = self.path("ext.img")
        with open(image, "wb") as f:
            f.truncate(MIB)
        self.run_ff("volume", "attach", "V:", "--image", image)
        shadow = self.create_set("V:")["shadows"][0]["id"]
        diff = self.diff_image("V:")
        os.rename(image, self.path("unplugged.img"))
        forced = self.run_ff("shadowstorage", "delete", "--for", "V:", "--force", "--quiet",
                             check=False)
        self.assertNotEqual(forced.returncode, 0)
        self.assertIn("kept", forced.stderr)
        self.assertTrue(os.path.exists(diff))
        os.rename(self.path("unplugged.img"), image)
        self.assertEqual([s["id"] for s in self.shadows()], [shadow])

    def test_force_on_one_volume_keeps_the_exposures_of_another_damaged_one(self):
        self.run_ff("volume", "create", "A:", "--size", "1M")
        self.run_ff("volume", "create", "B:", "--size", "1M")
        self.create_set("A:")
        b_shadow = self.create_set("B:")["shadows"][0]["id"]
        exposed = self.path("b.img")
        self.expose(b_shadow, exposed)
        with open(exposed, "rb") as f:
            b_data = f.read()
        self.damage_superblock("A:")
        self.damage_superblock("B:")
        self.run_ff("shadowstorage", "delete", "--for", "A:", "--force", "--quiet")
        self.assert_file(exposed, b_data)
        self.assertEqual(self.catalog()["exposures"][0]["path"], exposed)

class LockTest(SafetyTest):
    def hold_with_script(self):
        """Starts a script whose exec blocks until release() is called: the command holds the
        store's exclusive lock all the while. Two FIFOs order the steps; nothing sleeps."""
        self.holds = getattr(self, "holds", 0) + 1
        started = self.path("started-%d" % self.holds)
        release = self.path("release-%d" % self.holds)
        os.mkfifo(started)
        os.mkfifo(release)
        waiter = self.path("wait-%d.sh" % self.holds)
        with open(waiter, "w") as f:
            f.write("#!/bin/sh\necho started > %s\nread go < %s\n" % (started, release))
        os.chmod(waiter, 0o755)
        script = self.path("hold-%d.dsh" % self.holds)
        with open(script, "w") as f:
            f.write("exec %s\n" % waiter)
        process = subprocess.Popen([cli_test.BINARY, "--store", self.store, "script", script],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with open(started) as f:  # returns once the script's exec runs, under the lock
            self.assertEqual(f.read().strip(), "started")

        def finish():
            with open(release, "w") as f:
                f.write("go\n")
            out, err = process.communicate(timeout=60)
            self.assertEqual(process.returncode, 0, err)
        return process, finish

    def test_no_second_writer_runs_while_the_lock_file_is_removed_and_recreated(self):
        self.run_ff("volume", "create", "C:", "--size", "1M")
        data = self.rng.randbytes(MIB)
        self.write("C:", 0, data)
        source, _ = self.victim("other.bin", self.rng.randbytes(MIB))
        lock = os.path.join(self.store, "lock")
        for round in range(5):
            holder, finish = self.hold_with_script()
            os.remove(lock)
            if round % 2 == 0:
                open(lock, "w").close()  # recreated by someone else
            for args in (["volume", "write", "C:", "--from", source],
                         ["volume", "create", "E%d:" % round, "--size", "1M"],
                         ["volume", "list"]):
                second = self.run_ff(*args, check=False)
                self.assertEqual(second.returncode, EXIT_BUSY,
                                 "round %d: %s ran beside the holder: %s"
                                 % (round, args[:2], second.stderr))
                self.assertIn("pid %d" % holder.pid, second.stderr)
            finish()
        self.assertEqual(self.read_volume("C:"), data)
        self.assertEqual([v["name"] for v in self.json_of("volume", "list")], ["C:"])

    def test_readers_share_the_lock_and_exclude_writers(self):
        self.run_ff("volume", "create", "C:", "--size", "1M")
        fd = os.open(self.store, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            self.assertEqual([v["name"] for v in self.json_of("volume", "list")], ["C:"])
            busy = self.run_ff("volume", "create", "D:", "--size", "1M", check=False)
            self.assertEqual(busy.returncode, EXIT_BUSY)
            self.assertIn("pid %d" % os.getpid(), busy.stderr)
        finally:
            os.close(fd)
        self.run_ff("volume", "create", "D:", "--size", "1M")

    def test_wait_times_out_naming_the_holder_or_gets_the_lock_when_it_is_released(self):
        self.run_ff("volume", "create", "C:", "--size", "1M")
        fd = os.open(self.store, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_EX)
        timed_out = self.run_ff("--wait", "0.3", "volume", "list", check=False)
        self.assertEqual(timed_out.returncode, EXIT_BUSY)
        self.assertIn("pid %d" % os.getpid(), timed_out.stderr)
        waiting = subprocess.Popen(
            [cli_test.BINARY, "--store", self.store, "--wait", "60", "volume", "create", "D:",
             "--size", "1M"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = waiting.stderr.readline()  # printed once it finds the lock held
        self.assertIn("waiting for the store lock", line)
        self.assertIn(str(os.getpid()), line)
        self.assertIsNone(waiting.poll())
        os.close(fd)
        out, err = waiting.communicate(timeout=60)
        self.assertEqual(waiting.returncode, 0, err)
        self.assertEqual([v["name"] for v in self.json_of("volume", "list")], ["C:", "D:"])
        bad = self.run_ff("--wait", "soon", "volume", "list", check=False)
        self.assertEqual(bad.returncode, EXIT_USAGE)
        self.assertIn("--wait", bad.stderr)


class ConfinementTest(SafetyTest):
    def test_an_image_path_leaving_the_store_is_never_deleted(self):
        self.run_ff("volume", "create", "C:", "--size", "1M")
        self.run_ff("volume", "create", "D:", "--size", "1M")
        victim, text = self.victim()
        catalog = self.catalog()
        own_image = os.path.join(self.store, catalog["volumes"][0]["image"])
        catalog["volumes"][0]["image"] = "../victim.txt"
        self.write_catalog(catalog)
        listed = self.run_ff("volume", "list", "--json", check=False)
        self.assertEqual(listed.returncode, EXIT_FAILED)
        status = {v["name"]: v["status"] for v in json.loads(listed.stdout)}
        self.assertEqual(status, {"C:": "damaged", "D:": "ok"})
        self.assertIn("../victim.txt", listed.stderr)
        self.write("D:", 0, self.rng.randbytes(MIB))  # the other volume keeps working
        removed = self.run_ff("volume", "remove", "C:")
        self.assertIn("no file it may have named was deleted", removed.stderr)
        self.assert_file(victim, text)
        self.assertTrue(os.path.exists(own_image))  # kept: the broken entry may have meant it
        self.run_ff("volume", "create", "E:", "--size", "1M")  # and no later writer takes it
        self.assertTrue(os.path.exists(own_image))
        self.assertEqual([v["name"] for v in self.json_of("volume", "list")], ["D:", "E:"])

    def test_an_absolute_owned_image_and_a_diff_image_outside_diff_are_refused(self):
        self.run_ff("volume", "create", "C:", "--size", "1M")
        victim, text = self.victim()
        catalog = self.catalog()
        catalog["volumes"][0]["image"] = victim
        self.write_catalog(catalog)
        self.run_ff("volume", "remove", "C:")
        self.assert_file(victim, text)
        self.run_ff("volume", "create", "D:", "--size", "1M")
        self.create_set("D:")
        catalog = self.catalog()
        catalog["volumes"][0]["storage"]["diff_image"] = "diff/../../victim.txt"
        self.write_catalog(catalog)
        self.run_ff("volume", "remove", "D:")
        self.assert_file(victim, text)

    def test_an_exposure_recorded_outside_the_store_is_not_deleted(self):
        self.run_ff("volume", "create", "C:", "--size", "1M")
        shadow = self.create_set("C:")["shadows"][0]["id"]
        victim, text = self.victim()
        catalog = self.catalog()
        catalog["exposures"] = [{"shadow": shadow, "path": victim}]
        self.write_catalog(catalog)
        self.run_ff("shadow", "delete", "--all", "--quiet")
        self.assert_file(victim, text)
        self.assertEqual(self.catalog()["exposures"], [])

    def test_exposures_are_absolute_and_delete_from_another_directory_removes_only_them(self):
        self.run_ff("volume", "create", "C:", "--size", "1M")
        data = self.rng.randbytes(MIB)
        self.write("C:", 0, data)
        shadow = self.create_set("C:")["shadows"][0]["id"]
        here = self.path("here")
        elsewhere = self.path("elsewhere")
        os.makedirs(here)
        os.makedirs(elsewhere)
        self.expose(shadow, "exposed.img", cwd=here)
        exported = os.path.join(here, "exposed.img")
        self.assertEqual(self.shadows()[0]["exposed"], exported)
        self.assert_file(exported, data)
        unrelated, text = self.victim("elsewhere/exposed.img")
        done = subprocess.run([cli_test.BINARY, "--store", self.store, "shadow", "delete",
                               "--all", "--quiet"], capture_output=True, text=True,
                              cwd=elsewhere)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assert_file(unrelated, text)
        self.assertFalse(os.path.exists(exported))

    def test_expose_refuses_an_existing_file(self):
        self.run_ff("volume", "create", "C:", "--size", "1M")
        shadow = self.create_set("C:")["shadows"][0]["id"]
        victim, text = self.victim("taken.img")
        done = self.expose(shadow, victim, check=False)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("already exists", done.stderr)
        self.assert_file(victim, text)
        self.assertIsNone(self.shadows()[0]["exposed"])

    def test_an_exposed_file_replaced_by_the_user_is_left_alone(self):
        self.run_ff("volume", "create", "C:", "--size", "1M")
        shadow = self.create_set("C:")["shadows"][0]["id"]
        exported = self.path("exposed.img")
        self.expose(shadow, exported)
        os.remove(exported)
        replacement, text = self.victim("exposed.img")
        self.run_ff("shadow", "delete", "--all", "--quiet")
        self.assert_file(replacement, text)


    def test_two_damaged_entries_leave_the_other_volumes_writable_and_both_removable(self):
        for name in ("A:", "B:", "C:"):
            self.run_ff("volume", "create", name, "--size", "1M")
        catalog = self.catalog()
        catalog["volumes"][0]["image"] = "../a.img"
        catalog["volumes"][1]["size_bytes"] = -5
        self.write_catalog(catalog)
        self.run_ff("volume", "create", "D:", "--size", "1M")
        shadow = self.create_set("C:")["shadows"][0]["id"]
        self.run_ff("shadowstorage", "resize", "--for", "C:", "--maxsize", "2M")
        self.run_ff("shadow", "delete", "--shadow", shadow, "--quiet")
        self.run_ff("volume", "remove", "A:")
        self.run_ff("volume", "remove", "B:")
        self.assertEqual([v["name"] for v in self.json_of("volume", "list")], ["C:", "D:"])

    def test_export_and_read_never_write_over_the_stores_own_files(self):
        self.run_ff("volume", "create", "C:", "--size", "1M")
        self.run_ff("volume", "create", "D:", "--size", "1M")
        data = self.rng.randbytes(MIB)
        self.write("C:", 0, data)
        shadow = self.create_set("C:")["shadows"][0]["id"]
        catalog_before = open(os.path.join(self.store, "catalog.json"), "rb").read()
        d_image = self.json_of("volume", "list")[1]["image"]
        link = self.path("link-to-d.img")
        os.symlink(d_image, link)
        for args in (["shadow", "export", shadow, "--to", self.diff_image("C:")],
                     ["volume", "read", "C:", "--to", os.path.join(self.store, "catalog.json")],
                     ["volume", "read", "C:", "--to", d_image],
                     ["shadow", "export", shadow, "--to", link]):
            done = self.run_ff(*args, check=False)
            self.assertEqual(done.returncode, EXIT_USAGE, args)
        self.assertEqual(open(os.path.join(self.store, "catalog.json"), "rb").read(),
                         catalog_before)
        self.assertEqual(self.export(shadow), data)
        self.assertEqual(self.read_volume("D:"), b"\0" * MIB)

    def test_an_exposed_file_cannot_be_attached(self):
        self.run_ff("volume", "create", "C:", "--size", "1M")
        shadow = self.create_set("C:")["shadows"][0]["id"]
        exposed = self.path("x.img")
        self.expose(shadow, exposed)
        done = self.run_ff("volume", "attach", "V:", "--image", exposed, check=False)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("exposure", done.stderr)

class AliasTest(SafetyTest):
    def test_one_image_cannot_be_attached_twice(self):
        image = self.path("disk.img")
        with open(image, "wb") as f:
            f.truncate(2 * MIB)
        self.run_ff("volume", "attach", "A:", "--image", image)
        os.link(image, self.path("hard.img"))
        os.symlink(image, self.path("soft.img"))
        for path in (image, self.path("hard.img"), self.path("soft.img")):
            done = self.run_ff("volume", "attach", "B:", "--image", path, check=False)
            self.assertNotEqual(done.returncode, 0, path)
            self.assertIn("already the image of volume 'A:'", done.stderr)
        self.assertEqual([v["name"] for v in self.json_of("volume", "list")], ["A:"])

    def test_a_copy_with_the_same_identity_or_a_store_file_cannot_be_attached(self):
        self.run_ff("volume", "create", "C:", "--size", "1M")
        self.create_set("C:")
        image = self.json_of("volume", "list")[0]["image"]
        copy = self.path("copy.img")
        subprocess.run(["cp", "--preserve=xattr", image, copy], check=True)
        done = self.run_ff("volume", "attach", "X:", "--image", copy, check=False)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("identity", done.stderr)
        for inside in (image, self.diff_image("C:")):
            done = self.run_ff("volume", "attach", "Y:", "--image", inside, check=False)
            self.assertNotEqual(done.returncode, 0)
            self.assertIn("inside the store", done.stderr)
        self.assertEqual([v["name"] for v in self.json_of("volume", "list")], ["C:"])


class CopiedStoreTest(SafetyTest):
    def test_a_store_copied_without_xattrs_and_moved_exports_every_shadow_identically(self):
        expected = {}
        lives = {}
        for name, provider in (("C:", "cow"), ("D:", "row")):
            self.run_ff("volume", "create", name, "--size", "2M", "--provider", provider)
            image = bytearray(self.rng.randbytes(2 * MIB))
            self.write(name, 0, bytes(image))
            for round in range(3):
                shadow = self.create_set(name, context="persistent")["shadows"][0]["id"]
                expected[shadow] = bytes(image)
                change = self.rng.randbytes(256 * 1024)
                at = self.rng.randrange(0, 2 * MIB - len(change), 512)
                self.write(name, at, change)
                image[at:at + len(change)] = change
            lives[name] = bytes(image)
        def user_attributes(top):
            found = []
            for root, _, files in os.walk(top):
                for name in files:
                    path = os.path.join(root, name)
                    found += [(path, a) for a in os.listxattr(path) if a.startswith("user.")]
            return found
        # The originals carry their identity in user.* attributes, so the copy loses something.
        self.assertGreaterEqual(len(user_attributes(self.store)), 4)
        copy = self.path("copied")
        subprocess.run(["cp", "-r", self.store, copy], check=True)
        for path, attribute in user_attributes(copy):  # what a copy tool might have kept
            os.removexattr(path, attribute)
        self.assertEqual(user_attributes(copy), [])
        shutil.rmtree(self.store)  # the original is gone: nothing can lean on it
        moved = self.path("elsewhere/store")
        os.makedirs(os.path.dirname(moved))
        os.rename(copy, moved)
        self.store = moved
        self.assertEqual({v["status"] for v in self.json_of("volume", "list")}, {"ok"})
        listed = self.shadows()
        self.assertEqual(sorted(s["id"] for s in listed), sorted(expected))
        for shadow, data in expected.items():
            self.assertEqual(self.export(shadow), data, shadow)
        for name, data in lives.items():
            self.assertEqual(self.read_volume(name), data, name)
        # And it keeps working: a write, a shadow copy, a revert.
        self.write("D:", 0, self.rng.randbytes(MIB))
        newest = [s for s in listed if s["volume"] == "C:"][-1]["id"]
        self.run_ff("shadow", "revert", newest)
        self.assertEqual(self.read_volume("C:"), expected[newest])


class IsolationTest(SafetyTest):
    def test_one_damaged_diff_area_leaves_the_other_volume_working(self):
        c_shadow, c_old, _ = self.volume_with_shadow("C:", "cow")
        d_shadow, _, _ = self.volume_with_shadow("D:", "row")
        self.damage_superblock("D:")
        listed = self.run_ff("volume", "list", "--json", check=False)
        self.assertEqual(listed.returncode, EXIT_FAILED)
        volumes = {v["name"]: v for v in json.loads(listed.stdout)}
        self.assertEqual(volumes["C:"]["status"], "ok")
        self.assertEqual(volumes["D:"]["status"], "damaged")
        self.assertIn("D:", listed.stderr)
        table = self.run_ff("volume", "list", check=False)
        self.assertEqual(table.returncode, EXIT_FAILED)
        self.assertIn("DAMAGED", table.stdout)
        shadows = self.run_ff("shadow", "list", "--json")
        self.assertEqual([s["id"] for s in json.loads(shadows.stdout)], [c_shadow])
        self.assertIn("'D:' is damaged", shadows.stderr)
        self.assertEqual(self.export(c_shadow), c_old)
        newer = self.create_set("C:")["shadows"][0]["id"]
        self.write("C:", 0, self.rng.randbytes(MIB))
        self.run_ff("shadow", "revert", c_shadow)
        self.assertEqual(self.read_volume("C:"), c_old)
        self.assertNotIn(newer, [s["id"] for s in self.shadows()])
        for args in (["shadow", "export", d_shadow, "--to", self.path("d.img")],
                     ["volume", "write", "D:", "--from", self.path("d.img")],
                     ["shadow", "create", "--for", "D:"]):
            done = self.run_ff(*args, check=False)
            self.assertNotEqual(done.returncode, 0, args)
            self.assertIn("D:", done.stderr)

    def test_a_cow_origin_stays_readable_when_its_diff_area_is_damaged(self):
        _, _, live = self.volume_with_shadow("C:", "cow")
        self.damage_superblock("C:")
        out = self.path("live.img")
        done = self.run_ff("volume", "read", "C:", "--to", out)
        self.assertIn("read-only", done.stderr)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), live)
        write = self.run_ff("volume", "write", "C:", "--from", out, check=False)
        self.assertNotEqual(write.returncode, 0)
        self.assertIn("damaged", write.stderr)
        self.assertEqual(self.shadows(), [])  # listed as damaged, not as a shadow copy


class SmallerDefectsTest(SafetyTest):
    def test_overflow_deletions_during_a_write_are_reported(self):
        self.run_ff("volume", "create", "C:", "--size", "4M")
        self.run_ff("shadowstorage", "add", "--for", "C:", "--maxsize", "1M")
        shadow = self.create_set("C:")["shadows"][0]["id"]
        source, _ = self.victim("big.bin", self.rng.randbytes(3 * MIB))
        done = self.run_ff("volume", "write", "C:", "--from", source, "--json")
        self.assertEqual(json.loads(done.stdout)["shadows_deleted_for_space"], [shadow])
        self.write("C:", 0, b"\0" * 512)
        shadow = self.create_set("C:")["shadows"][0]["id"]
        text = self.run_ff("volume", "write", "C:", "--from", source)
        self.assertIn(shadow, text.stdout)
        self.assertIn("deleted to make room", text.stdout)

    def test_a_read_only_store_can_be_listed_and_exported(self):
        if os.geteuid() != 0:
            self.skipTest("a read-only bind mount needs root")
        shadow, old, live = self.volume_with_shadow("C:", "row")
        view = self.path("ro-view")
        os.makedirs(view)
        subprocess.run(["mount", "--bind", self.store, view], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,ro,bind", view], check=True)
            store, self.store = self.store, view
            self.assertEqual(self.json_of("volume", "list")[0]["status"], "ok")
            self.assertEqual([s["id"] for s in self.shadows()], [shadow])
            self.assertEqual(self.export(shadow), old)
            self.assertEqual(self.read_volume("C:"), live)
            self.json_of("shadowstorage", "list")
            done = self.run_ff("volume", "create", "D:", "--size", "1M", check=False)
            self.assertNotEqual(done.returncode, 0)
            self.assertIn("Read-only file system", done.stderr)
            self.store = store
        finally:
            subprocess.run(["umount", view], check=True)

    def test_exports_and_reads_are_fsynced(self):
        self.run_ff("volume", "create", "C:", "--size", "1M")
        shadow = self.create_set("C:")["shadows"][0]["id"]
        for args, target in ((["shadow", "export", shadow, "--to"], "export.img"),
                             (["volume", "read", "C:", "--to"], "read.img")):
            trace = self.path(target + ".trace")
            subprocess.run(["strace", "-f", "-y", "-e", "trace=fsync,fdatasync", "-o", trace,
                            cli_test.BINARY, "--store", self.store] + args
                           + [self.path(target)], check=True, capture_output=True,
                           env=traced_environment())
            with open(trace) as f:
                calls = f.read()
            self.assertIn("%s>" % self.path(target), calls, "no fsync of %s" % target)

    def test_an_image_left_by_a_killed_command_is_reported_then_removed(self):
        self.run_ff("volume", "create", "C:", "--size", "1M")
        self.create_set("C:")
        before = set(os.listdir(os.path.join(self.store, "volumes")))
        # SIGKILL at the second catalog rename: after the new image was made, before the
        # catalog named it.
        killed = subprocess.run(
            ["strace", "-f", "-o", os.devnull, "-e", "trace=rename,renameat,renameat2",
             "-e", "inject=rename,renameat,renameat2:signal=KILL:when=2",
             cli_test.BINARY, "--store", self.store, "volume", "create", "D:", "--size", "1M"],
            capture_output=True, text=True, env=traced_environment())
        self.assertNotEqual(killed.returncode, 0, killed.stderr)
        left = set(os.listdir(os.path.join(self.store, "volumes"))) - before
        self.assertEqual(len(left), 1, "the killed command left no image")
        orphan = os.path.join(self.store, "volumes", left.pop())
        self.assertEqual([v["name"] for v in self.json_of("volume", "list")], ["C:"])
        listed = self.run_ff("volume", "list")
        self.assertIn("did not finish", listed.stderr)
        self.assertTrue(os.path.exists(orphan))
        written = self.run_ff("volume", "create", "E:", "--size", "1M")
        self.assertIn("removed image", written.stderr)
        self.assertFalse(os.path.exists(orphan))
        self.assertEqual(len(self.shadows()), 1)

    def test_images_the_catalog_does_not_know_are_never_deleted(self):
        self.run_ff("volume", "create", "C:", "--size", "1M")
        self.create_set("C:")
        stranger = os.path.join(self.store, "diff", "C_-0c8a1b9e-6ad5-4b8a-9a43-2f7c0d3b9e11.img")
        with open(stranger, "wb") as f:
            f.truncate(MIB)
        images = sorted(os.listdir(os.path.join(self.store, "volumes")) +
                        os.listdir(os.path.join(self.store, "diff")))
        listed = self.run_ff("volume", "list")
        self.assertIn("not named by the catalog", listed.stderr)
        self.run_ff("volume", "create", "D:", "--size", "1M")
        self.assertTrue(os.path.exists(stranger))
        # A lost catalog names nothing: every image is unknown, and none is deleted.
        os.rename(os.path.join(self.store, "catalog.json"), self.path("catalog.saved"))
        self.run_ff("volume", "create", "E:", "--size", "1M")
        for name in images:
            where = "volumes" if os.path.exists(os.path.join(self.store, "volumes", name)) \
                else "diff"
            self.assertTrue(os.path.exists(os.path.join(self.store, where, name)), name)

    def test_a_catalog_entry_with_a_negative_size_is_damaged(self):
        self.run_ff("volume", "create", "C:", "--size", "1M")
        self.run_ff("volume", "create", "D:", "--size", "1M")
        catalog = self.catalog()
        catalog["volumes"][0]["size_bytes"] = -1
        self.write_catalog(catalog)
        listed = self.run_ff("volume", "list", "--json", check=False)
        self.assertEqual(listed.returncode, EXIT_FAILED)
        self.assertEqual([v["status"] for v in json.loads(listed.stdout)], ["damaged", "ok"])
        self.assertIn("size_bytes", listed.stderr)

    def test_bad_volume_names_are_refused(self):
        for name in ("", " ", "a\nb", "x" * 5000, "a,b", "a/b", "tab\there", "\u202eC:",
                     "\u0085", "\udcff"):
            done = self.run_ff("volume", "create", name, "--size", "1M", check=False)
            self.assertEqual(done.returncode, EXIT_USAGE, repr(name))
            self.assertIn("name", done.stderr, repr(name))
        self.assertEqual(self.json_of("volume", "list"), [])
        self.run_ff("volume", "create", "C:\\", "--size", "1M")  # vssadmin's spelling is fine
        self.run_ff("volume", "create", "x" * 255, "--size", "1M")

    def test_write_from_a_device_or_a_pipe_counts_what_it_wrote(self):
        self.run_ff("volume", "create", "C:", "--size", "1M")
        self.write("C:", 0, b"\xff" * MIB)
        zero = self.run_ff("volume", "write", "C:", "--from", "/dev/zero", "--length", "64K",
                           "--json")
        self.assertEqual(json.loads(zero.stdout)["bytes"], 65536)
        self.assertEqual(self.read_volume("C:"), b"\0" * 65536 + b"\xff" * (MIB - 65536))
        endless = self.run_ff("volume", "write", "C:", "--from", "/dev/zero", check=False)
        self.assertEqual(endless.returncode, EXIT_FAILED)  # data was written: not a usage error
        self.assertIn("more than", endless.stderr)
        data = self.rng.randbytes(300 * 1024 + 100)
        piped = subprocess.run([cli_test.BINARY, "--store", self.store, "--json", "volume",
                                "write", "C:", "--offset", "4096", "--from", "/dev/stdin"],
                               input=data, capture_output=True)
        self.assertEqual(piped.returncode, 0, piped.stderr)
        self.assertEqual(json.loads(piped.stdout)["bytes"], len(data))
        self.assertEqual(self.read_volume("C:")[4096:4096 + len(data)], data)


class CatalogCorruptionTest(SafetyTest):
    def test_a_flipped_byte_anywhere_in_the_catalog_gives_right_bytes_or_an_error(self):
        expected = {}
        lives = {}
        for name, provider in (("C:", "cow"), ("D:", "row")):
            shadow, old, live = self.volume_with_shadow(name, provider, size=MIB)
            expected[shadow] = old
            lives[name] = live
        exported = self.path("exposed.img")
        self.expose(list(expected)[0], exported)
        path = os.path.join(self.store, "catalog.json")
        with open(path, "rb") as f:
            good = f.read()
        outcomes = {"right": 0, "error": 0}
        # About 60 offsets spread over the whole file, a different phase per seed.
        stride = max(1, len(good) // 60)
        for offset in range(self.rng.randrange(stride), len(good), stride):
            flipped = bytearray(good)
            flipped[offset] ^= 1 << self.rng.randrange(8)
            with open(path, "wb") as f:
                f.write(flipped)
            where = "byte %d flipped (%r)" % (offset, bytes(good[max(0, offset - 20):offset + 20]))
            listed = self.run_ff("volume", "list", "--json", check=False)
            if listed.returncode == 0:
                self.assertEqual({v["status"] for v in json.loads(listed.stdout)}, {"ok"}, where)
            checks = [(["shadow", "export", shadow, "--to"], data)
                      for shadow, data in expected.items()]
            checks += [(["volume", "read", name, "--to"], data) for name, data in lives.items()]
            for args, data in checks:
                out = self.path("out.img")
                done = self.run_ff(*(args + [out]), check=False)
                if done.returncode == 0:
                    with open(out, "rb") as f:
                        self.assertEqual(f.read(), data, "%s: %s gave wrong bytes" % (where, args))
                    outcomes["right"] += 1
                else:
                    self.assertTrue(done.stderr.strip(), where)
                    outcomes["error"] += 1
            # A writing command (which also removes orphan images) never deletes what a
            # damaged entry may name.
            self.run_ff("volume", "create", "Z:", "--size", "64K", check=False)
            with open(path, "wb") as f:
                f.write(good)
            self.assert_file(exported, expected[list(expected)[0]])
            for name in ("C:", "D:"):
                self.assertEqual(self.read_volume(name), lives[name], where)
            self.assertEqual(sorted(s["id"] for s in self.shadows()), sorted(expected), where)
        print("catalog of %d bytes, flips every %d bytes: %s" % (len(good), stride, outcomes))
        self.assertGreater(outcomes["error"], 0)
        self.assertGreater(outcomes["right"], 0)


if __name__ == "__main__":
    cli_test.main(__doc__)
