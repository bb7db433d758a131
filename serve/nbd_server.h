// `freezeframe serve --nbd`: the daemon's NBD export, an nbdkit process it starts with the
// freezeframe plugin forwarding to the daemon's control socket (docs/nbd.md, "Every export
// through the daemon"). One nbdkit serves every live volume and snapshot of the daemon on one
// Unix socket, chosen by NBD export name: NAME, NAME@SNAPSHOTID, NAME@changes-since=ID.
//
// nbdkit runs with --exit-with-parent, so it ends with the daemon even on SIGKILL; stop() (and
// the destructor) send it SIGTERM and wait for it, SIGKILL after kNbdStopMsMax.
//
// Thread-safety: one owner.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <ostream>
#include <string>

#include "freezeframe/status.h"

namespace freezeframe::serve {

inline constexpr int kNbdStartMsMax = 30'000;
inline constexpr int kNbdStopMsMax = 10'000;

class NbdServer {
 public:
  // Starts nbdkit (found on PATH) with `plugin` (a path, or the name nbdkit looks up in its
  // plugin directory), listening on `nbd_socket`, forwarding to `control_socket`; returns once
  // the socket accepts connections. Errors name nbdkit, the plugin and the socket: nbdkit not
  // installed, nbdkit exiting at start (its messages are on the daemon's standard error), no
  // socket within kNbdStartMsMax.
  static Result<std::unique_ptr<NbdServer>> start(const std::string& plugin,
                                                  const std::filesystem::path& nbd_socket,
                                                  const std::filesystem::path& control_socket);
  ~NbdServer();
  NbdServer(const NbdServer&) = delete;
  NbdServer& operator=(const NbdServer&) = delete;

  // The URI of one export: nbd+unix:///NAME?socket=PATH (NAME percent-encoded).
  std::string uri(const std::string& export_name) const;
  const std::filesystem::path& socket() const { return socket_; }
  pid_t pid() const { return pid_; }
  // SIGTERM, then waits; kIoError when nbdkit did not exit cleanly.
  Status stop();

 private:
  NbdServer(pid_t pid, std::filesystem::path socket) : pid_(pid), socket_(std::move(socket)) {}
  pid_t pid_;
  std::filesystem::path socket_;
};

// The plugin `serve --nbd` uses by default: the one built beside this executable (a build
// tree), else the installed one, else the name "freezeframe" for nbdkit's plugin directory.
std::string default_nbd_plugin();

// An NBD URI for `export_name` on the Unix socket `socket`.
std::string nbd_uri(const std::string& export_name, const std::filesystem::path& socket);

}  // namespace freezeframe::serve
