// The daemon's control socket: accepts clients on a Unix socket and runs each one's requests
// (protocol.h) against the Daemon, one thread per client.
//
// The socket is created with mode 0600 (only the daemon's user may connect; docs/serve.md,
// "Security"). A stale socket file left by a daemon that died is replaced; a live one
// (another daemon answering) is refused with kBusy.
//
// A malformed frame gets an error reply naming the problem and the connection is closed (the
// stream cannot be resynchronised); a request that is well formed but invalid (unknown
// export, out of range, a write to a snapshot) gets an error reply and the connection stays.
//
// Thread-safety: run() on one thread, stop() from any other.
#pragma once

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "daemon.h"

namespace freezeframe::serve {

// The most clients served at once; more wait in the listen backlog.
inline constexpr std::size_t kClientsMax = 64;

class Server {
 public:
  static Result<std::unique_ptr<Server>> listen(Daemon& daemon,
                                                const std::filesystem::path& socket);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Accepts and serves clients until stop().
  void run();
  // Stops accepting (run() returns), disconnects every client and waits for their threads.
  // The destructor stops too, then removes the socket; the thread of run() must have been
  // joined by then.
  void stop();

 private:
  Server(Daemon& daemon, std::filesystem::path path, int fd)
      : daemon_(daemon), path_(std::move(path)), fd_(fd) {}
  void serve_client(int fd);

  Daemon& daemon_;
  std::filesystem::path path_;
  int fd_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable client_ended_;
  std::map<int, std::thread> clients_;  // by descriptor
  std::vector<std::thread> finished_;   // clients that ended, joined by the next accept
};

}  // namespace freezeframe::serve
