// DaemonBackend: an export served by the `freezeframe serve` daemon of the store, reached over
// its control socket (docs/serve.md, "Control protocol"). The daemon holds the store open and
// stays its only writer; this backend forwards every request: read, write, flush, trim, zero
// and the map (`extents`, with `since` for a changes-since export).
//
// Connections: the protocol answers one request at a time per connection, so the backend keeps
// a pool: each request takes an idle connection (or opens one), and gives it back after the
// reply. nbdkit's threads thus each use a connection of their own, as many as run at once
// (at most kDaemonConnectionsMax are kept idle). A connection that failed in transport is
// dropped, never reused.
//
// What is exported (the ExportSpec's fields, its store ignored): `volume` is the daemon's export
// "NAME" (read-write); `snapshot` is "NAME@ID" (read-only), NAME found from the daemon's list
// when not given. The size and read-only flag are the daemon's; writes to a snapshot are
// refused by the daemon too.
//
// Thread-safety: as ExportBackend.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connection.h"
#include "export_backend.h"
#include "local_store_backend.h"

namespace freezeframe::nbd {

inline constexpr std::size_t kDaemonConnectionsMax = 64;

// Opens the export that `spec` names through the daemon answering on `socket`; `connection` is
// a connection to it already made (the first of the pool). Errors name the socket and the
// export: an unknown volume or snapshot, a protocol version the plugin does not speak, a
// changes-since id the daemon cannot answer.
Result<std::unique_ptr<ExportBackend>> open_daemon_backend(serve::Connection connection,
                                                           const std::filesystem::path& socket,
                                                           const ExportSpec& spec);

// Every export of the daemon on `socket`, for nbdkit's list of exports: each name ("NAME" for a
// live volume, "NAME@ID" for a snapshot) and a description. kNotFound when no daemon answers.
Result<std::vector<std::pair<std::string, std::string>>> list_daemon_exports(
    const std::filesystem::path& socket);
// The export a client gets when it names none: the daemon's first live volume (by name).
// kNotFound when the daemon serves no volume.
Result<std::string> default_daemon_export(const std::filesystem::path& socket);
// What an NBD export name asks for: "NAME", "NAME@SNAPSHOTID", and either with
// "@changes-since=ID" after it (ID a change id or a snapshot id). kInvalidArgument naming
// the name when it is none of these.
Result<ExportSpec> export_spec_from_name(std::string_view name);
// Opens the export an NBD client named through the daemon on `socket`.
Result<std::unique_ptr<ExportBackend>> open_daemon_export(const std::filesystem::path& socket,
                                                          std::string_view name);

}  // namespace freezeframe::nbd
