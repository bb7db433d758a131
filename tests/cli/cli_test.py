#!/usr/bin/env python3
"""End-to-end tests of the freezeframe command: each test runs the built binary in a fresh
temporary store and checks what it did to the volumes, the shadow copies and the files.

usage: cli_test.py --binary PATH [unittest arguments, e.g. a test class name]
"""
import fcntl
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

BINARY = None
# Set by the Windows build's CTest entries (tests/cli/windows.cmake): the binary is
# freezeframe.exe under Wine, which runs no POSIX shell script and prints Windows paths.
WINDOWS_BINARY = os.environ.get("FREEZEFRAME_TEST_WINDOWS") == "1"
POSIX_SCRIPTS = "runs POSIX shell scripts through exec, which Windows cannot"
SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")
MIB = 1 << 20
EXIT_USAGE, EXIT_BUSY, EXIT_NOT_FOUND = 2, 3, 4
ISO_8601_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


class StoreTest(unittest.TestCase):
    def setUp(self):
        base = os.environ.get("FREEZEFRAME_TEST_TMPDIR")
        if base:
            os.makedirs(base, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="cli-", dir=base)
        self.store = os.path.join(self.dir, "store")
        self.rng = random.Random(self.id())

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_ff(self, *args, check=True, store=True):
        argv = [BINARY] + (["--store", self.store] if store else []) + list(args)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=240)
        if check and done.returncode != 0:
            self.fail("%s exited %d\nstdout:\n%s\nstderr:\n%s"
                      % (" ".join(args), done.returncode, done.stdout, done.stderr))
        return done

    def json_of(self, *args):
        return json.loads(self.run_ff(*args, "--json").stdout)

    def path(self, name):
        return os.path.join(self.dir, name)

    def random_file(self, name, size):
        data = self.rng.randbytes(size)
        with open(self.path(name), "wb") as f:
            f.write(data)
        return self.path(name), data

    def write(self, volume, offset, data):
        name = "w%d.bin" % self.rng.randrange(1 << 30)
        with open(self.path(name), "wb") as f:
            f.write(data)
        self.run_ff("volume", "write", volume, "--offset", str(offset), "--from", self.path(name))

    def read_volume(self, volume):
        out = self.path("read.img")
        self.run_ff("volume", "read", volume, "--to", out)
        with open(out, "rb") as f:
            return f.read()

    def export(self, shadow_id):
        out = self.path("export-%s.img" % shadow_id)
        self.run_ff("shadow", "export", shadow_id, "--to", out)
        with open(out, "rb") as f:
            return f.read()

    def shadows(self, *filters):
        return self.json_of("shadow", "list", *filters)

    def create_set(self, *names, context="persistent", provider=None):
        args = ["shadow", "create", "--for", ",".join(names), "--context", context]
        if provider:
            args += ["--provider", provider]
        return self.json_of(*args)


class VolumeAndShadowTest(StoreTest):
    def check_export_is_data_as_it_was(self, provider):
        size = 8 * MIB
        self.run_ff("volume", "create", "C:", "--size", "8M", "--provider", provider)
        image = bytearray(size)
        first = self.rng.randbytes(3 * MIB)
        self.write("C:", 512 * 7, first)
        image[512 * 7:512 * 7 + len(first)] = first
        made = self.create_set("C:")
        self.assertEqual(len(made["shadows"]), 1)
        as_it_was = bytes(image)
        second = self.rng.randbytes(2 * MIB + 1000)  # ends inside a sector
        self.write("C:", MIB, second)
        image[MIB:MIB + len(second)] = second
        self.assertEqual(self.export(made["shadows"][0]["id"]), as_it_was)
        self.assertEqual(self.read_volume("C:"), bytes(image))

    def test_export_of_a_cow_shadow_is_the_data_as_it_was(self):
        self.check_export_is_data_as_it_was("cow")

    def test_export_of_a_row_shadow_is_the_data_as_it_was(self):
        self.check_export_is_data_as_it_was("row")

    def test_list_in_json_names_every_shadow_with_its_set_and_context(self):
        self.run_ff("volume", "create", "C:", "--size", "4M")
        self.run_ff("volume", "create", "data disk", "--size", "4M", "--sector", "4096")
        first = self.create_set("C:", "data disk", context="persistent")
        second = self.create_set("c:", context="clientaccessible", provider="cow")
        listed = self.shadows()
        self.assertEqual(len(listed), 3)
        for shadow in listed:
            for key in ("id", "set_id", "volume", "provider", "context", "created"):
                self.assertIn(key, shadow)
            self.assertRegex(shadow["created"], ISO_8601_UTC)
            self.assertEqual(shadow["provider"], "cow")
        by_id = {s["id"]: s for s in listed}
        for shadow in first["shadows"]:
            self.assertEqual(by_id[shadow["id"]]["set_id"], first["set_id"])
            self.assertEqual(by_id[shadow["id"]]["context"], "approllback")
        self.assertEqual({by_id[s["id"]]["volume"] for s in first["shadows"]}, {"C:", "data disk"})
        only = second["shadows"][0]["id"]
        self.assertEqual(by_id[only]["context"], "clientaccessible")
        self.assertEqual([s["id"] for s in self.shadows("--set", second["set_id"])], [only])
        self.assertEqual(len(self.shadows("--for", "data disk")), 1)
        # --json is global: before the command too.
        before = json.loads(self.run_ff("--json", "shadow", "list").stdout)
        self.assertEqual(len(before), 3)

    def test_delete_oldest_then_by_set_then_all(self):
        self.run_ff("volume", "create", "C:", "--size", "4M")
        self.run_ff("volume", "create", "D:", "--size", "4M")
        sets = [self.create_set("C:", "D:") for _ in range(3)]
        self.run_ff("shadow", "delete", "--for", "C:", "--oldest", "--quiet")
        remaining = {s["id"] for s in self.shadows()}
        oldest_c = [s for s in sets[0]["shadows"] if s["volume"] == "C:"][0]["id"]
        self.assertNotIn(oldest_c, remaining)
        self.assertEqual(len(remaining), 5)
        self.run_ff("shadow", "delete", "--set", sets[1]["set_id"], "--quiet")
        self.assertEqual({s["set_id"] for s in self.shadows()},
                         {sets[0]["set_id"], sets[2]["set_id"]})
        self.assertEqual(len(self.shadows()), 3)
        gone = self.run_ff("shadow", "delete", "--set", sets[1]["set_id"], check=False)
        self.assertEqual(gone.returncode, EXIT_NOT_FOUND)
        self.run_ff("shadow", "delete", "--all", "--quiet")
        self.assertEqual(self.shadows(), [])

    def check_revert_restores_old_bytes(self, provider):
        self.run_ff("volume", "create", "C:", "--size", "4M", "--provider", provider)
        old = self.rng.randbytes(4 * MIB)
        self.write("C:", 0, old)
        made = self.create_set("C:")
        later = self.create_set("C:")
        self.write("C:", 512 * 100, self.rng.randbytes(MIB))
        self.run_ff("shadow", "revert", made["shadows"][0]["id"])
        self.assertEqual(self.read_volume("C:"), old)
        ids = {s["id"] for s in self.shadows()}
        self.assertIn(made["shadows"][0]["id"], ids)  # the shadow itself stays
        self.assertNotIn(later["shadows"][0]["id"], ids)  # newer ones are deleted

    def test_revert_restores_the_old_bytes_cow(self):
        self.check_revert_restores_old_bytes("cow")

    def test_revert_restores_the_old_bytes_row(self):
        self.check_revert_restores_old_bytes("row")

    def test_small_maxsize_deletes_the_oldest_shadow(self):
        self.run_ff("volume", "create", "C:", "--size", "8M")
        self.run_ff("shadowstorage", "add", "--for", "C:", "--on", "C:", "--maxsize", "1MB")
        storage = self.json_of("shadowstorage", "list", "--for", "C:")
        self.assertEqual(storage[0]["max_bytes"], MIB)
        oldest = self.create_set("C:")["shadows"][0]["id"]
        self.write("C:", 0, self.rng.randbytes(768 * 1024))
        newest = self.create_set("C:")["shadows"][0]["id"]
        self.write("C:", 4 * MIB, self.rng.randbytes(768 * 1024))
        self.assertEqual([s["id"] for s in self.shadows()], [newest])
        used = self.json_of("shadowstorage", "list")[0]["used_bytes"]
        self.assertLessEqual(used, MIB)
        # Shrinking below use deletes again; growing keeps.
        self.run_ff("shadowstorage", "resize", "--for", "C:", "--maxsize", "UNBOUNDED")
        self.assertEqual(len(self.shadows()), 1)
        self.run_ff("shadowstorage", "delete", "--for", "C:", "--quiet")
        self.assertEqual(self.json_of("shadowstorage", "list"), [])
        self.assertEqual(self.shadows(), [])

    def test_sizes_as_vssadmin_users_write_them(self):
        self.run_ff("volume", "create", "C:", "--size", "64MB")
        for text in ("20%", "UNBOUNDED", "2G", "900MB", "1gb"):
            self.run_ff("shadowstorage", "delete", "--for", "C:", "--quiet", check=False)
            self.run_ff("shadowstorage", "add", "--for", "C:", "--maxsize", text)
        self.assertEqual(self.json_of("volume", "list")[0]["size_bytes"], 64 * MIB)
        bad = self.run_ff("shadowstorage", "resize", "--for", "C:", "--maxsize", "12Q",
                          check=False)
        self.assertEqual(bad.returncode, EXIT_USAGE)
        self.assertIn("--maxsize", bad.stderr)
        self.assertIn("12Q", bad.stderr)

    def test_bad_usage_names_the_option_and_exits_2(self):
        done = self.run_ff("volume", "create", "C:", "--size", "4M", "--colour", "red",
                           check=False)
        self.assertEqual(done.returncode, EXIT_USAGE)
        self.assertIn("--colour", done.stderr)
        done = self.run_ff("volume", "create", "C:", "--size", "lots", check=False)
        self.assertEqual(done.returncode, EXIT_USAGE)
        self.assertIn("lots", done.stderr)
        # --sector and --provider, shared by volume create and volume attach.
        image = self.path("attach.img")
        with open(image, "wb") as f:
            f.truncate(MIB)
        for command in (["create", "E:", "--size", "4M"], ["attach", "E:", "--image", image]):
            for option, value, words in (("--sector", "1024", ["--sector", "1024"]),
                                         ("--provider", "zfs", ["zfs"])):
                done = self.run_ff("volume", *command, option, value, check=False)
                self.assertEqual(done.returncode, EXIT_USAGE, done.stderr)
                for word in words:
                    self.assertIn(word, done.stderr)
        self.assertEqual(self.json_of("volume", "list"), [])
        missing = self.run_ff("shadow", "export", "0c8a1b9e-6ad5-4b8a-9a43-2f7c0d3b9e11",
                              "--to", self.path("x"), check=False)
        self.assertEqual(missing.returncode, EXIT_NOT_FOUND)
        self.assertIn("0c8a1b9e-6ad5-4b8a-9a43-2f7c0d3b9e11", missing.stderr)
        self.assertIn("volume create", self.run_ff("volume", "--help").stdout)

    def test_a_busy_store_fails_at_once_with_the_busy_exit_code(self):
        self.run_ff("volume", "create", "C:", "--size", "4M")
        with open(os.path.join(self.store, "lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            started = time.monotonic()
            done = self.run_ff("volume", "list", check=False)
            self.assertLess(time.monotonic() - started, 10)
            self.assertEqual(done.returncode, EXIT_BUSY)
            self.assertIn("store busy", done.stderr)
        self.run_ff("volume", "list")

    def test_store_from_the_environment(self):
        env = dict(os.environ, FREEZEFRAME_STORE=self.store)
        subprocess.run([BINARY, "volume", "create", "E:", "--size", "1M"], env=env, check=True,
                       capture_output=True)
        self.assertEqual([v["name"] for v in self.json_of("volume", "list")], ["E:"])


class ScriptTest(StoreTest):
    def setUp(self):
        super().setUp()
        self.run_ff("volume", "create", "C:", "--size", "4M")
        self.run_ff("volume", "create", "D:", "--size", "2M")
        self.c_data = self.rng.randbytes(4 * MIB)
        self.write("C:", 0, self.c_data)

    def script(self, name, *params, check=True):
        return self.run_ff("script", os.path.join(SCRIPTS, name), *params, check=check)

    @unittest.skipIf(WINDOWS_BINARY, "compares a path with the POSIX form; Windows prints its own (Z:\\...)")
    def test_persistent_full_backup_with_aliases_expose_and_metadata(self):
        out = self.script("persistent_backup.dsh", self.dir)
        shadows = self.shadows()
        self.assertEqual(len(shadows), 2)
        self.assertEqual(len({s["set_id"] for s in shadows}), 1)
        self.assertEqual({s["context"] for s in shadows}, {"approllback"})
        system = [s for s in shadows if s["volume"] == "C:"][0]
        self.assertIn("Alias SystemVolume for shadow ID {%s}" % system["id"], out.stdout)
        # The writer took part through the protocol: waiting for backup-complete after
        # create, stable after end backup.
        self.assertIn("created through the protocol with 1 writer(s)", out.stdout)
        before_end, after_end = out.stdout.split("-> END BACKUP")
        self.assertIn("(waiting-for-backup-complete)", before_end)
        self.assertIn("(stable)", after_end)
        self.assertEqual(system["exposed"], self.path("system.img"))
        with open(self.path("system.img"), "rb") as f:
            self.assertEqual(f.read(), self.c_data)
        with open(self.path("backup.json")) as f:
            metadata = json.load(f)
        self.assertEqual(metadata["snapshot_set_id"], system["set_id"])
        self.assertEqual(metadata["backup_type"], "full")
        self.assertEqual(len(metadata["shadows"]), 2)
        # Deleting the exposed shadow copy unexposes it.
        self.run_ff("shadow", "delete", "--shadow", system["id"], "--quiet")
        self.assertFalse(os.path.exists(self.path("system.img")))

    @unittest.skipIf(WINDOWS_BINARY, POSIX_SCRIPTS)
    def test_volatile_shadows_live_while_the_script_runs_and_are_released_at_its_end(self):
        marker = self.path("seen.txt")
        copy_script = self.path("copy.sh")
        with open(copy_script, "w") as f:
            f.write("#!/bin/sh\necho \"$VSS_SHADOW_1 $cdrive $VSS_SHADOW_SET\" > %s\n" % marker)
        os.chmod(copy_script, 0o755)
        out = self.script("volatile_copy.dsh", copy_script)
        with open(marker) as f:
            first, alias, set_id = f.read().split()
        self.assertRegex(first, r"^\{[0-9a-f-]{36}\}$")
        self.assertEqual(first, alias)
        self.assertIn("Number of shadow copies listed: 1", out.stdout)
        self.assertEqual(self.shadows(), [])

    def test_delete_shadows_oldest_and_by_set_alias(self):
        self.script("delete_shadows.dsh")
        shadows = self.shadows()
        # Three sets: {C:}, {C:, D:}, {C:}. Oldest of C: goes, then the whole second set.
        self.assertEqual(len(shadows), 1)
        self.assertEqual(shadows[0]["volume"], "C:")
        self.assertEqual(shadows[0]["context"], "nasrollback")

    def test_crlf_mixed_case_and_rem_comments(self):
        out = self.script("crlf_mixed_case.dsh")
        shadows = self.shadows()
        self.assertEqual(len(shadows), 1)
        self.assertEqual(shadows[0]["volume"], "C:")
        self.assertIn("-> %Snap1% = {" + shadows[0]["id"] + "}", out.stdout)
        self.assertIn("Number of shadow copies listed: 1", out.stdout)

    def test_revert_through_a_script_parameter(self):
        made = self.create_set("C:")
        self.write("C:", 0, self.rng.randbytes(MIB))
        self.script("revert.dsh", "{%s}" % made["shadows"][0]["id"])
        self.assertEqual(self.read_volume("C:"), self.c_data)

    def test_restore_session_resyncs_each_added_shadow_onto_its_volume(self):
        d_data = self.rng.randbytes(2 * MIB)
        self.write("D:", 0, d_data)
        made = self.create_set("C:", "D:")
        ids = {s["volume"]: "{%s}" % s["id"] for s in made["shadows"]}
        self.write("C:", 0, self.rng.randbytes(MIB))
        self.write("D:", MIB, self.rng.randbytes(MIB))
        out = self.script("restore_resync.dsh", ids["C:"], ids["D:"])
        self.assertEqual(self.read_volume("C:"), self.c_data)
        self.assertEqual(self.read_volume("D:"), d_data)
        self.assertIn("The volume 'C:' was reverted to shadow copy %s" % ids["C:"], out.stdout)
        self.assertIn("The volume 'D:' was reverted to shadow copy %s" % ids["D:"], out.stdout)

    def test_restore_session_misuse_names_the_problem_and_changes_nothing(self):
        made = self.create_set("C:")
        first = "{%s}" % made["shadows"][0]["id"]
        second = "{%s}" % self.create_set("C:")["shadows"][0]["id"]
        changed = self.rng.randbytes(MIB)
        self.write("C:", 0, changed)
        cases = [
            # (script lines, failing line, exit code, words in the error)
            (["add shadow " + first], 1, 1, ["'add shadow' needs a restore"]),
            (["begin restore", "resync"], 2, 1, ["no shadow copy to resynchronise"]),
            (["begin restore", "add shadow " + first, "add shadow " + second], 3, 1,
             ["volume 'C:' already has shadow copy " + first]),
            (["begin restore", "add shadow " + first, "end restore"], 3, 1,
             ["1 added shadow copies are not resynchronised"]),
            (["begin restore", "add shadow " + first + " E:"], 2, EXIT_USAGE,
             ["onto its own volume"]),
            (["end restore"], 1, 1, ["no restore is open"]),
            (["begin backup", "begin restore"], 2, 1, ["a backup is open"]),
            (["begin restore", "begin backup"], 2, 1, ["a restore is open"]),
            (["begin restore", "add shadow {00000000-0000-0000-0000-000000000001}"], 2,
             EXIT_NOT_FOUND, ["00000000-0000-0000-0000-000000000001"]),
        ]
        for lines, line, code, words in cases:
            with self.subTest(script=lines):
                path = self.path("misuse.dsh")
                with open(path, "w") as f:
                    f.write("\n".join(lines) + "\n")
                done = self.run_ff("script", path, check=False)
                self.assertEqual(done.returncode, code, done.stderr)
                self.assertIn("line %d:" % line, done.stderr)
                for word in words:
                    self.assertIn(word, done.stderr)
        # No script got as far as a resync: the volume and both shadow copies are as they were.
        head = self.read_volume("C:")[:MIB]
        self.assertEqual(head, changed)
        self.assertEqual(len(self.shadows()), 2)

    def program(self, path, body):
        """Writes an executable shell script at `path` (directories made as needed)."""
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + body)
        os.chmod(path, 0o755)
        return path

    def script_in(self, cwd, name, *params, path=None):
        """Runs a script from `cwd`, with PATH set to `path` when given."""
        env = dict(os.environ)
        if path is not None:
            env["PATH"] = path
        return subprocess.run([BINARY, "--store", self.store, "script",
                               os.path.join(SCRIPTS, name)] + list(params),
                              cwd=cwd, env=env, capture_output=True, text=True, timeout=240)

    def test_writer_exclude_warns_about_absent_writers_and_takes_unquoted_names(self):
        out = self.script("writer_exclude.dsh").stdout
        absent = "WARNING: writer 'Microsoft Exchange Writer' is not present; " \
                 "'writer exclude' ignores it"
        # Quoted and unquoted, each line warns right after its echo and the script goes on.
        self.assertIn("-> writer exclude \"Microsoft Exchange Writer\"\n" + absent + "\n", out)
        self.assertIn("-> writer exclude Microsoft Exchange Writer\n" + absent + "\n", out)
        self.assertIn("-> writer exclude \"freezeframe volume writer:\\Z:\"\n"
                      "WARNING: component 'Z:' of writer 'freezeframe volume writer' is not "
                      "present", out)
        # The unquoted name of the writer that is present excluded it: no warning, and the
        # set was taken without writers.
        self.assertIn("-> writer exclude freezeframe volume writer\n-> set context", out)
        self.assertIn("created through the protocol with 0 writer(s)", out)
        shadows = self.shadows()
        self.assertEqual(len(shadows), 1)
        self.assertEqual(shadows[0]["volume"], "C:")
        self.assertEqual(self.export(shadows[0]["id"]), self.c_data)
        # A component that is present is not selectable: refused, naming the line.
        path = self.path("component.dsh")
        with open(path, "w") as f:
            f.write("writer exclude \"freezeframe volume writer:\\C:\"\n")
        done = self.run_ff("script", path, check=False)
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("line 1: 'writer exclude' of a component is not supported", done.stderr)

    @unittest.skipIf(WINDOWS_BINARY, POSIX_SCRIPTS)
    def test_exec_passes_backslashes_intact_and_prints_our_lines_first(self):
        echo_args = self.program(self.path("bin/echo-args"),
                                 "for arg in \"$@\"; do printf 'child: [%s]\\n' \"$arg\"; done\n")
        out = self.script("exec_arguments.dsh", echo_args).stdout
        lines = out.splitlines()
        children = [line for line in lines if line.startswith("child: ")]
        self.assertEqual(children, ["child: [C:\\backup\\dir]",
                                    "child: [two words\\with\\backslashes]",
                                    "child: [\\\\server\\share]"])
        echo = lines.index("-> exec %DISKSH_PARAM_1% C:\\backup\\dir "
                           "\"two words\\with\\backslashes\" \\\\server\\share")
        self.assertLess(echo, lines.index(children[0]))

    @unittest.skipIf(WINDOWS_BINARY, POSIX_SCRIPTS)
    def test_exec_finds_a_bare_name_in_the_current_directory_before_path(self):
        work = self.path("work")
        on_path = self.path("bin")
        self.program(os.path.join(work, "print-greeting"),
                     "echo \"$1 from the current directory\"\n")
        self.program(os.path.join(on_path, "print-greeting"), "echo \"$1 from PATH\"\n")
        search = on_path + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin")
        done = self.script_in(work, "exec_bare_name.dsh", path=search)
        self.assertEqual(done.returncode, 0, done.stderr)
        lines = done.stdout.splitlines()
        self.assertNotIn("hello from PATH", lines)
        child = lines.index("hello from the current directory")
        self.assertLess(lines.index("-> exec print-greeting %Greeting%"), child)
        self.assertLess(lines.index("-> %Greeting% = hello"), child)
        # Elsewhere the program on PATH runs; where there is none, the script stops naming it.
        elsewhere = self.script_in(self.dir, "exec_bare_name.dsh", path=search)
        self.assertEqual(elsewhere.returncode, 0, elsewhere.stderr)
        self.assertIn("hello from PATH\n", elsewhere.stdout)
        missing = self.script_in(self.dir, "exec_bare_name.dsh", path="/nonexistent")
        self.assertEqual(missing.returncode, EXIT_NOT_FOUND, missing.stderr)
        self.assertIn("line 3: exec: program 'print-greeting' is neither in the current "
                      "directory nor in a directory of PATH", missing.stderr)

    def test_resync_with_lun_options_onto_the_shadows_own_volume(self):
        shadow = "{%s}" % self.create_set("C:")["shadows"][0]["id"]
        self.write("C:", 0, self.rng.randbytes(MIB))
        out = self.script("resync_to.dsh", shadow, "c:\\").stdout
        self.assertEqual(self.read_volume("C:"), self.c_data)
        self.assertIn("The volume 'C:' was reverted to shadow copy %s" % shadow, out)

    def test_add_shadow_onto_another_volume_is_refused_naming_both(self):
        shadow = "{%s}" % self.create_set("C:")["shadows"][0]["id"]
        changed = self.rng.randbytes(MIB)
        self.write("C:", 0, changed)
        d_before = self.read_volume("D:")
        for destination in ["D:", "E:"]:
            with self.subTest(destination=destination):
                done = self.script("resync_to.dsh", shadow, destination, check=False)
                self.assertEqual(done.returncode, EXIT_USAGE, done.stderr)
                self.assertIn("line 4: '%s' is not the volume of shadow copy %s ('C:'); a shadow "
                              "copy is resynchronised only onto its own volume"
                              % (destination, shadow), done.stderr)
        self.assertEqual(self.read_volume("C:")[:MIB], changed)
        self.assertEqual(self.read_volume("D:"), d_before)
        self.assertEqual(len(self.shadows()), 1)

    def check_fails_at(self, name, line, code, words):
        done = self.script(name, check=False)
        self.assertEqual(done.returncode, code, done.stderr)
        self.assertIn("line %d:" % line, done.stderr)
        for word in words:
            self.assertIn(word, done.stderr)
        return done

    def test_unknown_command_stops_the_script_and_releases_volatile_shadows(self):
        self.check_fails_at("bad_unknown_command.dsh", 5, EXIT_USAGE, ["craete"])
        self.assertEqual(self.shadows(), [])

    def test_malformed_context_names_its_line(self):
        self.check_fails_at("bad_context.dsh", 2, EXIT_USAGE, ["sometimes"])
        self.assertEqual(self.shadows(), [])

    def test_unknown_alias_names_its_line_and_keeps_persistent_shadows(self):
        self.check_fails_at("bad_unknown_alias.dsh", 4, EXIT_NOT_FOUND, ["%two%"])
        self.assertEqual(len(self.shadows()), 1)

    def test_shell_reads_commands_from_stdin(self):
        done = subprocess.run([BINARY, "--store", self.store, "shell"], text=True,
                              capture_output=True, timeout=60,
                              input="set context persistent\nadd volume D:\ncreate\nbogus\n"
                                    "list shadows all\nexit\n")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("line 4: unknown command 'bogus'", done.stderr)
        self.assertEqual(len(self.shadows()), 1)


class KillTest(StoreTest):
    def test_sigkill_during_a_long_write_keeps_the_store_and_the_shadow(self):
        size = 32 * MIB
        self.run_ff("volume", "create", "C:", "--size", "32M")
        old = self.rng.randbytes(size)
        self.write("C:", 0, old)
        shadow = self.create_set("C:")["shadows"][0]["id"]
        new_path, new = self.random_file("new.bin", size)
        image = self.json_of("volume", "list")[0]["image"]
        changed = 0
        for attempt in range(8):
            process = subprocess.Popen(
                [BINARY, "--store", self.store, "volume", "write", "C:", "--offset", "0",
                 "--from", new_path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # Kill as soon as the first new bytes reach the image: the write is under way.
            deadline = time.monotonic() + 60
            while process.poll() is None and time.monotonic() < deadline:
                with open(image, "rb") as f:
                    if f.read(512) == new[:512]:
                        break
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait()
                now = self.read_volume("C:")
                changed = sum(now[at:at + 512] != old[at:at + 512] for at in range(0, size, 512))
                if changed < size // 512:
                    break
            # Finished before the kill: put the old data back and try again.
            self.run_ff("shadow", "revert", shadow)
        else:
            self.skipTest("the write always finished before it could be killed")
        self.assertEqual(process.returncode, -signal.SIGKILL)
        # The store opens, the shadow copy is bit-exact, every sector is old or new.
        self.assertEqual([s["id"] for s in self.shadows()], [shadow])
        self.assertEqual(self.export(shadow), old)
        now = self.read_volume("C:")
        changed = 0
        for at in range(0, size, 512):
            sector = now[at:at + 512]
            if sector != old[at:at + 512]:
                self.assertEqual(sector, new[at:at + 512], "sector at %d is torn" % at)
                changed += 1
        # And the volume is usable again.
        self.write("C:", 0, new)
        self.assertEqual(self.read_volume("C:"), new)
        self.assertEqual(self.export(shadow), old)


def main(usage):
    """Runs the test classes of the script that was started (`__main__`) on the binary its
    command line names: --binary PATH [unittest arguments]."""
    global BINARY
    args = sys.argv[1:]
    if len(args) < 2 or args[0] != "--binary":
        sys.exit(usage)
    BINARY = os.path.abspath(args[1])
    unittest.main(module="__main__", argv=[sys.argv[0]] + args[2:], verbosity=2)


if __name__ == "__main__":
    main(__doc__)
