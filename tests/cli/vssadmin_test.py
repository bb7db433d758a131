#!/usr/bin/env python3
"""The command line, end to end: vssadmin's published command lines run through
`freezeframe vssadmin` and checked against the store's state afterwards; global options before
every command; "did you mean" for a mistyped command; vssadmin switches given to the native
syntax; case-insensitive words and switches; bad switches named with the usage exit code.

The vssadmin command lines are those of Microsoft's vssadmin documentation (learn.microsoft.com,
windows-commands/vssadmin-*): the syntax lines and the examples, with the store's volume names
C: and D: standing for the drives.

usage: vssadmin_test.py --binary PATH [unittest arguments, e.g. a test class name]
"""
import fcntl
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_test  # noqa: E402
from cli_test import EXIT_BUSY, EXIT_NOT_FOUND, EXIT_USAGE, MIB, StoreTest  # noqa: E402

SHADOW_ID = re.compile(r"Shadow Copy ID: \{([0-9a-f-]{36})\}")


class VssadminTest(StoreTest):
    def setUp(self):
        super().setUp()
        self.run_ff("volume", "create", "C:", "--size", "8M")
        self.run_ff("volume", "create", "D:", "--size", "8M")

    def vssadmin(self, *words, check=True):
        return self.run_ff("vssadmin", *words, check=check)

    def volume_uuid(self, name):
        return [v for v in self.json_of("volume", "list") if v["name"] == name][0]["uuid"]

    def storage(self, name):
        found = [s for s in self.json_of("shadowstorage", "list") if s["for"] == name]
        return found[0] if found else None

    def created_id(self, done):
        self.assertIn("Successfully created shadow copy for 'C:'", done.stdout)
        ids = SHADOW_ID.findall(done.stdout)
        self.assertEqual(len(ids), 1, done.stdout)
        return ids[0]

    def test_create_list_and_delete_shadows_as_documented(self):
        # vssadmin create shadow /for=<ForVolumeSpec> [/autoretry=<MaxRetryMinutes>]
        first = self.created_id(self.vssadmin("create", "shadow", "/for=c:"))
        second = self.created_id(self.vssadmin("create", "shadow", "/for=C:\\", "/autoretry=2"))
        listed = self.shadows()
        self.assertEqual(sorted(s["id"] for s in listed), sorted([first, second]))
        for shadow in listed:
            self.assertEqual(shadow["volume"], "C:")
            self.assertEqual(shadow["context"], "clientaccessible")  # as vssadmin makes them
        # vssadmin list shadows [/for=<ForVolumeSpec>] [/shadow=<ShadowID>]
        out = self.vssadmin("list", "shadows", "/for=c:").stdout
        uuid = self.volume_uuid("C:")
        for shadow in listed:
            self.assertIn("Contents of shadow copy set ID: {%s}" % shadow["set_id"], out)
            self.assertIn("Shadow Copy ID: {%s}" % shadow["id"], out)
        self.assertEqual(out.count("Original Volume: (C:)\\\\?\\Volume{%s}\\" % uuid), 2)
        self.assertEqual(out.count("Shadow Copy Volume: "), 2)
        # The ID as the documentation writes it (no braces), and with braces.
        for spelling in (second, "{%s}" % second):
            only = self.vssadmin("list", "shadows", "/shadow=" + spelling).stdout
            self.assertEqual(SHADOW_ID.findall(only), [second])
        self.assertEqual([s["id"] for s in json.loads(
            self.vssadmin("list", "shadows", "/for=C:", "--json").stdout)].count(first), 1)
        # vssadmin delete shadows /for=c: /oldest (the documentation's example)
        self.vssadmin("delete", "shadows", "/for=c:", "/oldest")
        self.assertEqual([s["id"] for s in self.shadows()], [second])
        on_d = self.json_of("shadow", "create", "--for", "D:")["shadows"][0]["id"]
        # vssadmin delete shadows /for=<ForVolumeSpec> /shadow=<ShadowID> /quiet
        self.vssadmin("delete", "shadows", "/for=C:", "/shadow=" + second, "/quiet")
        self.assertEqual([s["id"] for s in self.shadows()], [on_d])
        gone = self.vssadmin("delete", "shadows", "/for=C:", "/shadow=" + second, check=False)
        self.assertEqual(gone.returncode, EXIT_NOT_FOUND)
        # /all: every shadow copy of the volume, then of every volume.
        self.created_id(self.vssadmin("create", "shadow", "/for=C:"))
        self.vssadmin("delete", "shadows", "/for=C:", "/all", "/quiet")
        self.assertEqual([s["volume"] for s in self.shadows()], ["D:"])
        self.vssadmin("delete", "shadows", "/all", "/quiet")
        self.assertEqual(self.shadows(), [])
        self.assertIn("No items found", self.vssadmin("list", "shadows").stdout)

    def test_shadowstorage_add_resize_list_and_delete_as_documented(self):
        # vssadmin add shadowstorage /for=c: /on=d: /maxsize=900mb (the documentation's example)
        self.vssadmin("add", "shadowstorage", "/for=c:", "/on=d:", "/maxsize=900mb")
        storage = self.storage("C:")
        self.assertEqual((storage["on"], storage["maxsize"]), ("D:", "900 MiB"))
        # The maximum in bytes is what the diff image can hold of the 900 MB, less its metadata.
        self.assertGreater(storage["max_bytes"], 890 * MIB)
        self.assertLessEqual(storage["max_bytes"], 900 * MIB)
        # vssadmin resize shadowstorage /For=C: /On=D: /MaxSize=UNBOUNDED, /MaxSize=20%, and
        # without /maxsize ("no limit"); /On= alone resizes every association on D:.
        for switches, maxsize in ((["/For=C:", "/On=D:", "/MaxSize=UNBOUNDED"], "UNBOUNDED"),
                                  (["/For=C:", "/On=D:", "/MaxSize=20%"], "20%"),
                                  (["/For=C:", "/On=D:"], "UNBOUNDED"),
                                  (["/On=D:", "/MaxSize=300MB"], "300 MiB")):
            self.vssadmin("resize", "shadowstorage", *switches)
            self.assertEqual(self.storage("C:")["maxsize"], maxsize, switches)
        # vssadmin list shadowstorage [/for=<ForVolumeSpec> | /on=<OnVolumeSpec>]
        for switch in ("/for=C:", "/on=D:"):
            out = self.vssadmin("list", "shadowstorage", switch).stdout
            self.assertIn("For volume: (C:)\\\\?\\Volume{%s}\\" % self.volume_uuid("C:"), out)
            self.assertIn("Shadow Copy Storage volume: (D:)\\\\?\\Volume{%s}\\"
                          % self.volume_uuid("D:"), out)
            for line in ("Used Shadow Copy Storage space: ",
                         "Allocated Shadow Copy Storage space: ",
                         "Maximum Shadow Copy Storage space: "):
                self.assertIn(line, out)
        self.assertIn("No items found", self.vssadmin("list", "shadowstorage", "/on=C:").stdout)
        # Shrinking below what the shadow copy uses deletes it: the limit is in force.
        self.created_id(self.vssadmin("create", "shadow", "/for=C:"))
        self.write("C:", 0, self.rng.randbytes(3 * MIB))
        self.assertEqual(len(self.shadows()), 1)
        self.vssadmin("resize", "shadowstorage", "/for=C:", "/on=D:", "/maxsize=1MB")
        self.assertEqual(self.storage("C:")["max_bytes"], MIB)
        self.assertEqual(self.shadows(), [])
        # freezeframe's minimum is 1 MB, as the documentation of resize says.
        small = self.vssadmin("resize", "shadowstorage", "/for=C:", "/on=D:", "/maxsize=512KB",
                              check=False)
        self.assertEqual(small.returncode, EXIT_USAGE)
        self.assertIn("minimum", small.stderr)
        self.assertEqual(self.storage("C:")["max_bytes"], MIB)
        # vssadmin delete shadowstorage /for=<ForVolumeSpec> [/on=<OnVolumeSpec>] [/quiet]
        self.created_id(self.vssadmin("create", "shadow", "/for=C:"))
        self.vssadmin("delete", "shadowstorage", "/for=C:", "/on=D:", "/quiet")
        self.assertIsNone(self.storage("C:"))
        self.assertEqual(self.shadows(), [])

    def test_revert_shadow_changes_the_volume_bytes(self):
        old = self.rng.randbytes(8 * MIB)
        self.write("C:", 0, old)
        shadow = self.created_id(self.vssadmin("create", "shadow", "/for=C:"))
        self.write("C:", MIB, self.rng.randbytes(2 * MIB))
        self.assertNotEqual(self.read_volume("C:"), old)
        # vssadmin revert shadow /shadow=<ShadowID> [/forcedismount] [/quiet]
        self.vssadmin("revert", "shadow", "/shadow={%s}" % shadow, "/ForceDismount", "/quiet")
        self.assertEqual(self.read_volume("C:"), old)
        missing = self.vssadmin("revert", "shadow",
                                "/shadow=00000000-0000-0000-0000-000000000001", check=False)
        self.assertEqual(missing.returncode, EXIT_NOT_FOUND)

    def test_list_writers_providers_and_volumes(self):
        writers = self.vssadmin("list", "writers").stdout
        self.assertIn("Writer name: 'freezeframe volume writer'", writers)
        providers = self.vssadmin("list", "providers").stdout
        self.assertIn("freezeframe copy-on-write provider", providers)
        self.assertIn("freezeframe redirect-on-write provider", providers)
        self.assertEqual(len(json.loads(self.vssadmin("list", "providers", "--json").stdout)), 2)
        volumes = json.loads(self.run_ff("--json", "vssadmin", "list", "volumes").stdout)
        self.assertEqual([v["name"] for v in volumes], ["C:", "D:"])

    def test_autoretry_waits_for_a_busy_store_and_without_it_the_store_busy_code(self):
        fd = os.open(self.store, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            busy = self.vssadmin("create", "shadow", "/for=C:", check=False)
            self.assertEqual(busy.returncode, EXIT_BUSY)
            self.assertIn("pid %d" % os.getpid(), busy.stderr)
            waiting = subprocess.Popen(
                [cli_test.BINARY, "--store", self.store, "vssadmin", "create", "shadow",
                 "/For=C:", "/AutoRetry=1"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            line = waiting.stderr.readline()  # printed once it finds the lock held
            self.assertIn("waiting for the store lock", line)
            self.assertIsNone(waiting.poll())
        finally:
            os.close(fd)
        out, err = waiting.communicate(timeout=60)
        self.assertEqual(waiting.returncode, 0, err)
        self.assertEqual(SHADOW_ID.findall(out), [s["id"] for s in self.shadows()])

    def test_a_volume_guid_path_names_the_store_volume(self):
        path = "\\\\?\\Volume{%s}\\" % self.volume_uuid("D:")
        self.vssadmin("create", "shadow", "/for=" + path)
        self.assertEqual([s["volume"] for s in self.shadows()], ["D:"])
        self.vssadmin("add", "shadowstorage", "/for=C:", "/on=" + path)
        self.assertEqual(self.storage("C:")["on"], "D:")


class CommandLineTest(StoreTest):
    def assert_usage_error(self, done, *words):
        self.assertEqual(done.returncode, EXIT_USAGE, done.stderr)
        for word in words:
            self.assertIn(word, done.stderr)
        # One message, not the whole usage text.
        self.assertNotIn("commands:", done.stderr)
        self.assertLessEqual(len(done.stderr.splitlines()), 2, done.stderr)

    def test_global_options_work_before_every_command(self):
        globals_ = ["--store", self.store, "--wait", "1", "--json"]
        script = self.path("list.dsh")
        with open(script, "w") as f:
            f.write("list shadows all\n")
        image = self.path("attached.img")
        with open(image, "wb") as f:
            f.truncate(MIB)
        data, _ = self.random_file("data.bin", 4096)
        lines = [["version"],
                 ["volume", "create", "C:", "--size", "4M"],
                 ["volume", "attach", "E:", "--image", image],
                 ["volume", "list"],
                 ["volume", "write", "C:", "--from", data],
                 ["volume", "read", "C:", "--to", self.path("read.bin")],
                 ["shadowstorage", "add", "--for", "C:"],
                 ["shadowstorage", "resize", "--for", "C:", "--maxsize", "50%"],
                 ["shadowstorage", "list"],
                 ["shadow", "create", "--for", "C:"],
                 ["shadow", "list"],
                 ["writers", "list"],
                 ["providers", "list"],
                 ["script", script],
                 ["vssadmin", "list", "shadows"],
                 ["shadow", "delete", "--all", "--quiet"],
                 ["shadowstorage", "delete", "--for", "C:", "--quiet"],
                 ["volume", "consolidate", "C:"],  # fails: no shadow storage, but it ran
                 ["volume", "remove", "E:"],
                 ["demo", "--seed", "7"]]
        for line in lines:
            with self.subTest(line=line):
                done = self.run_ff(*(globals_ + line), store=False, check=False)
                self.assertNotIn("unknown", done.stderr)
                if line[1:2] == ["consolidate"]:
                    self.assertEqual(done.returncode, 1, done.stderr)
                    self.assertIn("no shadow storage", done.stderr)
                    continue
                self.assertEqual(done.returncode, 0, done.stderr)
                if line[0] not in ("version", "demo", "script"):
                    json.loads(done.stdout)  # --json reached the command
        self.assertIn("freezeframe ", self.run_ff("version").stdout)
        # Given twice, the last --store counts.
        twice = self.run_ff("--store", self.path("elsewhere"), "--store", self.store, "--json",
                            "volume", "list", store=False)
        self.assertEqual([v["name"] for v in json.loads(twice.stdout)], ["C:"])
        # And after the command, where --json has always worked.
        self.assertEqual([v["name"] for v in json.loads(
            self.run_ff("volume", "list", "--json", "--wait=1").stdout)], ["C:"])

    def test_a_mistyped_command_gets_did_you_mean(self):
        for words, typo, suggestion in (
                (["volum", "list"], "volum", "'volume'"),
                (["volume", "lsit"], "lsit", "'volume list'"),
                (["shadwo", "create"], "shadwo", "'shadow'"),
                (["shadowstorage", "rezise"], "rezise", "'shadowstorage resize'"),
                (["vssadmn", "list", "shadows"], "vssadmn", "'vssadmin'"),
                (["verison"], "verison", "'version'"),
                (["vssadmin", "lsit", "shadows"], "lsit", "'list'"),
                (["vssadmin", "list", "shadow"], "shadow", "'list shadows'"),
                (["volume", "create", "C:", "--szie", "4M"], "--szie", "'--size'")):
            with self.subTest(words=words):
                self.assert_usage_error(self.run_ff(*words, check=False), "did you mean",
                                        suggestion, typo)
        self.assertEqual(self.json_of("volume", "list"), [])
        # A word nothing is close to is named, with where to look.
        self.assert_usage_error(self.run_ff("frobnicate", check=False), "'frobnicate'",
                                "--help")

    def test_a_vssadmin_switch_given_to_the_native_syntax_suggests_the_option(self):
        self.run_ff("volume", "create", "C:", "--size", "4M")
        for words, native in ((["shadow", "create", "/for=C:"], "--for C:"),
                              (["shadow", "list", "/For=C:"], "--for C:"),
                              (["shadowstorage", "add", "/for=C:", "/maxsize=20%"], "--for C:"),
                              (["shadow", "delete", "/for=C:", "/Quiet"], "--for C:"),
                              (["volume", "remove", "C:", "/quiet"], "--quiet")):
            with self.subTest(words=words):
                self.assert_usage_error(self.run_ff(*words, check=False), native, "vssadmin")
        self.assertEqual(self.shadows(), [])
        self.assertEqual(self.json_of("shadowstorage", "list"), [])
        self.assertEqual(len(self.json_of("volume", "list")), 1)

    def test_native_option_mistakes_are_named_with_the_usage_exit_code(self):
        self.run_ff("volume", "create", "C:", "--size", "4M")
        for words, expected in (
                (["volume", "remove", "C:", "--quiet=yes"], ["--quiet", "takes no value"]),
                (["shadow", "list", "--for"], ["--for", "needs a value"]),
                (["shadow", "list", "--for", "C:", "--for", "C:"], ["--for", "given twice"]),
                (["volume", "list", "--JSON"], ["--JSON", "did you mean '--json'"]),
                (["shadow", "create"], ["--for", "required"]),
                (["volume", "create", "D:", "--size", "4M", "extra"], ["extra"])):
            with self.subTest(words=words):
                self.assert_usage_error(self.run_ff(*words, check=False), *expected)
        self.assertEqual([v["name"] for v in self.json_of("volume", "list")], ["C:"])
        self.assertEqual(self.shadows(), [])

    def test_words_and_switches_are_case_insensitive(self):
        self.run_ff("VOLUME", "Create", "C:", "--size", "4M")
        self.run_ff("Vssadmin", "ADD", "ShadowStorage", "/FOR=c:", "/On=C:", "/MAXSIZE=unbounded")
        self.assertEqual(self.json_of("shadowstorage", "list")[0]["maxsize"], "UNBOUNDED")
        self.run_ff("vssadmin", "CREATE", "SHADOW", "/For=C:")
        self.run_ff("vssadmin", "Create", "Shadow", "/fOR=c:", "/AUTORETRY=1")
        self.assertEqual(len(self.shadows()), 2)
        self.run_ff("VSSADMIN", "Resize", "SHADOWSTORAGE", "/for=C:", "/maxSize=50%")
        self.assertEqual(self.json_of("shadowstorage", "list")[0]["maxsize"], "50%")
        self.run_ff("vssadmin", "DELETE", "Shadows", "/FOR=C:", "/OLDEST", "/QUIET")
        self.assertEqual(len(self.shadows()), 1)
        self.assertIn("Contents of shadow copy set ID",
                      self.run_ff("VssAdmin", "LIST", "Shadows").stdout)
        self.assertEqual(len(json.loads(self.run_ff("Shadow", "LIST", "--json").stdout)), 1)

    def test_a_bad_switch_is_named_with_the_usage_exit_code(self):
        self.run_ff("volume", "create", "C:", "--size", "4M")
        cases = [(["create", "shadow", "/for=C:", "/bogus=1"], ["/bogus", "/For"]),
                 (["create", "shadow", "/For=C:", "/Fro=C:"], ["/Fro", "did you mean '/For'"]),
                 (["create", "shadow", "/for"], ["/For", "needs a value"]),
                 (["create", "shadow"], ["/For=ForVolumeSpec"]),
                 (["create", "shadow", "/for=C:", "/for=C:"], ["/For", "twice"]),
                 (["delete", "shadows", "/for=C:", "/quiet=yes"], ["/Quiet", "no value"]),
                 (["create", "shadow", "C:"], ["'C:'", "/Name=value"]),
                 (["create", "shadow", "/for=C:", "/autoretry=soon"], ["/AutoRetry", "soon"]),
                 (["add", "shadowstorage", "/for=C:", "/on=C:", "/maxsize=12Q"], ["12Q"]),
                 (["list", "writers", "/for=C:"], ["/for", "no switches"]),
                 (["revert", "shadow", "/quiet"], ["/Shadow=ShadowId"]),
                 (["delete"], ["delete shadows", "delete shadowstorage"]),
                 ([], ["VERB NOUN"])]
        for words, expected in cases:
            with self.subTest(words=words):
                self.assert_usage_error(self.run_ff("vssadmin", *words, check=False), *expected)
        self.assertEqual(self.shadows(), [])
        self.assertEqual(self.json_of("shadowstorage", "list"), [])

    def test_usage_text_is_generated_for_every_command(self):
        usage = self.run_ff("--help").stdout
        for line in ("volume create NAME --size SIZE", "shadow delete", "vssadmin VERB NOUN",
                     "shadowstorage resize [--for NAME] [--on NAME] --maxsize", "exit codes"):
            self.assertIn(line, usage)
        one = self.run_ff("help", "volume", "create").stdout
        self.assertIn("usage: freezeframe [--store DIR] [--wait SECONDS] [--json] volume create "
                      "NAME --size SIZE", one)
        self.assertEqual(one, self.run_ff("volume", "create", "--help").stdout)
        group = self.run_ff("shadowstorage", "--help").stdout
        self.assertIn("shadowstorage add", group)
        self.assertNotIn("volume create", group)
        vssadmin = self.run_ff("vssadmin", "--help").stdout
        self.assertIn("vssadmin resize shadowstorage [/For=ForVolumeSpec] [/On=OnVolumeSpec] "
                      "[/MaxSize=MaxSizeSpec]", vssadmin)
        self.assertEqual(self.run_ff("vssadmin", "/?").returncode, 0)
        self.assertIn("vssadmin create shadow /For=ForVolumeSpec",
                      self.run_ff("vssadmin", "/?").stdout)
        # No command at all: the usage text, as a usage error.
        bare = self.run_ff(check=False)
        self.assertEqual(bare.returncode, EXIT_USAGE)
        self.assertIn("commands:", bare.stderr)


if __name__ == "__main__":
    cli_test.main(__doc__)
