#!/usr/bin/env python3
"""End-to-end tests of the nbdkit plugin forwarding to a running `freezeframe serve` daemon:
each test makes a store, starts the daemon on it (its socket DIR/serve.sock) and nbdkit with the
built plugin, and runs real NBD clients through both. The daemon holds the store's lock, so an
export that starts at all is one that forwards. Every process a test starts is killed by its
pid at the end, and its directory removed.

usage: nbd_daemon_test.py --binary FREEZEFRAME --plugin NBDKIT-PLUGIN.so [unittest arguments]
"""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nbd_test  # noqa: E402
from nbd_test import CHUNK, KIB, MIB, NbdClient, NbdTest  # noqa: E402


class Control:
    """A client of the daemon's control socket (docs/serve.md, "Control protocol")."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(60)
        self.sock.connect(path)

    def recv(self, n):
        data = b""
        while len(data) < n:
            part = self.sock.recv(n - len(data))
            if not part:
                raise ConnectionError("the daemon closed the connection")
            data += part
        return data

    def call(self, header, data=b""):
        text = json.dumps(header).encode()
        self.sock.sendall(struct.pack("<I", len(text)) + text + data)
        length, = struct.unpack("<I", self.recv(4))
        reply = json.loads(self.recv(length))
        if header["op"] == "read" and reply["code"] == "ok":
            reply["data"] = self.recv(header["length"])
        return reply

    def read(self, export, offset, length):
        out = b""
        while length:
            piece = min(length, 8 * MIB)
            reply = self.call({"op": "read", "export": export, "offset": offset,
                               "length": piece})
            assert reply["code"] == "ok", reply
            out += reply["data"]
            offset += piece
            length -= piece
        return out

    def close(self):
        self.sock.close()


class DaemonTest(NbdTest):
    def setUp(self):
        super().setUp()
        self.daemon = None

    def tearDown(self):
        # nbdkit first (its requests go to the daemon), then the daemon.
        for server in self.servers:
            self.stop(server)
        if self.daemon is not None:
            self.stop_daemon(signal.SIGTERM)
        super().tearDown()

    def start_daemon(self, *extra):
        """Starts `freezeframe serve` and returns its control socket once it is ready (its
        line printed: with --nbd, that is after nbdkit listens)."""
        sock = os.path.join(self.store, "serve.sock")
        log = open(self.path("serve%d.log" % time.monotonic_ns()), "w+")
        self.addCleanup(log.close)
        self.daemon_log = log
        self.daemon = subprocess.Popen([nbd_test.BINARY, "--store", self.store, "serve"]
                                       + list(extra), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.daemon.poll() is not None:
                log.seek(0)
                self.fail("freezeframe serve exited %d:\n%s" % (self.daemon.returncode,
                                                                log.read()))
            log.seek(0)
            if "serving store" in log.read():
                return sock
            time.sleep(0.05)
        self.fail("freezeframe serve did not listen within 60 s")

    def stop_daemon(self, sig):
        """Signals the daemon, waits, and returns its exit status."""
        if self.daemon.poll() is None:
            self.daemon.send_signal(sig)
            try:
                self.daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        status = self.daemon.returncode
        self.daemon = None
        return status

    def snapshot_via_daemon(self, volume):
        made = json.loads(self.run_ff("shadow", "create", "--for", volume, "--json").stdout)
        return made["shadows"][0]["id"]


class DaemonForwardTest(DaemonTest):
    """Exports through the daemon: writes land in the daemon's volume, snapshots read exactly,
    the map and the changes-since map are the daemon's."""

    def check(self, provider):
        size = 16 * MIB
        self.run_ff("volume", "create", "V", "--size", "16M", "--provider", provider)
        self.write("V", 0, self.rng.randbytes(2 * MIB))
        control_path = self.start_daemon()
        # The daemon holds the store: this export can only be forwarding.
        server, uri = self.start("store=" + self.store, "volume=V")
        source = self.path("source.img")
        content = bytearray(size)
        content[0:2 * MIB] = self.read_back(control_path, "V", 0, 2 * MIB)
        content[4 * MIB:7 * MIB] = self.rng.randbytes(3 * MIB)
        with open(source, "wb") as f:
            f.write(content)
        # -n: the export exists. The zero runs go as zero requests (a discard where allowed).
        self.tool("qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", source, uri)
        self.assertEqual(self.read_back(control_path, "V", 0, size), bytes(content))
        # A snapshot taken through the daemon, exported by a second nbdkit with socket=.
        shadow = self.snapshot_via_daemon("V")
        exported = self.export_file(shadow, "shadow.img")
        with open(exported, "rb") as f:
            self.assertEqual(f.read(), bytes(content))
        _, snap_uri = self.start("socket=" + control_path, "snapshot=" + shadow)
        copy = self.path("copy.img")
        self.tool("nbdcopy", snap_uri, copy)
        with open(copy, "rb") as f:
            self.assertEqual(f.read(), bytes(content))
        # Writes to the snapshot are refused; the map is honest: zeros only where zeros.
        refused = self.tool("qemu-io", "-f", "raw", "-c", "write 0 512", snap_uri, check=False)
        self.assertNotEqual(refused.returncode, 0)
        runs = self.map_of(snap_uri)
        self.check_map_is_honest(runs, content, size)
        holes = sum(r[1] for r in runs if r[3])
        self.assertGreaterEqual(holes, 8 * MIB, runs)  # never written: holes
        # Written after the snapshot, through NBD: the changes-since map of the live export.
        self.tool("qemu-io", "-f", "raw", "-c", "write -P 0x5a %d %d" % (10 * MIB, CHUNK), "-c",
                  "flush", uri)
        _, since_uri = self.start("store=" + self.store, "volume=V", "changes-since=" + shadow)
        changed = [(r[0], r[1]) for r in self.map_of(since_uri) if not r[2]]
        self.assertEqual(changed, [(10 * MIB, CHUNK)])
        # The snapshot did not change; the live volume did.
        with open(copy, "rb") as f:
            self.assertEqual(f.read(), bytes(content))
        self.assertEqual(self.read_back(control_path, "V", 10 * MIB, CHUNK), b"\x5a" * CHUNK)
        self.stop(server)

    def read_back(self, control_path, export, offset, length):
        control = Control(control_path)
        try:
            return control.read(export, offset, length)
        finally:
            control.close()

    def test_cow_volume_and_snapshot_through_the_daemon(self):
        self.check("cow")

    def test_row_volume_and_snapshot_through_the_daemon(self):
        self.check("row")

    def test_without_a_daemon_the_plugin_opens_the_store_itself(self):
        self.run_ff("volume", "create", "V", "--size", "4M")
        shadow = self.snapshot("V")
        refused = self.run_ff("shadow", "expose", shadow, "--nbd", check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("serve --nbd", refused.stderr)
        server, uri = self.start("store=" + self.store, "volume=V")
        self.tool("qemu-io", "-f", "raw", "-c", "write -P 0x11 0 4096", uri)
        self.stop(server)
        self.assertEqual(self.read_live("V")[:4096], b"\x11" * 4096)
        # socket= names a daemon that must answer.
        text = self.start("socket=" + self.path("none.sock"), "volume=V", expect_failure=True)
        self.assertIn("none.sock", text)


class DaemonCrashTest(DaemonTest):
    """The daemon killed with SIGKILL while a client writes through NBD: after a restart every
    snapshot reads exactly as before and every flushed write is there."""

    def test_sigkill_mid_write_keeps_snapshots_and_flushed_writes(self):
        size = 32 * MIB
        self.run_ff("volume", "create", "V", "--size", "32M")
        first = self.rng.randbytes(8 * MIB)
        self.write("V", 0, first)
        control_path = self.start_daemon()
        shadow = self.snapshot_via_daemon("V")
        server, uri = self.start("store=" + self.store, "volume=V")
        flushed = self.rng.randbytes(4 * MIB)
        source = self.path("flushed.img")
        with open(source, "wb") as f:
            f.write(flushed)
        # qemu-img convert flushes at the end: these writes are acknowledged as durable.
        self.tool("qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", source, uri)
        # Unflushed writes in flight over the rest, then SIGKILL.
        big = self.path("big.img")
        with open(big, "wb") as f:
            f.write(self.rng.randbytes(size))
        # Copies over and over until the daemon is gone (then nbdcopy fails and the loop ends).
        writer = subprocess.Popen(["sh", "-c", 'while nbdcopy "$0" "$1"; do :; done', big, uri],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Killed once the writes are seen landing (a bounded poll of the daemon's volume).
        with open(big, "rb") as f:
            head = f.read(512)
        control = Control(control_path)
        deadline = time.monotonic() + 60
        while control.read("V", 0, 512) != head:
            self.assertLess(time.monotonic(), deadline, "nbdcopy's writes never reached the daemon")
            time.sleep(0.01)
        control.close()
        self.daemon.send_signal(signal.SIGKILL)
        self.daemon.wait()
        self.daemon = None
        try:
            writer.wait(timeout=60)
        except subprocess.TimeoutExpired:
            writer.kill()
            writer.wait()
        self.stop(server)
        self.servers.remove(server)
        control_path = self.start_daemon()
        exported = self.export_file(shadow, "shadow.img")
        with open(exported, "rb") as f:
            image = f.read()
        self.assertEqual(image[:8 * MIB], first)
        self.assertEqual(image[8 * MIB:], bytes(size - 8 * MIB))
        live = Control(control_path)
        try:
            now = live.read("V", 0, 4 * MIB)
        finally:
            live.close()
        # Each sector holds the flushed data or what nbdcopy was writing over it, never
        # anything else.
        with open(big, "rb") as f:
            later = f.read(4 * MIB)
        for sector in range(0, 4 * MIB, 512):
            piece = now[sector:sector + 512]
            self.assertIn(piece, (flushed[sector:sector + 512], later[sector:sector + 512]),
                          "sector at %d" % sector)


class DaemonBadClientTest(DaemonTest):
    """A bad client, on the control socket or through NBD, drops only itself."""

    def test_bad_clients_leave_the_daemon_serving_others(self):
        self.run_ff("volume", "create", "V", "--size", "4M")
        self.write("V", 0, self.rng.randbytes(MIB))
        control_path = self.start_daemon()
        shadow = self.snapshot_via_daemon("V")
        _, uri = self.start("store=" + self.store, "snapshot=" + shadow)
        good = self.path("good.img")
        self.tool("nbdcopy", uri, good)
        # Garbage on the control socket: an error reply (or a close), and nothing else.
        garbage = socket.socket(socket.AF_UNIX)
        garbage.connect(control_path)
        garbage.sendall(struct.pack("<I", 5) + b"{nope" + struct.pack("<I", 0xffffffff))
        garbage.settimeout(30)
        try:
            while garbage.recv(4096):
                pass
        except OSError:
            pass
        garbage.close()
        # A raw NBD client writing to the read-only export: refused, then garbage: dropped.
        client = NbdClient(uri.split("socket=")[1])
        error, _ = client.request(1, 0, 512, b"x" * 512)
        self.assertNotEqual(error, 0)
        client.sock.sendall(b"\x00" * 28)
        client.close()
        again = self.path("again.img")
        self.tool("nbdcopy", uri, again)
        with open(good, "rb") as f, open(again, "rb") as g:
            self.assertEqual(f.read(), g.read())
        self.assertIsNone(self.daemon.poll())


class DaemonNbdTest(DaemonTest):
    """`freezeframe serve --nbd`: the daemon's own nbdkit, every export by name on one
    socket, stopped with the daemon."""

    def uri(self, export):
        return "nbd+unix:///%s?socket=%s" % (urllib.parse.quote(export, safe=""), self.nbd_sock)

    def test_every_volume_and_snapshot_by_export_name(self):
        self.run_ff("volume", "create", "V", "--size", "8M")
        self.run_ff("volume", "create", "W", "--size", "4M", "--provider", "row")
        content = self.rng.randbytes(2 * MIB)
        self.write("V", 0, content)
        self.nbd_sock = self.path("n.sock")
        control_path = self.start_daemon("--nbd", "--nbd-socket", self.nbd_sock)
        self.daemon_log.seek(0)
        nbdkit_pid = int(self.daemon_log.read().split("nbdkit pid ")[1].split(")")[0])
        shadow = self.snapshot_via_daemon("V")
        listed = json.loads(self.tool("nbdinfo", "--list", "--json",
                                      "nbd+unix:///?socket=" + self.nbd_sock).stdout)
        names = sorted(e["export-name"] for e in listed["exports"])
        self.assertEqual(names, sorted(["V", "W", "V@" + shadow]), listed)
        # The snapshot by name: byte-identical to shadow export's image.
        exported = self.export_file(shadow, "shadow.img")
        copy = self.path("copy.img")
        self.tool("nbdcopy", self.uri("V@" + shadow), copy)
        with open(exported, "rb") as f, open(copy, "rb") as g:
            self.assertEqual(f.read(), g.read())
        # shadow expose --nbd, through the daemon: the URI of the same export.
        uri = self.run_ff("shadow", "expose", shadow, "--nbd").stdout.strip()
        self.assertTrue(uri.startswith("nbd+unix:///V%40" + shadow), uri)
        again = self.path("again.img")
        self.tool("nbdcopy", uri, again)
        with open(exported, "rb") as f, open(again, "rb") as g:
            self.assertEqual(f.read(), g.read())
        # The live volume by name, read-write; the default export is the first volume.
        self.tool("qemu-io", "-f", "raw", "-c", "write -P 0x77 %d %d" % (6 * MIB, CHUNK), "-c",
                  "flush", self.uri("V"))
        control = Control(control_path)
        try:
            self.assertEqual(control.read("V", 6 * MIB, CHUNK), b"\x77" * CHUNK)
        finally:
            control.close()
        info = json.loads(self.tool("nbdinfo", "--json",
                                    "nbd+unix:///?socket=" + self.nbd_sock).stdout)
        self.assertEqual(info["exports"][0]["export-size"], 8 * MIB, info)
        # changes-since by name: exactly the chunk written since the snapshot.
        runs = self.map_of(self.uri("V@changes-since=" + shadow))
        self.assertEqual([(r[0], r[1]) for r in runs if not r[2]], [(6 * MIB, CHUNK)], runs)
        # A bad name: the connection is refused with the reason; the others go on.
        bad = self.tool("nbdinfo", self.uri("nothing"), check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.tool("nbdinfo", self.uri("W"))
        # SIGTERM stops nbdkit with the daemon and removes its socket.
        self.assertEqual(self.stop_daemon(signal.SIGTERM), 0)
        self.assertFalse(os.path.exists(self.nbd_sock))
        self.assertFalse(os.path.exists("/proc/%d" % nbdkit_pid)
                         and open("/proc/%d/stat" % nbdkit_pid).read().split()[2] != "Z")


if __name__ == "__main__":
    args = sys.argv[1:]
    for flag in ("--binary", "--plugin"):
        if flag not in args:
            sys.exit("usage: nbd_daemon_test.py --binary FREEZEFRAME --plugin PLUGIN.so "
                     "[unittest args]")
        at = args.index(flag)
        value = os.path.abspath(args[at + 1])
        del args[at:at + 2]
        setattr(nbd_test, "BINARY" if flag == "--binary" else "PLUGIN", value)
    unittest.main(argv=[sys.argv[0]] + args, verbosity=2)
