// The core of `freezeframe serve`: a store held open for the daemon's life, its volumes'
// provider stacks, and the exports they give (docs/serve.md).
//
// Exports: every usable volume is exported read-write under its name, through its provider
// when it has shadow storage (so every write is tracked) and straight to its image when it
// has none; every active snapshot of every volume is exported read-only as "NAME@ID".
//
// Requests (protocol.h) and the FUSE file system (fuse_export.h) both go through handle()
// and the I/O methods here. Byte ranges need not be sector-aligned: a partial sector is read
// whole and, for a write, merged (read-modify-write, serialised per daemon so that two
// partial writes to one sector cannot lose each other).
//
// Concurrency: I/O from any number of threads runs concurrently (the provider stacks are
// thread-safe, snapshot_provider.h). A forwarded command (`shadow create` ...) runs alone: it
// takes the exports exclusively, so the volumes' I/O waits until it is done (writes are held
// across a snapshot set's creation), then the exports are rebuilt from the store. exports()
// and export_info() never wait for a command (they answer from the list as it was before
// it), so looking up a file of the FUSE export cannot deadlock with a command that looks at
// it.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "protocol.h"
#include "store.h"

namespace freezeframe::serve {

class Daemon {
 public:
  // Opens the store for writing (kBusy when another command or daemon holds it), and every
  // volume; a volume that cannot be opened is reported on `log` and not exported.
  static Result<std::unique_ptr<Daemon>> open(const std::filesystem::path& store_dir,
                                              std::ostream& log);
  // Flushes every live volume (as stop() does) and closes the store.
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  const std::filesystem::path& store_dir() const { return store_dir_; }

  // One request of the control protocol; `data` is a write's payload, `out` receives a
  // read's. Never fails as a whole: errors are replies.
  Reply handle(const Request& request, std::span<const std::byte> data,
               std::vector<std::byte>& out);

  std::vector<ExportInfo> exports() const;
  Result<ExportInfo> export_info(const std::string& name) const;
  // Byte-range I/O on an export (any alignment). kNotFound for an unknown export, kReadOnly
  // for a change to a snapshot, kInvalidArgument naming the range when it is out of range.
  Status read(const std::string& name, std::uint64_t offset, std::span<std::byte> out);
  Status write(const std::string& name, std::uint64_t offset, std::span<const std::byte> data);
  Status flush(const std::string& name);
  // Discards the sectors wholly inside the range (reads back as zeros); partial sectors at
  // its ends are left alone, as a discard is only advice.
  Status trim(const std::string& name, std::uint64_t offset, std::uint64_t length);
  // The range reads back as zeros afterwards.
  Status zero(const std::string& name, std::uint64_t offset, std::uint64_t length);
  // The map of [offset, offset + length) (export_map.h): with `since` empty, allocation (a run
  // unallocated only where it reads as zeros and the image holds no data); else what changed
  // since `since` (a change id or a snapshot of the volume). Contiguous runs from `offset`, at
  // most kExtentRunsMax, possibly short of the end. kInvalidArgument for a `since` that cannot
  // be answered, with the reason.
  Result<std::vector<ExtentInfo>> extents(const std::string& name, std::uint64_t offset,
                                          std::uint64_t length, const std::string& since);
  // Flushes every live volume.
  Status flush_all();

  // What forwarded commands use to present snapshots as files of their own (`shadow expose`;
  // Context::present_file, withdraw_file), and what runs after each command once the exports
  // are free again (to finish what withdraw started). Set before any request.
  void set_file_hooks(
      std::function<Status(const std::string&, const std::filesystem::path&)> present,
      std::function<Status(const std::filesystem::path&)> withdraw,
      std::function<void()> after_command);
  // What forwarded commands use for `shadow expose --nbd`: the NBD URI of an export. Set
  // before any request (by `serve --nbd`).
  void set_nbd_uri(std::function<std::string(const std::string&)> nbd_uri) {
    nbd_uri_ = std::move(nbd_uri);
  }
  // The exposures the store records whose snapshot is exported: export name and path.
  std::vector<std::pair<std::string, std::filesystem::path>> recorded_exposures() const;

 private:
  struct Export {
    ExportInfo info;
    Volume* live = nullptr;             // a live volume: the store's open volume
    std::unique_ptr<Volume> snapshot;   // a snapshot: its read-only volume
    cli::OpenVolume* opened = nullptr;  // the volume (its provider), for the map
    std::optional<SnapshotInfo> snapshot_info;
    std::filesystem::path image;  // the volume's image file; empty when unknown
    Volume& volume() { return snapshot ? *snapshot : *live; }
  };

  Daemon(std::filesystem::path dir, std::unique_ptr<cli::Store> store, std::ostream& log)
      : store_dir_(std::move(dir)), store_(std::move(store)), log_(log) {}
  // Rebuilds exports_ (and info_) from the store. Exclusive lock held.
  void rebuild();
  // The canonical form of an export name: "NAME@ID" with the id in lower case, no braces.
  static std::string canonical_name(const std::string& name);
  // The export, the lock shared held by the caller.
  Result<Export*> find(const std::string& name);
  Status check_range(const Export& e, const char* operation, std::uint64_t offset,
                     std::uint64_t length) const;
  Status read_locked(Export& e, std::uint64_t offset, std::span<std::byte> out);
  Status write_locked(Export& e, std::uint64_t offset, std::span<const std::byte> data);
  Reply run_command(const Request& request);
  Reply run_command_locked(const Request& request);

  std::filesystem::path store_dir_;
  std::unique_ptr<cli::Store> store_;
  std::ostream& log_;
  mutable std::shared_mutex mutex_;  // exports_: shared for I/O, exclusive for commands
  std::map<std::string, Export> exports_;
  mutable std::mutex info_mutex_;  // info_
  std::map<std::string, ExportInfo> info_;
  std::mutex partial_mutex_;  // read-modify-write of partial sectors
  std::function<Status(const std::string&, const std::filesystem::path&)> present_file_;
  std::function<Status(const std::filesystem::path&)> withdraw_file_;
  std::function<void()> after_command_;
  std::function<std::string(const std::string&)> nbd_uri_;
};

}  // namespace freezeframe::serve
