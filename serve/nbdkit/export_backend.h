// ExportBackend: what an NBD export reads, writes and reports, as byte ranges.
//
// The nbdkit plugin (plugin.cpp) speaks only to this interface. LocalStoreBackend
// (local_store_backend.h) opens a store itself and serves through the volume's provider stack;
// DaemonBackend (daemon_backend.h) forwards every request to the `freezeframe serve` daemon's
// socket.
//
// Requests: byte offsets and lengths with no alignment required (NBD clients may send any);
// nbdkit has already checked that each lies within [0, size_bytes()). A backend whose device
// works in sectors aligns them itself (a read-modify-write for an unaligned write).
//
// Thread-safety: every method may be called concurrently from any number of threads (nbdkit's
// parallel thread model); overlapping writes leave each byte holding one of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "export_map.h"
#include "freezeframe/status.h"

namespace freezeframe::nbd {

// One run of the export's map, as NBD's base:allocation context reports it (export_map.h). A
// changes-since export sets hole and zero on every unchanged run (see docs/nbd.md): it is a
// map of what changed.
using ExportExtent = serve::MapRun;

class ExportBackend {
 public:
  virtual ~ExportBackend() = default;

  // What is exported, for messages: "volume 'data' of store /srv/ff".
  virtual const std::string& description() const noexcept = 0;
  virtual std::uint64_t size_bytes() const noexcept = 0;
  virtual bool writable() const noexcept = 0;
  // The request size that costs least (a provider's chunk): NBD's preferred block size.
  virtual std::uint32_t preferred_bytes() const noexcept = 0;

  virtual Status read(std::uint64_t offset, std::span<std::byte> out) = 0;
  virtual Status write(std::uint64_t offset, std::span<const std::byte> data) = 0;
  // Every write, trim and zero completed before the call is durable when it returns OK.
  virtual Status flush() = 0;
  // The range may read as anything it held or as zeros afterwards (NBD trim); this backend's
  // trims read as zeros.
  virtual Status trim(std::uint64_t offset, std::uint64_t length) = 0;
  // The range reads as zeros afterwards. With `may_trim` its space may be released (a
  // discard); without, zeros are written so the range stays allocated.
  virtual Status zero(std::uint64_t offset, std::uint64_t length, bool may_trim) = 0;
  // The map of [offset, offset + length): contiguous runs starting at `offset`. It may stop
  // short of the end (the caller asks again for the rest) but covers at least one byte.
  virtual Result<std::vector<ExportExtent>> extents(std::uint64_t offset, std::uint64_t length) = 0;

 protected:
  ExportBackend() = default;
};

}  // namespace freezeframe::nbd
