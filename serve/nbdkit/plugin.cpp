// The nbdkit plugin `freezeframe`: exports a volume (read-write) or a snapshot (read-only) of a
// freezeframe store over NBD. Parameters, the map it reports and the process model are in
// docs/nbd.md.
//
//   nbdkit freezeframe store=DIR volume=NAME [snapshot=ID] [changes-since=CHANGEID|SNAPSHOT]
//                      [socket=PATH]
//
// nbdkit's own work (the protocol, structured replies, multi-connection, TLS, request bounds)
// stays nbdkit's; this file turns its callbacks into ExportBackend calls, and Status codes into
// errno values.
//
// Threads: NBDKIT_THREAD_MODEL_PARALLEL. Every connection shares one backend, opened once in
// get_ready (so a bad parameter or a locked store stops nbdkit before it serves anything):
// the daemon's (DaemonBackend, a pool of control connections) when a `freezeframe serve`
// daemon serves the store, else the store opened here (LocalStoreBackend, whose provider stack
// is safe for any number of threads, snapshot_provider.h).
#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "connection.h"
#include "daemon_backend.h"
#include "export_backend.h"
#include "local_store_backend.h"

#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL

namespace {

using freezeframe::ErrorCode;
using freezeframe::Status;
using freezeframe::nbd::ExportBackend;
using freezeframe::nbd::ExportSpec;

ExportSpec spec;
// socket=PATH: the serve daemon to forward to (then it must answer there).
std::string daemon_socket;
std::unique_ptr<ExportBackend> backend;

int errno_of(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return EINVAL;
    case ErrorCode::kReadOnly:
      return EROFS;
    case ErrorCode::kNoSpace:
    case ErrorCode::kLimitExceeded:
      return ENOSPC;
    case ErrorCode::kBusy:
      return EBUSY;
    case ErrorCode::kUnsupported:
      return ENOTSUP;
    default:
      return EIO;
  }
}

// nbdkit's convention: 0, or -1 after nbdkit_error (which also sets the errno sent).
int report(const Status& status) {
  if (status.ok())
    return 0;
  nbdkit_error("%s", status.message().c_str());
  nbdkit_set_error(errno_of(status.code()));
  return -1;
}

int ff_config(const char* key, const char* value) {
  const std::string name = key;
  std::string* field = nullptr;
  if (name == "store")
    field = nullptr;
  else if (name == "volume")
    field = &spec.volume;
  else if (name == "snapshot")
    field = &spec.snapshot;
  else if (name == "changes-since")
    field = &spec.changes_since;
  else if (name == "socket")
    field = &daemon_socket;
  else {
    nbdkit_error(
        "freezeframe: unknown parameter '%s' (known: store, volume, snapshot, "
        "changes-since, socket)",
        key);
    return -1;
  }
  if (value[0] == '\0') {
    nbdkit_error("freezeframe: %s= needs a value", key);
    return -1;
  }
  if (field == nullptr) {
    char* absolute = nbdkit_absolute_path(value);
    if (absolute == nullptr)
      return -1;
    spec.store = absolute;
    std::free(absolute);
  } else if (field == &daemon_socket) {
    char* absolute = nbdkit_absolute_path(value);
    if (absolute == nullptr)
      return -1;
    daemon_socket = absolute;
    std::free(absolute);
  } else {
    *field = value;
  }
  return 0;
}

int ff_config_complete() {
  if (spec.store.empty() && daemon_socket.empty()) {
    nbdkit_error(
        "freezeframe: store=DIR is required (the freezeframe store to serve from), or "
        "socket=PATH (its serve daemon's socket)");
    return -1;
  }
  return 0;
}

// The serve daemon of the store, when one answers: at socket=PATH (which must answer), else at
// the store's DIR/serve.sock. nullopt when no daemon listens there.
std::optional<freezeframe::Result<std::unique_ptr<ExportBackend>>> open_through_daemon() {
  const std::filesystem::path socket = daemon_socket.empty()
                                           ? freezeframe::serve::default_socket_path(spec.store)
                                           : std::filesystem::path(daemon_socket);
  auto connection = freezeframe::serve::Connection::connect(socket);
  if (!connection.ok()) {
    if (connection.status().code() == ErrorCode::kNotFound && daemon_socket.empty())
      return std::nullopt;
    return connection.status().with_context("freezeframe: socket=" + socket.string());
  }
  return freezeframe::nbd::open_daemon_backend(std::move(connection).value(), socket, spec);
}

// Neither volume= nor snapshot=: every export of the daemon, by the name each client asks for.
int every_daemon_export() {
  if (daemon_socket.empty())
    daemon_socket = freezeframe::serve::default_socket_path(spec.store).string();
  auto names = freezeframe::nbd::list_daemon_exports(daemon_socket);
  if (!names.ok()) {
    if (names.status().code() == ErrorCode::kNotFound)
      nbdkit_error(
          "freezeframe: give volume=NAME (the live volume, read-write), snapshot=ID "
          "(read-only), or both; every export at once is served only through a running "
          "'freezeframe serve' daemon (%s)",
          names.status().message().c_str());
    else
      report(names.status());
    return -1;
  }
  nbdkit_debug("freezeframe: serving the %zu exports of the daemon on %s", names->size(),
               daemon_socket.c_str());
  return 0;
}

int ff_get_ready() {
  if (spec.volume.empty() && spec.snapshot.empty())
    return every_daemon_export();
  // A store its daemon serves is used only through the daemon, its only writer; without one
  // the plugin opens the store itself, with the store's lock.
  if (auto forwarded = open_through_daemon()) {
    if (!forwarded->ok())
      return report(forwarded->status());
    backend = std::move(*forwarded).value();
    nbdkit_debug("freezeframe: serving %s", backend->description().c_str());
    return 0;
  }
  auto opened = freezeframe::nbd::open_local_store_backend(spec);
  if (!opened.ok())
    return report(opened.status());
  backend = std::move(opened).value();
  nbdkit_debug("freezeframe: serving %s", backend->description().c_str());
  return 0;
}

void ff_unload() {
  if (backend && backend->writable())
    backend->flush().ignore_error();  // clients flush what they need; this is a courtesy
  backend.reset();
}

ExportBackend* of(void* handle) {
  return static_cast<ExportBackend*>(handle);
}

void* ff_open(int /*readonly*/) {
  if (backend)
    return backend.get();  // one export: one backend for every connection
  // Every export of the daemon: the one this client names.
  const char* name = nbdkit_export_name();
  std::string wanted = name == nullptr ? std::string() : std::string(name);
  if (wanted.empty()) {
    auto fallback = freezeframe::nbd::default_daemon_export(daemon_socket);
    if (!fallback.ok()) {
      report(fallback.status());
      return nullptr;
    }
    wanted = *fallback;
  }
  auto opened = freezeframe::nbd::open_daemon_export(daemon_socket, wanted);
  if (!opened.ok()) {
    report(opened.status());
    return nullptr;
  }
  return std::move(opened).value().release();
}

void ff_close(void* handle) {
  if (handle != backend.get())
    delete of(handle);
}

int ff_list_exports(int /*readonly*/, int /*is_tls*/, struct nbdkit_exports* exports) {
  if (backend)
    return nbdkit_use_default_export(exports);
  auto names = freezeframe::nbd::list_daemon_exports(daemon_socket);
  if (!names.ok())
    return report(names.status());
  for (const auto& [name, description] : *names)
    if (nbdkit_add_export(exports, name.c_str(), description.c_str()) == -1)
      return -1;
  return 0;
}

const char* ff_default_export(int /*readonly*/, int /*is_tls*/) {
  if (backend)
    return "";
  auto name = freezeframe::nbd::default_daemon_export(daemon_socket);
  if (!name.ok()) {
    report(name.status());
    return nullptr;
  }
  return nbdkit_strdup_intern(name->c_str());
}

int64_t ff_get_size(void* handle) {
  return static_cast<int64_t>(of(handle)->size_bytes());
}

int ff_can_write(void* handle) {
  return of(handle)->writable() ? 1 : 0;
}
int ff_can_flush(void* /*handle*/) {
  return 1;
}
int ff_can_trim(void* handle) {
  return of(handle)->writable() ? 1 : 0;
}
int ff_can_zero(void* handle) {
  return of(handle)->writable() ? 1 : 0;
}
// A zero request with may_trim is a discard, never slower than writing zeros; one without it
// writes zeros, so a fast-zero request without may_trim is refused at once (ENOTSUP).
int ff_can_fast_zero(void* handle) {
  return of(handle)->writable() ? 1 : 0;
}
int ff_can_fua(void* /*handle*/) {
  return NBDKIT_FUA_EMULATE;
}
// Every connection shares one provider stack: a flush on one makes every connection's
// completed writes durable.
int ff_can_multi_conn(void* /*handle*/) {
  return 1;
}
int ff_can_extents(void* /*handle*/) {
  return 1;
}

int ff_block_size(void* handle, uint32_t* minimum, uint32_t* preferred, uint32_t* maximum) {
  *minimum = 1;  // unaligned requests are served (read-modify-write)
  *preferred = std::max<uint32_t>(of(handle)->preferred_bytes(), 4096);
  *maximum = 0xffffffff;
  return 0;
}

int ff_pread(void* handle, void* buffer, uint32_t count, uint64_t offset, uint32_t /*flags*/) {
  return report(of(handle)->read(offset, {static_cast<std::byte*>(buffer), count}));
}

int ff_pwrite(void* handle, const void* buffer, uint32_t count, uint64_t offset,
              uint32_t /*flags: FUA is emulated by nbdkit with a flush*/) {
  return report(of(handle)->write(offset, {static_cast<const std::byte*>(buffer), count}));
}

int ff_flush(void* handle, uint32_t /*flags*/) {
  return report(of(handle)->flush());
}

int ff_trim(void* handle, uint32_t count, uint64_t offset, uint32_t /*flags*/) {
  return report(of(handle)->trim(offset, count));
}

int ff_zero(void* handle, uint32_t count, uint64_t offset, uint32_t flags) {
  const bool may_trim = (flags & NBDKIT_FLAG_MAY_TRIM) != 0;
  if ((flags & NBDKIT_FLAG_FAST_ZERO) != 0 && !may_trim) {
    nbdkit_set_error(ENOTSUP);
    return -1;
  }
  return report(of(handle)->zero(offset, count, may_trim));
}

int ff_extents(void* handle, uint32_t count, uint64_t offset, uint32_t flags,
               struct nbdkit_extents* extents) {
  auto map = of(handle)->extents(offset, count);
  if (!map.ok())
    return report(map.status());
  for (const auto& run : *map) {
    uint32_t type = (run.hole ? NBDKIT_EXTENT_HOLE : 0) | (run.zero ? NBDKIT_EXTENT_ZERO : 0);
    if (nbdkit_add_extent(extents, run.offset, run.length, type) == -1)
      return -1;
    if ((flags & NBDKIT_FLAG_REQ_ONE) != 0)
      break;
  }
  return 0;
}

nbdkit_plugin make_plugin() {
  nbdkit_plugin p{};
  p.name = "freezeframe";
  p.longname = "freezeframe volume and snapshot export";
  p.version = "0.1.0";
  p.description =
      "Exports a freezeframe volume (read-write, through its CoW or RoW provider) or a snapshot "
      "(read-only).";
  p.config = ff_config;
  p.config_complete = ff_config_complete;
  p.config_help =
      "store=DIR              (required) the freezeframe store\n"
      "volume=NAME            the live volume, read-write (locks the store exclusively)\n"
      "snapshot=ID            a snapshot, read-only (locks the store shared)\n"
      "changes-since=ID       map only what changed since a change id or snapshot\n"
      "socket=PATH            forward to the serve daemon on PATH (default: DIR/serve.sock\n"
      "                       when a daemon answers there; else the store is opened here)\n"
      "Without volume= and snapshot=, every export of the daemon is served, by export name:\n"
      "NAME, NAME@SNAPSHOTID, NAME@changes-since=CHANGEID, NAME@SNAPSHOTID@changes-since=ID";
  p.magic_config_key = "volume";
  p.get_ready = ff_get_ready;
  p.unload = ff_unload;
  p.open = ff_open;
  p.close = ff_close;
  p.list_exports = ff_list_exports;
  p.default_export = ff_default_export;
  p.get_size = ff_get_size;
  p.can_write = ff_can_write;
  p.can_flush = ff_can_flush;
  p.can_trim = ff_can_trim;
  p.can_zero = ff_can_zero;
  p.can_fast_zero = ff_can_fast_zero;
  p.can_fua = ff_can_fua;
  p.can_multi_conn = ff_can_multi_conn;
  p.can_extents = ff_can_extents;
  p.block_size = ff_block_size;
  p.pread = ff_pread;
  p.pwrite = ff_pwrite;
  p.flush = ff_flush;
  p.trim = ff_trim;
  p.zero = ff_zero;
  p.extents = ff_extents;
  return p;
}

nbdkit_plugin plugin = make_plugin();

}  // namespace

NBDKIT_REGISTER_PLUGIN(plugin)
