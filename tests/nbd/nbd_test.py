#!/usr/bin/env python3
"""End-to-end tests of the nbdkit plugin: each test makes a store with the freezeframe command,
starts nbdkit with the built plugin on a Unix socket in its temporary directory, and runs real
NBD clients (qemu-img, qemu-io, nbdinfo, nbdcopy, and a minimal raw client of its own for
malformed requests) against it. Every nbdkit a test starts is killed by its pid at the end.

usage: nbd_test.py --binary FREEZEFRAME --plugin NBDKIT-PLUGIN.so [unittest arguments]
"""
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
import time
import unittest

BINARY = None
PLUGIN = None
MIB = 1 << 20
KIB = 1 << 10
CHUNK = 16 * KIB  # the store's chunk size (cli/store.cpp)
TOOLS = ("nbdkit", "nbdinfo", "nbdcopy", "qemu-img", "qemu-io")
MISSING = [tool for tool in TOOLS if shutil.which(tool) is None]
EXIT_BUSY = 3


@unittest.skipIf(MISSING, "needs %s (Debian nbdkit, libnbd-bin, qemu-utils)" % ", ".join(MISSING))
class NbdTest(unittest.TestCase):
    def setUp(self):
        base = os.environ.get("FREEZEFRAME_TEST_TMPDIR")
        if base:
            os.makedirs(base, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="nbd-", dir=base)
        self.store = os.path.join(self.dir, "store")
        self.rng = random.Random(self.id())
        self.servers = []

    def tearDown(self):
        for server in self.servers:
            self.stop(server)
        shutil.rmtree(self.dir, ignore_errors=True)

    # ----- the freezeframe command

    def run_ff(self, *args, check=True):
        done = subprocess.run([BINARY, "--store", self.store] + list(args), capture_output=True,
                              text=True, timeout=240)
        if check and done.returncode != 0:
            self.fail("freezeframe %s exited %d\n%s%s"
                      % (" ".join(args), done.returncode, done.stdout, done.stderr))
        return done

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, volume, offset, data):
        name = self.path("w%d.bin" % self.rng.randrange(1 << 30))
        with open(name, "wb") as f:
            f.write(data)
        self.run_ff("volume", "write", volume, "--offset", str(offset), "--from", name)
        os.unlink(name)

    def snapshot(self, volume):
        made = json.loads(self.run_ff("shadow", "create", "--for", volume, "--context",
                                      "persistent", "--json").stdout)
        return made["shadows"][0]["id"]

    def export_file(self, shadow_id, name):
        out = self.path(name)
        self.run_ff("shadow", "export", shadow_id, "--to", out)
        return out

    def read_live(self, volume):
        out = self.path("live-%d.img" % self.rng.randrange(1 << 30))
        self.run_ff("volume", "read", volume, "--to", out)
        with open(out, "rb") as f:
            data = f.read()
        os.unlink(out)
        return data

    # ----- nbdkit

    def start(self, *params, expect_failure=False):
        """Starts nbdkit with the plugin; returns (process, uri), or the process's stderr when
        expect_failure (it must exit non-zero before serving)."""
        sock = self.path("nbd%d.sock" % len(self.servers))
        log = open(self.path("nbdkit%d.log" % len(self.servers)), "w+")
        self.addCleanup(log.close)
        argv = ["nbdkit", "--exit-with-parent", "-f", "-U", sock, PLUGIN] + list(params)
        server = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        self.servers.append(server)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                log.seek(0)
                text = log.read()
                if expect_failure:
                    self.assertNotEqual(server.returncode, 0, text)
                    return text
                self.fail("nbdkit %s exited %d:\n%s" % (" ".join(params), server.returncode, text))
            if os.path.exists(sock):
                if expect_failure:
                    self.fail("nbdkit %s started, expected it to fail" % " ".join(params))
                return server, "nbd+unix:///?socket=" + sock
            time.sleep(0.05)
        self.fail("nbdkit %s did not start within 60 s" % " ".join(params))

    def stop(self, server):
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    def tool(self, *argv, check=True):
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=300)
        if check and done.returncode != 0:
            self.fail("%s exited %d\n%s%s" % (" ".join(argv), done.returncode, done.stdout,
                                              done.stderr))
        return done

    def map_of(self, uri):
        """nbdinfo --map as (offset, length, hole, zero) runs, merged."""
        runs = []
        for run in json.loads(self.tool("nbdinfo", "--map", "--json", uri).stdout):
            hole, zero = bool(run["type"] & 1), bool(run["type"] & 2)
            if runs and runs[-1][2:] == (hole, zero) and runs[-1][0] + runs[-1][1] == run["offset"]:
                runs[-1] = (runs[-1][0], runs[-1][1] + run["length"], hole, zero)
            else:
                runs.append((run["offset"], run["length"], hole, zero))
        return runs

    def check_map_is_honest(self, runs, image, size):
        """Covers the export; every run reported as zero reads as zero."""
        self.assertEqual(runs[0][0], 0)
        self.assertEqual(sum(r[1] for r in runs), size)
        for offset, length, _, zero in runs:
            if zero:
                self.assertEqual(image[offset:offset + length].count(0), length,
                                 "run %d+%d reported zero holds data" % (offset, length))


class SnapshotExportTest(NbdTest):
    """A snapshot export, read-only, read by qemu-img, nbdinfo and nbdcopy."""

    def check(self, provider):
        size = 8 * MIB
        self.run_ff("volume", "create", "C:", "--size", "8M", "--provider", provider)
        self.write("C:", 0, self.rng.randbytes(MIB))
        self.write("C:", 5 * MIB, self.rng.randbytes(512 * KIB))
        shadow = self.snapshot("C:")
        # Later writes: the snapshot now reads some chunks from the diff area.
        self.write("C:", 0, self.rng.randbytes(256 * KIB))
        self.write("C:", 7 * MIB, self.rng.randbytes(64 * KIB))
        exported = self.export_file(shadow, "shadow.img")
        with open(exported, "rb") as f:
            image = f.read()
        server, uri = self.start("store=" + self.store, "volume=C:", "snapshot=" + shadow)
        # The shared lock leaves reading commands running beside the export.
        self.assertIn(shadow, self.run_ff("shadow", "list").stdout)
        self.tool("qemu-img", "compare", "-f", "raw", "-F", "raw", exported, uri)
        info = self.tool("nbdinfo", "--json", uri).stdout
        self.assertFalse(json.loads(info)["exports"][0]["is_read_only"] is False, info)
        runs = self.map_of(uri)
        self.check_map_is_honest(runs, image, size)
        # Never written: a hole that reads as zeros. Written before the snapshot: data.
        def run_at(offset):
            return [r for r in runs if r[0] <= offset < r[0] + r[1]][0]
        for offset in (MIB, 2 * MIB + 4 * KIB, 4 * MIB, 6 * MIB):
            self.assertTrue(run_at(offset)[2] and run_at(offset)[3], (offset, runs))
        for offset in (0, 512 * KIB, 5 * MIB):
            self.assertFalse(run_at(offset)[3], (offset, runs))
        copy = self.path("copy.img")
        self.tool("nbdcopy", uri, copy)
        with open(copy, "rb") as f:
            self.assertEqual(f.read(), image)

    def test_cow_snapshot_reads_as_its_exported_image(self):
        self.check("cow")

    def test_row_snapshot_reads_as_its_exported_image(self):
        self.check("row")


class LiveExportTest(NbdTest):
    """A live volume's export, read-write through its provider."""

    def check(self, provider):
        size = 8 * MIB
        self.run_ff("volume", "create", "C:", "--size", "8M", "--provider", provider)
        before = self.rng.randbytes(size)
        self.write("C:", 0, before)
        shadow = self.snapshot("C:")
        source = bytearray(self.rng.randbytes(size))
        source[2 * MIB:3 * MIB] = bytes(MIB)  # zeros: qemu-img may send them as zero requests
        with open(self.path("source.img"), "wb") as f:
            f.write(source)
        server, uri = self.start("store=" + self.store, "volume=C:")
        # The exclusive lock: no other command writes the store while it is served.
        busy = self.run_ff("volume", "list", check=False)
        self.assertEqual(busy.returncode, EXIT_BUSY, busy.stderr)
        self.tool("qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", self.path("source.img"),
                  uri)
        # FUA, zero (with and without unmap), trim and an unaligned write, then a flush.
        self.tool("qemu-io", "-f", "raw", "-c", "write -P 0x5a -f 4096 8192",
                  "-c", "write -z 65536 16384", "-c", "write -z -u 131072 32768",
                  "-c", "discard 4194304 65536", "-c", "write -P 0x11 1000 700",
                  "-c", "flush", uri)
        source[4096:4096 + 8192] = b"\x5a" * 8192
        source[65536:65536 + 16384] = bytes(16384)
        source[131072:131072 + 32768] = bytes(32768)
        source[4 * MIB:4 * MIB + 65536] = bytes(65536)
        source[1000:1700] = b"\x11" * 700
        # Read back through the export, then through the command once nbdkit is gone.
        copy = self.path("copy.img")
        self.tool("nbdcopy", uri, copy)
        with open(copy, "rb") as f:
            self.assertEqual(f.read(), bytes(source))
        self.check_map_is_honest(self.map_of(uri), source, size)
        # nbdcopy writes over several connections at once (multi-conn), in parallel threads.
        later = bytearray(self.rng.randbytes(size))
        later[5 * MIB:6 * MIB] = bytes(MIB)
        with open(self.path("later.img"), "wb") as f:
            f.write(later)
        self.tool("nbdcopy", "--connections=4", "--flush", self.path("later.img"), uri)
        self.tool("qemu-img", "compare", "-f", "raw", "-F", "raw", self.path("later.img"), uri)
        self.check_map_is_honest(self.map_of(uri), later, size)
        source = later
        self.stop(server)
        self.assertEqual(self.read_live("C:"), bytes(source))
        # Every write went through the provider: the snapshot still reads as before.
        with open(self.export_file(shadow, "shadow.img"), "rb") as f:
            self.assertEqual(f.read(), before)
        # And a second export, of the snapshot, reads it too.
        _, snapshot_uri = self.start("store=" + self.store, "snapshot=" + shadow)
        self.tool("qemu-img", "compare", "-f", "raw", "-F", "raw", self.path("shadow.img"),
                  snapshot_uri)

    def test_cow_volume_takes_writes_and_its_snapshot_keeps_the_old_data(self):
        self.check("cow")

    def test_row_volume_takes_writes_and_its_snapshot_keeps_the_old_data(self):
        self.check("row")


class ChangesSinceTest(NbdTest):
    """changes-since=: the map lists exactly the chunks change tracking recorded."""

    def check(self, provider):
        size = 8 * MIB
        self.run_ff("volume", "create", "C:", "--size", "8M", "--provider", provider)
        self.write("C:", 0, self.rng.randbytes(size))
        first = self.snapshot("C:")
        base = self.export_file(first, "base.img")
        self.write("C:", MIB, self.rng.randbytes(20 * KIB))  # chunks 64 and 65
        self.write("C:", 6 * MIB + 512, bytes(1024))  # zeros, inside one chunk
        second = self.snapshot("C:")
        self.write("C:", 7 * MIB, self.rng.randbytes(4 * KIB))  # after the second snapshot
        wanted = [(MIB, 2 * CHUNK), (6 * MIB, CHUNK)]

        server, uri = self.start("store=" + self.store, "snapshot=" + second,
                                 "changes-since=" + first)
        runs = self.map_of(uri)
        self.assertEqual([(r[0], r[1]) for r in runs if not r[2]], wanted, runs)
        self.assertEqual(sum(r[1] for r in runs), size)
        # Reads are the snapshot's own data.
        newer = self.export_file(second, "second.img")
        self.tool("qemu-img", "compare", "-f", "raw", "-F", "raw", newer, uri)
        # nbdcopy copies only the changed chunks: a sparse delta image, data where they are.
        delta = self.path("delta.img")
        self.tool("nbdcopy", "--request-size=%d" % CHUNK, uri, delta)
        with open(newer, "rb") as f:
            image = f.read()
        with open(delta, "rb") as f:
            copied = f.read()
        expected = bytearray(size)
        for offset, length in wanted:
            expected[offset:offset + length] = image[offset:offset + length]
        self.assertEqual(copied, bytes(expected))
        self.assertLessEqual(os.stat(delta).st_blocks * 512, 4 * CHUNK)
        # The map applied to an image of the earlier point gives the later one.
        with open(base, "r+b") as f:
            for offset, length in wanted:
                f.seek(offset)
                f.write(copied[offset:offset + length])
        with open(base, "rb") as f:
            self.assertEqual(f.read(), image)
        self.stop(server)

        # The live volume's changes since the second snapshot.
        server, uri = self.start("store=" + self.store, "volume=C:", "changes-since=" + second)
        runs = self.map_of(uri)
        self.assertEqual([(r[0], r[1]) for r in runs if not r[2]], [(7 * MIB, CHUNK)], runs)
        self.stop(server)

    def test_cow_changes_between_snapshots_and_since_one(self):
        self.check("cow")

    def test_row_changes_between_snapshots_and_since_one(self):
        self.check("row")

    def test_a_backups_change_id_maps_what_was_written_after_it(self):
        # A backup records the change id of its (auto-release, since deleted) snapshot.
        self.run_ff("volume", "create", "C:", "--size", "4M")
        self.write("C:", 0, self.rng.randbytes(4 * MIB))
        made = json.loads(self.run_ff("backup", "--for", "C:", "--repo", self.path("repo"),
                                      "--json").stdout)
        change_id = made["backups"][0]["change_id"]
        self.assertTrue(change_id.startswith("ffcbt1:"), change_id)
        self.write("C:", 3 * MIB + 4 * KIB, self.rng.randbytes(40 * KIB))  # chunks 192 to 194
        server, uri = self.start("store=" + self.store, "volume=C:", "changes-since=" + change_id)
        runs = self.map_of(uri)
        self.assertEqual([(r[0], r[1]) for r in runs if not r[2]], [(3 * MIB, 3 * CHUNK)], runs)
        # A write through the export shows in the map of the same export at once.
        self.tool("qemu-io", "-f", "raw", "-c", "write -P 0x33 65536 512", uri)
        runs = self.map_of(uri)
        self.assertEqual([(r[0], r[1]) for r in runs if not r[2]],
                         [(4 * CHUNK, CHUNK), (3 * MIB, 3 * CHUNK)], runs)
        self.stop(server)

    def test_a_bad_change_id_is_refused_at_open(self):
        self.run_ff("volume", "create", "C:", "--size", "4M")
        self.snapshot("C:")
        for since, words in (("ffcbt1:nonsense", ["changes-since=ffcbt1:nonsense"]),
                             ("yesterday", ["yesterday", "neither a change id"]),
                             ("0c8a1b9e-6ad5-4b8a-9a43-2f7c0d3b9e11",
                              ["0c8a1b9e-6ad5-4b8a-9a43-2f7c0d3b9e11", "not a snapshot"])):
            text = self.start("store=" + self.store, "volume=C:", "changes-since=" + since,
                              expect_failure=True)
            for word in words:
                self.assertIn(word, text)


class NbdClient:
    """Just enough of the NBD protocol (fixed newstyle, simple replies) to send requests that
    the usual tools never send."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(path)
        hello = self.recv(18)
        assert hello[:8] == b"NBDMAGIC" and hello[8:16] == b"IHAVEOPT", hello
        server_flags = struct.unpack(">H", hello[16:18])[0]
        self.no_zeroes = bool(server_flags & 2)
        self.sock.sendall(struct.pack(">I", server_flags & 3))
        self.sock.sendall(b"IHAVEOPT" + struct.pack(">II", 1, 0))  # NBD_OPT_EXPORT_NAME ""
        self.size, self.flags = struct.unpack(">QH", self.recv(10))
        if not self.no_zeroes:
            self.recv(124)

    def recv(self, n):
        data = b""
        while len(data) < n:
            part = self.sock.recv(n - len(data))
            if not part:
                raise ConnectionError("server closed the connection")
            data += part
        return data

    def request(self, kind, offset, length, payload=b""):
        """Sends one request and returns (error, data)."""
        self.sock.sendall(struct.pack(">IHHQQI", 0x25609513, 0, kind, 7, offset, length) + payload)
        magic, error, handle = struct.unpack(">IIQ", self.recv(16))
        assert magic == 0x67446698 and handle == 7, (magic, handle)
        data = self.recv(length) if kind == 0 and error == 0 else b""
        return error, data

    def close(self):
        self.sock.close()


class BadClientTest(NbdTest):
    """Requests the export must refuse, and the server keeps serving others afterwards."""

    def test_writes_to_a_snapshot_and_out_of_range_reads_fail_and_others_are_served(self):
        self.run_ff("volume", "create", "C:", "--size", "4M")
        self.write("C:", 0, self.rng.randbytes(4 * MIB))
        shadow = self.snapshot("C:")
        exported = self.export_file(shadow, "shadow.img")
        server, uri = self.start("store=" + self.store, "snapshot=" + shadow)
        sock = uri.split("socket=")[1]
        # A well-behaved client holds its connection open throughout.
        good = NbdClient(sock)
        self.assertEqual(good.size, 4 * MIB)
        # qemu-io: a write to the read-only export fails.
        done = self.tool("qemu-io", "-f", "raw", "-c", "write 0 4k", uri, check=False)
        self.assertTrue(done.returncode != 0 or "fail" in (done.stdout + done.stderr).lower(),
                        done.stdout + done.stderr)
        bad = NbdClient(sock)
        self.assertTrue(bad.flags & 2, "the export is flagged read-only")
        error, _ = bad.request(1, 0, 4096, bytes(4096))  # NBD_CMD_WRITE
        self.assertIn(error, (1, 30), "write to a snapshot: EPERM or EROFS")
        error, _ = bad.request(0, 4 * MIB - 512, 4096)  # past the end
        self.assertEqual(error, 22, "out-of-range read: EINVAL")
        error, _ = bad.request(0, 1 << 62, 512)
        self.assertEqual(error, 22)
        # Garbage instead of a request: the server drops that connection only.
        bad.sock.sendall(b"\xde\xad\xbe\xef" * 8)
        with self.assertRaises((ConnectionError, OSError)):
            bad.recv(16)
        bad.close()
        with open(exported, "rb") as f:
            image = f.read()
        error, data = good.request(0, MIB, 64 * KIB)
        self.assertEqual((error, data), (0, image[MIB:MIB + 64 * KIB]))
        good.close()
        self.assertIsNone(server.poll())
        self.tool("qemu-img", "compare", "-f", "raw", "-F", "raw", exported, uri)


class OpenErrorTest(NbdTest):
    """Errors at startup name what is wrong, and nbdkit exits without serving."""

    def test_errors_name_the_store_volume_snapshot_or_parameter(self):
        missing = self.path("no-such-store")
        text = self.start("store=" + missing, "volume=C:", expect_failure=True)
        self.assertIn(missing, text)
        self.assertIn("does not exist", text)
        self.run_ff("volume", "create", "C:", "--size", "4M")
        self.run_ff("volume", "create", "D:", "--size", "4M")
        text = self.start("store=" + self.store, "volume=E:", expect_failure=True)
        self.assertIn("'E:'", text)
        absent = "0c8a1b9e-6ad5-4b8a-9a43-2f7c0d3b9e11"
        text = self.start("store=" + self.store, "snapshot=" + absent, expect_failure=True)
        self.assertIn(absent, text)
        shadow = self.snapshot("C:")
        text = self.start("store=" + self.store, "volume=D:", "snapshot=" + shadow,
                          expect_failure=True)
        self.assertIn("not of 'D:'", text)
        text = self.start("store=" + self.store, "volume=C:", "colour=red", expect_failure=True)
        self.assertIn("colour", text)
        text = self.start("volume=C:", expect_failure=True)
        self.assertIn("store=DIR", text)
        text = self.start("store=" + self.store, expect_failure=True)
        self.assertIn("volume=NAME", text)
        # A store another export holds: busy, naming the holder.
        server, _ = self.start("store=" + self.store, "volume=C:")
        text = self.start("store=" + self.store, "volume=D:", expect_failure=True)
        self.assertIn(self.store, text)
        self.assertIn(str(server.pid), text)


def main():
    global BINARY, PLUGIN
    args = sys.argv[1:]
    for flag in ("--binary", "--plugin"):
        if flag not in args:
            sys.exit("usage: nbd_test.py --binary FREEZEFRAME --plugin PLUGIN.so [unittest args]")
        at = args.index(flag)
        value = os.path.abspath(args[at + 1])
        del args[at:at + 2]
        if flag == "--binary":
            BINARY = value
        else:
            PLUGIN = value
    unittest.main(argv=[sys.argv[0]] + args, verbosity=2)


if __name__ == "__main__":
    main()
