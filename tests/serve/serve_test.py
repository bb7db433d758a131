#!/usr/bin/env python3
"""End-to-end tests of `freezeframe serve`: a real daemon started by the test, real ext4 file
systems on its FUSE files through loop devices, snapshots taken mid-workload between
`fsfreeze -f` and `fsfreeze -u`, the daemon killed with SIGKILL, and bad control-socket
clients.

Every test removes what it made (unmounts, loop devices, FUSE mounts, the daemon), on failure
too: each step registers its undo before it runs on, and the undo list runs in tearDown and
again at exit. Tests that need root, /dev/fuse and the file-system tools are skipped, saying
why, where those are missing.

usage: serve_test.py --binary PATH [unittest arguments, e.g. a test class name]
"""
import argparse
import atexit
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

BINARY = None
MIB = 1 << 20
# Bounded waits for things the test started (a socket, a mount), never for correctness.
READY_SECONDS = 60
TOOLS = ["losetup", "mkfs.ext4", "mount", "umount", "fsfreeze", "e2fsck", "fusermount3", "sync"]

# Undo steps of every test still to run, newest last; run at exit if a test could not.
UNDO = []


def run_undo():
    while UNDO:
        step = UNDO.pop()
        try:
            step()
        except Exception as error:  # keep undoing the rest
            print("cleanup step failed: %s" % error, file=sys.stderr)


atexit.register(run_undo)


def quiet(*argv):
    subprocess.run(list(argv), capture_output=True, timeout=120)


def root_skip_reason():
    if sys.platform != "linux":
        return "serve is Linux only"
    if os.geteuid() != 0:
        return "needs root (loop devices and mounts)"
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse in this environment"
    for tool in TOOLS:
        if shutil.which(tool) is None:
            return "%s is not installed" % tool
    if not os.path.exists("/dev/loop-control"):
        return "no loop devices (/dev/loop-control) in this environment"
    return None


class Daemon:
    """A `freezeframe serve` process over `store`, FUSE files in `files` (if given)."""

    def __init__(self, test, store, files=None):
        self.test = test
        self.store = store
        self.files = files
        self.log_path = os.path.join(os.path.dirname(store), "serve-%d.log" % time.monotonic_ns())
        argv = [BINARY, "--store", store, "serve"]
        if files:
            argv += ["--fuse", files]
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        UNDO.append(self.kill)
        deadline = time.monotonic() + READY_SECONDS
        socket_path = os.path.join(store, "serve.sock")
        while not (os.path.exists(socket_path) and (not files or os.path.ismount(files))):
            if self.process.poll() is not None:
                test.fail("serve exited %d:\n%s" % (self.process.returncode, self.output()))
            if time.monotonic() > deadline:
                test.fail("serve did not start within %d s:\n%s" % (READY_SECONDS, self.output()))
            time.sleep(0.05)

    def output(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM):
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=120)
        if self.files:
            # A daemon that died leaves its mount behind, disconnected.
            quiet("fusermount3", "-u", "-z", self.files)
        return code

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=60)
        if self.files and os.path.ismount(self.files):
            quiet("fusermount3", "-u", "-z", self.files)
        self.log.close()


class Writer(threading.Thread):
    """Writes files of random content into `root` until stopped, each into a temporary name
    and renamed into place, recording every file's SHA-256. `lock` is held across each rename
    and its record, so that whoever holds it sees `files` exactly as the file system has
    them."""

    def __init__(self, root, seed, fsync_all=False):
        super().__init__(daemon=True)
        self.fsync_all = fsync_all
        self.root = root
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.files = {}
        self.history = {}  # name -> every content it had
        self.stopping = threading.Event()
        self.error = None
        self.count = 0

    def run(self):
        try:
            while not self.stopping.is_set():
                # New files and overwrites of old ones, so snapshots see both.
                if self.files and self.rng.random() < 0.4:
                    name = self.rng.choice(sorted(self.files))
                else:
                    name = "file-%05d" % self.count
                self.count += 1
                data = self.rng.randbytes(self.rng.choice([4096, 12288, 65536, 200000]))
                temporary = os.path.join(self.root, "tmp-" + name)
                with open(temporary, "wb") as f:
                    f.write(data)
                    if self.fsync_all or self.rng.random() < 0.3:
                        os.fsync(f.fileno())
                digest = hashlib.sha256(data).hexdigest()
                with self.lock:
                    os.rename(temporary, os.path.join(self.root, name))
                    self.files[name] = digest
                    self.history.setdefault(name, set()).add(digest)
        except Exception as error:  # reported by the test
            self.error = error

    def finish(self, test):
        self.stopping.set()
        self.join(timeout=120)
        test.assertFalse(self.is_alive(), "the writer did not stop")
        test.assertIsNone(self.error, "the writer failed: %s" % self.error)

    def wait_for(self, count):
        deadline = time.monotonic() + READY_SECONDS
        while self.count < count and self.error is None and time.monotonic() < deadline:
            time.sleep(0.05)


class ServeTest(unittest.TestCase):
    def setUp(self):
        base = os.environ.get("FREEZEFRAME_TEST_TMPDIR")
        if base:
            os.makedirs(base, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="ffserve-", dir=base)
        # The control socket's path must fit a sockaddr_un (108 bytes).
        if len(self.dir) > 80:
            shutil.rmtree(self.dir)
            self.dir = tempfile.mkdtemp(prefix="ffserve-")
        UNDO.append(lambda d=self.dir: shutil.rmtree(d, ignore_errors=True))
        self.undo_mark = len(UNDO)
        self.store = os.path.join(self.dir, "store")

    def tearDown(self):
        # This test's undo steps, newest first; the directory last.
        while len(UNDO) >= self.undo_mark:
            step = UNDO.pop()
            try:
                step()
            except Exception as error:
                print("cleanup step failed: %s" % error, file=sys.stderr)

    def ff(self, *args, check=True):
        done = subprocess.run([BINARY, "--store", self.store] + list(args), capture_output=True,
                              text=True, timeout=600)
        if check and done.returncode != 0:
            self.fail("freezeframe %s exited %d\nstdout:\n%s\nstderr:\n%s"
                      % (" ".join(args), done.returncode, done.stdout, done.stderr))
        return done

    def path(self, name):
        path = os.path.join(self.dir, name)
        os.makedirs(path, exist_ok=True)
        return path

    def losetup(self, file, read_only=False):
        """A loop device on `file`: direct I/O where the kernel takes it, else buffered."""
        argv = ["losetup", "--find", "--show"] + (["-r"] if read_only else [])
        done = subprocess.run(argv + ["--direct-io=on", file], capture_output=True, text=True)
        if done.returncode != 0:
            done = subprocess.run(argv + [file], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, "losetup %s: %s" % (file, done.stderr))
        device = done.stdout.strip()
        UNDO.append(lambda: quiet("losetup", "-d", device))
        return device

    def mount(self, device, mountpoint, *options):
        argv = ["mount"] + (["-o", ",".join(options)] if options else []) + [device, mountpoint]
        done = subprocess.run(argv, capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, "%s: %s" % (" ".join(argv), done.stderr))
        UNDO.append(lambda: quiet("umount", "-l", mountpoint))

    def unmount(self, mountpoint):
        subprocess.run(["umount", mountpoint], check=True, timeout=120)

    def detach(self, device):
        subprocess.run(["losetup", "-d", device], check=True, timeout=120)

    def snapshot(self, volume, mountpoint, writer):
        """Freezes the file system mid-workload, takes a shadow copy through the daemon and
        thaws it. Returns the shadow copy's id and the files as they were at the freeze."""
        with writer.lock:
            subprocess.run(["fsfreeze", "-f", mountpoint], check=True, timeout=120)
            UNDO.append(lambda: quiet("fsfreeze", "-u", mountpoint))
            try:
                files = dict(writer.files)
                created = json.loads(self.ff("shadow", "create", "--for", volume, "--json").stdout)
            finally:
                subprocess.run(["fsfreeze", "-u", mountpoint], check=True, timeout=120)
        self.assertEqual(len(created["shadows"]), 1, created)
        return created["shadows"][0]["id"], files

    def check_files(self, root, expected, history=None):
        """Every file of `expected` is in `root` with its recorded content (or, given
        `history`, with some content it had later); no other file has a final name."""
        present = sorted(n for n in os.listdir(root) if n.startswith("file-"))
        self.assertEqual(present, sorted(expected), "the files differ from those recorded")
        for name, digest in expected.items():
            with open(os.path.join(root, name), "rb") as f:
                actual = hashlib.sha256(f.read()).hexdigest()
            allowed = {digest} | (history.get(name, set()) if history else set())
            self.assertIn(actual, allowed, "%s has content it never had at that point" % name)

    def check_snapshot(self, files_dir, volume, shadow_id, expected):
        """Exposes the snapshot through the daemon (a FUSE file, no copy) and mounts it
        read-only: e2fsck finds it clean and its files are those recorded at the freeze. Then
        unexposes it: the file and its mount are gone."""
        self.assertTrue(os.path.exists(os.path.join(files_dir, "%s@%s" % (volume, shadow_id))),
                        "the daemon's directory does not show snapshot %s" % shadow_id)
        image = os.path.join(self.dir, "exposed-%s.img" % shadow_id)
        exposed = json.loads(self.ff("shadow", "expose", shadow_id, "--to", image,
                                     "--json").stdout)
        self.assertEqual(exposed, {"id": shadow_id, "exposed": image, "copy": False})
        UNDO.append(lambda: quiet("fusermount3", "-u", "-z", image))
        self.assertEqual(os.stat(image).st_size, os.stat(os.path.join(files_dir, volume)).st_size)
        listed = json.loads(self.ff("shadow", "list", "--json").stdout)
        self.assertIn(image, [s["exposed"] for s in listed])
        device = self.losetup(image, read_only=True)
        fsck = subprocess.run(["e2fsck", "-fn", device], capture_output=True, text=True)
        self.assertEqual(fsck.returncode, 0, "e2fsck on %s:\n%s%s"
                         % (image, fsck.stdout, fsck.stderr))
        mountpoint = self.path("snapshot-%s" % shadow_id)
        self.mount(device, mountpoint, "ro", "noload")
        self.check_files(mountpoint, expected)
        self.unmount(mountpoint)
        self.detach(device)
        self.ff("shadow", "unexpose", shadow_id)
        self.assertFalse(os.path.exists(image), "unexpose left %s" % image)


class ExtFourTest(ServeTest):
    def setUp(self):
        reason = root_skip_reason()
        if reason:
            self.skipTest(reason)
        super().setUp()

    def run_provider(self, provider):
        volume = "data-" + provider
        self.ff("volume", "create", volume, "--size", "256M", "--provider", provider)
        self.ff("shadowstorage", "add", "--for", volume)
        files_dir = self.path("files-" + provider)
        daemon = Daemon(self, self.store, files_dir)
        live = os.path.join(files_dir, volume)
        st = os.stat(live)
        self.assertEqual(st.st_size, 256 * MIB)
        device = self.losetup(live)
        subprocess.run(["mkfs.ext4", "-q", "-F", device], check=True, timeout=300)
        mountpoint = self.path("live-" + provider)
        self.mount(device, mountpoint)
        writer = Writer(mountpoint, provider)
        writer.start()
        UNDO.append(writer.stopping.set)
        snapshots = []
        for round_number in range(2):
            writer.wait_for(60 * (round_number + 1))
            snapshots.append(self.snapshot(volume, mountpoint, writer))
        writer.wait_for(writer.count + 30)
        writer.finish(self)
        for shadow_id, expected in snapshots:
            self.check_snapshot(files_dir, volume, shadow_id, expected)
        # The live file system is whole too, with the last content of every file.
        self.check_files(mountpoint, writer.files)
        self.unmount(mountpoint)
        fsck = subprocess.run(["e2fsck", "-fn", device], capture_output=True, text=True)
        self.assertEqual(fsck.returncode, 0, fsck.stdout + fsck.stderr)
        self.detach(device)
        self.assertEqual(daemon.stop(), 0, daemon.output())

    def test_copy_on_write(self):
        self.run_provider("cow")

    def test_redirect_on_write(self):
        self.run_provider("row")


class KillTest(ServeTest):
    def setUp(self):
        reason = root_skip_reason()
        if reason:
            self.skipTest(reason)
        super().setUp()

    def test_sigkill_loses_nothing_flushed(self):
        for provider in ("cow", "row"):
            with self.subTest(provider=provider):
                self.kill_once(provider)

    def kill_once(self, provider):
        volume = "killed-" + provider
        self.ff("volume", "create", volume, "--size", "128M", "--provider", provider)
        self.ff("shadowstorage", "add", "--for", volume)
        files_dir = self.path("files-" + volume)
        daemon = Daemon(self, self.store, files_dir)
        device = self.losetup(os.path.join(files_dir, volume))
        subprocess.run(["mkfs.ext4", "-q", "-F", device], check=True, timeout=300)
        mountpoint = self.path("live-" + volume)
        self.mount(device, mountpoint)
        # Each file durable before its rename: after a crash, whatever name is there has
        # whole content.
        writer = Writer(mountpoint, volume, fsync_all=True)
        writer.start()
        UNDO.append(writer.stopping.set)
        writer.wait_for(40)
        shadow_id, at_freeze = self.snapshot(volume, mountpoint, writer)
        writer.wait_for(writer.count + 40)
        # What sync made durable: the file system flushes its device, the loop device fsyncs
        # its FUSE file, the daemon flushes the provider.
        with writer.lock:
            subprocess.run(["sync", "-f", mountpoint], check=True, timeout=300)
            synced = dict(writer.files)
        writer.wait_for(writer.count + 20)
        self.assertEqual(daemon.stop(signal.SIGKILL), -signal.SIGKILL)
        writer.stopping.set()
        writer.join(timeout=120)  # its I/O fails now; that is expected
        quiet("umount", "-l", mountpoint)
        quiet("losetup", "-d", device)

        daemon = Daemon(self, self.store, files_dir)
        self.check_snapshot(files_dir, volume, shadow_id, at_freeze)
        # The live volume: the journal replays, every synced file is there with the content it
        # had at the sync or a later one.
        device = self.losetup(os.path.join(files_dir, volume))
        self.mount(device, mountpoint)
        present = {n for n in os.listdir(mountpoint) if n.startswith("file-")}
        self.assertTrue(set(synced) <= present, "files synced before the kill are gone: %s"
                        % sorted(set(synced) - present)[:10])
        # Synced files hold their synced content or a later one; files written after the
        # sync hold some content they had.
        self.check_files(mountpoint, {n: synced.get(n, "") for n in present}, writer.history)
        self.unmount(mountpoint)
        fsck = subprocess.run(["e2fsck", "-fn", device], capture_output=True, text=True)
        self.assertEqual(fsck.returncode, 0, fsck.stdout + fsck.stderr)
        self.detach(device)
        self.assertEqual(daemon.stop(), 0, daemon.output())


def frame(header):
    text = json.dumps(header).encode()
    return struct.pack("<I", len(text)) + text


class Client:
    """A raw control-socket client that sends whatever it is given."""

    def __init__(self, path):
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.socket.settimeout(120)
        self.socket.connect(path)

    def close(self):
        self.socket.close()

    def receive(self, count):
        data = b""
        while len(data) < count:
            chunk = self.socket.recv(count - len(data))
            if not chunk:
                raise EOFError("the daemon closed the connection")
            data += chunk
        return data

    def reply(self):
        (length,) = struct.unpack("<I", self.receive(4))
        return json.loads(self.receive(length))

    def call(self, header, data=b""):
        self.socket.sendall(frame(header) + data)
        reply = self.reply()
        if header.get("op") == "read" and reply["code"] == "ok":
            reply["data"] = self.receive(header["length"])
        return reply


class BadRequestTest(ServeTest):
    """Needs no root: the control socket alone."""

    def setUp(self):
        if sys.platform != "linux":
            self.skipTest("serve is Linux only")
        super().setUp()

    def test_bad_requests_get_errors_and_the_daemon_keeps_serving(self):
        self.ff("volume", "create", "data", "--size", "8M")
        daemon = Daemon(self, self.store)
        socket_path = os.path.join(self.store, "serve.sock")
        self.assertEqual(os.stat(socket_path).st_mode & 0o777, 0o600, "socket not owner-only")
        created = json.loads(self.ff("shadow", "create", "--for", "data", "--json").stdout)
        shadow = created["shadows"][0]["id"]
        good = Client(socket_path)
        UNDO.append(good.close)
        payload = bytes(range(256)) * 16
        reply = good.call({"id": 1, "op": "write", "export": "data", "offset": 4096,
                           "length": len(payload)}, payload)
        self.assertEqual(reply["code"], "ok", reply)

        bad = Client(socket_path)
        UNDO.append(bad.close)
        cases = [
            ({"op": "read", "export": "data", "offset": 8 * MIB, "length": 512},
             "invalid-argument", "out of range"),
            ({"op": "read", "export": "data", "offset": 8 * MIB - 256, "length": 512},
             "invalid-argument", "out of range"),
            ({"op": "write", "export": "data@" + shadow, "offset": 0, "length": 512},
             "read-only", "read-only"),
            ({"op": "trim", "export": "data@" + shadow, "offset": 0, "length": 512},
             "read-only", "read-only"),
            ({"op": "read", "export": "nothing", "offset": 0, "length": 512},
             "not-found", "'nothing'"),
            ({"op": "read", "export": "data@12345", "offset": 0, "length": 512},
             "invalid-argument", "not a snapshot id"),
            ({"op": "launch"}, "invalid-argument", "unknown op"),
            ({"op": "read", "export": "data", "offset": -1, "length": 1},
             "invalid-argument", "'offset'"),
            ({"op": "read", "export": "data", "offset": 0, "length": 1 << 40},
             "invalid-argument", "over the limit"),
            ({"op": "command", "argv": ["volume", "remove", "data"]}, "ok", None),
        ]
        for header, code, words in cases:
            data = b"\0" * header["length"] if header.get("op") == "write" else b""
            reply = bad.call(header, data)
            self.assertEqual(reply["code"], code, (header, reply))
            if words:
                self.assertIn(words, reply["message"], (header, reply))
        # Not JSON, then not an object: errors, and the same connection goes on.
        bad.socket.sendall(struct.pack("<I", 5) + b"{op:1")
        self.assertEqual(bad.reply()["code"], "invalid-argument")
        bad.socket.sendall(struct.pack("<I", 2) + b"[]")
        self.assertIn("not a JSON object", bad.reply()["message"])
        # A length prefix past the limit: an error, and that connection is closed.
        bad.socket.sendall(struct.pack("<I", 0x7FFFFFFF))
        self.assertIn("outside", bad.reply()["message"])
        # A client that hangs up mid-frame harms nobody.
        torn = Client(socket_path)
        torn.socket.sendall(struct.pack("<I", 100) + b'{"op"')
        torn.close()

        # Everyone else is still served: the data written, the snapshot, a listing.
        reply = good.call({"id": 2, "op": "read", "export": "data", "offset": 4096,
                           "length": len(payload)})
        self.assertEqual(reply["data"], payload)
        reply = good.call({"id": 3, "op": "read", "export": "data@" + shadow, "offset": 4096,
                           "length": 512})
        self.assertEqual(reply["data"], b"\0" * 512, "the snapshot changed")
        names = {e["name"] for e in good.call({"op": "list"})["exports"]}
        self.assertEqual(names, {"data", "data@" + shadow})
        # A command through the CLI still works, and the volume was not removed.
        listed = json.loads(self.ff("volume", "list", "--json").stdout)
        self.assertEqual([v["name"] for v in listed], ["data"])
        good.close()
        bad.close()
        self.assertEqual(daemon.stop(), 0, daemon.output())
        self.assertFalse(os.path.exists(socket_path), "the socket was left behind")


class ForwardingTest(ServeTest):
    """The command line while a daemon serves the store: the shadow-copy commands go through
    the daemon, with the output they have without one. Needs no root."""

    def setUp(self):
        if sys.platform != "linux":
            self.skipTest("serve is Linux only")
        super().setUp()

    def test_shadow_commands_go_through_the_daemon(self):
        self.ff("volume", "create", "data", "--size", "8M", "--provider", "row")
        daemon = Daemon(self, self.store)
        client = Client(os.path.join(self.store, "serve.sock"))
        UNDO.append(client.close)
        old = b"old!" * 1024
        new = b"new!" * 1024
        self.assertEqual(client.call({"op": "write", "export": "data", "offset": 0,
                                      "length": len(old), "fua": True}, old)["code"], "ok")
        created = json.loads(self.ff("shadow", "create", "--for", "data", "--json").stdout)
        self.assertEqual(sorted(created), ["context", "released_at_exit", "set_id", "shadows"])
        shadow = created["shadows"][0]["id"]
        text = self.ff("shadow", "create", "--for", "data").stdout
        self.assertIn("Successfully created shadow copy set", text)
        self.assertEqual(client.call({"op": "write", "export": "data", "offset": 0,
                                      "length": len(new)}, new)["code"], "ok")
        listed = json.loads(self.ff("shadow", "list", "--json").stdout)
        self.assertEqual(len(listed), 2)
        # A relative --to is the caller's, not the daemon's.
        cwd = os.getcwd()
        os.chdir(self.dir)
        try:
            self.ff("shadow", "export", shadow, "--to", "exported.img")
        finally:
            os.chdir(cwd)
        with open(os.path.join(self.dir, "exported.img"), "rb") as f:
            self.assertEqual(f.read(len(old)), old)
        # Errors keep their exit codes and messages.
        missing = self.ff("shadow", "delete", "--shadow", "00000000-0000-0000-0000-000000000001",
                          check=False)
        self.assertEqual(missing.returncode, 4, missing.stderr)
        self.assertIn("no shadow copy matches", missing.stderr)
        self.ff("shadow", "revert", shadow)
        reply = client.call({"op": "read", "export": "data", "offset": 0, "length": len(old)})
        self.assertEqual(reply["data"], old, "revert did not reach the served volume")
        remaining = json.loads(self.ff("shadow", "list", "--json").stdout)
        self.assertIn(shadow, [s["id"] for s in remaining])
        deleted = json.loads(self.ff("shadow", "delete", "--all", "--json").stdout)
        self.assertEqual(sorted(deleted["deleted"]), sorted(s["id"] for s in remaining))
        names = {e["name"] for e in client.call({"op": "list"})["exports"]}
        self.assertEqual(names, {"data"})
        client.close()
        self.assertEqual(daemon.stop(), 0, daemon.output())
        # Without a daemon the same commands run here.
        self.assertEqual(json.loads(self.ff("shadow", "list", "--json").stdout), [])


class ExposeTest(ServeTest):
    """`shadow expose` through the daemon: a FUSE file at a path of its own, kept across a
    restart of the daemon, withdrawn when the shadow copy is deleted."""

    def setUp(self):
        reason = root_skip_reason()
        if reason:
            self.skipTest(reason)
        super().setUp()

    def test_exposure_survives_a_restart_and_goes_with_its_shadow_copy(self):
        self.ff("volume", "create", "data", "--size", "8M")
        files_dir = self.path("files")
        daemon = Daemon(self, self.store, files_dir)
        old = os.urandom(64 * 1024)
        with open(os.path.join(files_dir, "data"), "r+b") as f:
            f.write(old)
            os.fsync(f.fileno())
        created = json.loads(self.ff("shadow", "create", "--for", "data", "--json").stdout)
        shadow = created["shadows"][0]["id"]
        with open(os.path.join(files_dir, "data"), "r+b") as f:
            f.write(os.urandom(64 * 1024))
        image = os.path.join(self.dir, "exposed.img")
        UNDO.append(lambda: quiet("fusermount3", "-u", "-z", image))
        self.ff("shadow", "expose", shadow, "--to", image)
        taken = self.ff("shadow", "expose", shadow, "--to", image + "2", check=False)
        self.assertNotEqual(taken.returncode, 0)
        self.assertIn("already exposed", taken.stderr)
        with open(image, "rb") as f:
            self.assertEqual(f.read(len(old)), old)
        with self.assertRaises(OSError):
            open(image, "r+b")
        self.assertEqual(daemon.stop(), 0, daemon.output())
        self.assertFalse(os.path.ismount(image))
        self.assertEqual(os.path.getsize(image), 0, "the placeholder is not empty")
        daemon = Daemon(self, self.store, files_dir)
        deadline = time.monotonic() + READY_SECONDS
        while not os.path.ismount(image) and time.monotonic() < deadline:
            time.sleep(0.05)
        with open(image, "rb") as f:
            self.assertEqual(f.read(len(old)), old, "not presented again after a restart")
        self.ff("shadow", "delete", "--shadow", shadow)
        self.assertFalse(os.path.exists(image), "deleting the shadow copy left its file")
        self.assertEqual(daemon.stop(), 0, daemon.output())


def main():
    global BINARY
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--binary", required=True)
    args, rest = parser.parse_known_args()
    BINARY = os.path.abspath(args.binary)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
