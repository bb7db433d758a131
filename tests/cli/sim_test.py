"""`freezeframe sim`: seeded worlds replay exactly, a planted defect is found with a replay
command that reproduces it, --shrink gives a shorter run that still fails, bad options are
refused."""
import json
import re
import os
import shlex
import subprocess
import sys
import tempfile
import unittest

BINARY = None


def run(args, env=None):
    full_env = dict(os.environ)
    full_env.pop("FREEZEFRAME_PLANT", None)
    full_env.update(env or {})
    return subprocess.run([BINARY] + args, capture_output=True, text=True, env=full_env,
                          timeout=600)


def plants_compiled():
    probe = run(["sim", "--seed", "1", "--steps", "1", "--plant", "journal-skip-last"])
    return "unsupported" not in probe.stderr


class SimTest(unittest.TestCase):
    def setUp(self):
        self.scratch = tempfile.mkdtemp(dir=os.environ.get("FREEZEFRAME_TEST_TMPDIR"))

    def sim(self, *args, env=None):
        return run(["sim", "--scratch", self.scratch] + list(args), env=env)

    def test_same_seed_gives_the_same_report(self):
        first = self.sim("--seed", "7", "--steps", "300", "--json")
        second = self.sim("--seed", "7", "--steps", "300", "--json")
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assertEqual(first.stdout, second.stdout)
        other = self.sim("--seed", "8", "--steps", "300", "--json")
        self.assertNotEqual(json.loads(first.stdout)["counts"], json.loads(other.stdout)["counts"])
        counts = json.loads(first.stdout)["counts"]
        self.assertEqual(counts["seeds"], 1)
        self.assertEqual(counts["steps"], 300)
        self.assertGreater(counts["crashes"], 0)
        self.assertGreater(counts["checks"], 0)

    def test_a_planted_defect_is_found_and_its_replay_reproduces_it(self):
        # Test builds compile the planted defects (CMakeLists.txt refuses them otherwise).
        self.assertTrue(plants_compiled(), "configure with -DFREEZEFRAME_PLANTS=ON")
        found = self.sim("--seeds", "1-5", "--jobs", "2", "--plant", "cow-early-overwrite")
        self.assertEqual(found.returncode, 6, found.stdout + found.stderr)
        replays = [line[len("replay: "):] for line in found.stdout.splitlines()
                   if line.startswith("replay: ")]
        self.assertTrue(replays, found.stdout)
        words = shlex.split(replays[0])
        env = {}
        while "=" in words[0]:
            name, value = words.pop(0).split("=", 1)
            env[name] = value
        self.assertEqual(env.get("FREEZEFRAME_PLANT"), "cow-early-overwrite")
        self.assertEqual(words[:2], ["freezeframe", "sim"])
        again = run(words[1:], env=env)
        self.assertEqual(again.returncode, 6, again.stdout + again.stderr)
        first_finding = [line for line in found.stdout.splitlines()
                         if re.match(r"sim: seed \d+, step \d+, ", line)]
        self.assertIn(first_finding[0], again.stdout)
        # Without the plant the same seeds pass.
        clean = self.sim("--seeds", "1-5", "--jobs", "2")
        self.assertEqual(clean.returncode, 0, clean.stdout + clean.stderr)
        self.assertIn("every invariant held", clean.stdout)

    def test_shrink_gives_a_shorter_run_that_still_fails(self):
        # Test builds compile the planted defects (CMakeLists.txt refuses them otherwise).
        self.assertTrue(plants_compiled(), "configure with -DFREEZEFRAME_PLANTS=ON")
        result = self.sim("--seed", "3", "--steps", "600", "--shrink", "--json",
                          env={"FREEZEFRAME_PLANT": "journal-skip-last"})
        self.assertEqual(result.returncode, 6, result.stdout + result.stderr)
        document = json.loads(result.stdout)
        shrunk = document["shrunk"]
        original = document["findings"][0]
        self.assertLessEqual(shrunk["step"], original["step"])
        words = shlex.split(shrunk["replay"])
        env = dict(word.split("=", 1) for word in words if "=" in word and word[0].isupper())
        args = [word for word in words if not ("=" in word and word[0].isupper())]
        steps = int(args[args.index("--steps") + 1])
        self.assertLessEqual(steps, shrunk["step"] + 1)
        self.assertLess(steps, 600)
        again = run(args[1:] + ["--json"], env=env)
        self.assertEqual(again.returncode, 6, again.stdout + again.stderr)
        self.assertEqual(json.loads(again.stdout)["findings"][0]["detail"], shrunk["detail"])

    def test_a_choice_tape_replays_and_changes_the_run(self):
        tape = "".join("%02x" % ((i * 37 + 11) % 256) for i in range(600))
        first = self.sim("--seed", "4", "--steps", "120", "--json", "--choices", tape)
        again = self.sim("--seed", "4", "--steps", "120", "--json", "--choices", tape)
        plain = self.sim("--seed", "4", "--steps", "120", "--json")
        self.assertEqual(first.returncode, 0, first.stdout + first.stderr)
        self.assertEqual(first.stdout, again.stdout)
        self.assertNotEqual(json.loads(first.stdout)["counts"], json.loads(plain.stdout)["counts"])
        for bad in ("abc", "zz", "0x12"):
            result = self.sim("--seed", "4", "--choices", bad)
            self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
            self.assertIn("--choices takes bytes in hex", result.stderr)
        ranged = self.sim("--seeds", "1-3", "--choices", "00")
        self.assertNotIn(ranged.returncode, (0, 6), ranged.stdout + ranged.stderr)
        self.assertIn("--choices replays one world", ranged.stderr)

    def test_bad_options_are_refused(self):
        for args in (["--steps", "0"], ["--seeds", "5-2"], ["--volumes", "9"],
                     ["--long", "--seed", "3"], ["--plant", "no-such-plant"]):
            result = self.sim(*args)
            self.assertNotEqual(result.returncode, 0, args)
            self.assertNotEqual(result.returncode, 6, args)
            self.assertTrue(result.stderr.strip(), args)
        unknown = self.sim("--plant", "no-such-plant")
        self.assertIn("known plants", unknown.stderr)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if "--binary" in arguments:
        at = arguments.index("--binary")
        BINARY = arguments[at + 1]
        del arguments[at:at + 2]
    unittest.main(argv=[sys.argv[0]] + arguments)
