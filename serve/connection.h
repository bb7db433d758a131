// Blocking frame I/O over a Unix stream socket, for both sides of the serve control protocol
// (protocol.h): the daemon's connection threads and clients (the freezeframe command, tests,
// the nbdkit plugin).
//
// Thread-safety: a Connection is used by one thread at a time.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol.h"

namespace freezeframe::serve {

class Connection {
 public:
  // Connects to the daemon's socket. kNotFound when no daemon listens there (no socket, or
  // a stale one: connection refused); kIoError for other failures.
  static Result<Connection> connect(const std::filesystem::path& socket);
  explicit Connection(int fd) : fd_(fd) {}
  Connection(Connection&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  int fd() const { return fd_; }
  Status send(std::span<const std::byte> bytes);
  Status send(const std::string& bytes);
  Status receive(std::span<std::byte> out);
  // The next frame's header, or nullopt when the peer closed the connection before a frame.
  Result<std::optional<std::vector<std::byte>>> receive_header();

  // Client side: sends `request` (and `data`, a write's payload) and returns the reply; a
  // read's data lands in `data_out`.
  Result<Reply> call(const Request& request, std::span<const std::byte> data = {},
                     std::vector<std::byte>* data_out = nullptr);
  // The same for a read whose data lands straight in `read_into` (no buffer of its own);
  // kIoError when the daemon answers with another length.
  Result<Reply> call_into(const Request& request, std::span<std::byte> read_into);

 private:
  // Client side: the reply's header, decoded (a closed connection is kIoError).
  Result<Reply> receive_reply();

  int fd_ = -1;
};

// Where the daemon of store `dir` listens unless told otherwise.
std::filesystem::path default_socket_path(const std::filesystem::path& store_dir);

}  // namespace freezeframe::serve
