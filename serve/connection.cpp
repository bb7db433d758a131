// Frame I/O over Unix sockets (connection.h).
#include "connection.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace freezeframe::serve {

namespace {

std::string errno_text(int error) {
  return std::strerror(error);
}

}  // namespace

Result<Connection> Connection::connect(const std::filesystem::path& socket_path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string text = socket_path.string();
  if (text.size() >= sizeof(address.sun_path))
    return invalid_argument("socket path '" + text + "' is longer than " +
                            std::to_string(sizeof(address.sun_path) - 1) + " bytes");
  std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return io_error("socket: " + errno_text(errno));
  Connection connection(fd);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    int error = errno;
    if (error == ENOENT || error == ECONNREFUSED || error == ENOTDIR)
      return not_found("no daemon listens on '" + text + "': " + errno_text(error));
    return io_error("cannot connect to '" + text + "': " + errno_text(error));
  }
  return connection;
}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

Connection::~Connection() {
  if (fd_ >= 0)
    ::close(fd_);
}

Status Connection::send(std::span<const std::byte> bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return io_error("control socket send: " + errno_text(errno));
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
  return Status();
}

Status Connection::send(const std::string& bytes) {
  return send(std::as_bytes(std::span(bytes.data(), bytes.size())));
}

Status Connection::receive(std::span<std::byte> out) {
  while (!out.empty()) {
    ssize_t n = ::recv(fd_, out.data(), out.size(), 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return io_error("control socket receive: " + errno_text(errno));
    if (n == 0)
      return io_error("control socket: the peer closed the connection inside a frame");
    out = out.subspan(static_cast<std::size_t>(n));
  }
  return Status();
}

Result<std::optional<std::vector<std::byte>>> Connection::receive_header() {
  std::array<std::byte, kPrefixBytes> prefix{};
  ssize_t n = 0;
  do {
    n = ::recv(fd_, prefix.data(), prefix.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n == 0)
    return std::optional<std::vector<std::byte>>();
  if (n < 0)
    return io_error("control socket receive: " + errno_text(errno));
  FF_TRY(receive(std::span(prefix).subspan(static_cast<std::size_t>(n))));
  FF_ASSIGN_OR_RETURN(std::uint32_t bytes, decode_prefix(prefix));
  std::vector<std::byte> header(bytes);
  FF_TRY(receive(header));
  return std::optional<std::vector<std::byte>>(std::move(header));
}

Result<Reply> Connection::receive_reply() {
  FF_ASSIGN_OR_RETURN(auto header, receive_header());
  if (!header)
    return io_error("the daemon closed the connection without replying");
  return decode_reply(*header);
}

Result<Reply> Connection::call(const Request& request, std::span<const std::byte> data,
                               std::vector<std::byte>* data_out) {
  if (data.size() != request_data_bytes(request))
    return invalid_argument("a '" + std::string(op_name(request.op)) + "' request of length " +
                            std::to_string(request.length) + " carries " +
                            std::to_string(data.size()) + " data bytes");
  FF_TRY(send(encode_request(request)));
  FF_TRY(send(data));
  FF_ASSIGN_OR_RETURN(Reply reply, receive_reply());
  std::uint64_t bytes = reply_data_bytes(request, reply);
  if (bytes != 0) {
    std::vector<std::byte> buffer(bytes);
    FF_TRY(receive(buffer));
    if (data_out != nullptr)
      *data_out = std::move(buffer);
  }
  return reply;
}

Result<Reply> Connection::call_into(const Request& request, std::span<std::byte> read_into) {
  FF_TRY(send(encode_request(request)));
  FF_ASSIGN_OR_RETURN(Reply reply, receive_reply());
  std::uint64_t bytes = reply_data_bytes(request, reply);
  if (bytes != 0) {
    if (bytes != read_into.size())
      return io_error("the daemon answered a read of " + std::to_string(read_into.size()) +
                      " bytes with " + std::to_string(bytes));
    FF_TRY(receive(read_into));
  }
  return reply;
}

std::filesystem::path default_socket_path(const std::filesystem::path& store_dir) {
  return store_dir / "serve.sock";
}

}  // namespace freezeframe::serve
