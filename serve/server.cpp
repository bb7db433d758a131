// The control socket (server.h).
#include "server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "connection.h"

namespace freezeframe::serve {

Result<std::unique_ptr<Server>> Server::listen(Daemon& daemon,
                                               const std::filesystem::path& socket_path) {
  const std::string text = socket_path.string();
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (text.size() >= sizeof(address.sun_path))
    return invalid_argument("socket path '" + text + "' is longer than " +
                            std::to_string(sizeof(address.sun_path) - 1) + " bytes");
  std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
  struct stat st {};
  if (::lstat(text.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return already_exists("'" + text + "' exists and is not a socket; not replaced");
    if (Connection::connect(socket_path).ok())
      return busy("another daemon listens on '" + text + "'");
    if (::unlink(text.c_str()) != 0)
      return io_error("cannot remove the stale socket '" + text + "': " + std::strerror(errno));
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return io_error(std::string("socket: ") + std::strerror(errno));
  // Owner only from the start: no moment where another user could connect.
  mode_t old_mask = ::umask(0177);
  int bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  int bind_error = errno;
  ::umask(old_mask);
  if (bound != 0 || ::chmod(text.c_str(), 0600) != 0 || ::listen(fd, 16) != 0) {
    int error = bound != 0 ? bind_error : errno;
    ::close(fd);
    return io_error("cannot listen on '" + text + "': " + std::strerror(error));
  }
  return std::unique_ptr<Server>(new Server(daemon, socket_path, fd));
}

Server::~Server() {
  stop();
  ::close(fd_);
  ::unlink(path_.c_str());
}

void Server::run() {
  while (!stopping_) {
    int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        continue;  // transient; the client retries
      break;       // the socket was shut down by stop()
    }
    std::vector<std::thread> done;
    std::lock_guard lock(mutex_);
    done.swap(finished_);
    if (stopping_ || clients_.size() >= kClientsMax) {
      ::close(client);
    } else {
      clients_.emplace(client, std::thread([this, client] { serve_client(client); }));
    }
    for (std::thread& thread : done)
      thread.join();
  }
}

void Server::serve_client(int fd) {
  Connection connection(fd);
  std::vector<std::byte> data;
  std::vector<std::byte> out;
  while (!stopping_) {
    auto header = connection.receive_header();
    if (!header.ok()) {
      Reply reply;
      reply.code = header.status().code();
      reply.message = header.status().message();
      (void)connection.send(encode_reply(reply)).ok();
      break;
    }
    if (!header->has_value())
      break;
    auto request = decode_request(**header);
    if (!request.ok()) {
      Reply reply;
      reply.code = request.status().code();
      reply.message = request.status().message();
      // The header was a whole frame: the stream is still in step, so the client may go on.
      if (!connection.send(encode_reply(reply)).ok())
        break;
      continue;
    }
    data.resize(request_data_bytes(*request));
    if (!connection.receive(data).ok())
      break;
    out.clear();
    Reply reply = daemon_.handle(*request, data, out);
    if (!connection.send(encode_reply(reply)).ok())
      break;
    if (reply_data_bytes(*request, reply) != 0 && !connection.send(out).ok())
      break;
  }
  // The descriptor is closed by `connection`; the thread is joined by run() or stop().
  std::lock_guard lock(mutex_);
  auto it = clients_.find(fd);
  if (it != clients_.end()) {
    finished_.push_back(std::move(it->second));
    clients_.erase(it);
  }
  client_ended_.notify_all();
}

void Server::stop() {
  if (stopping_.exchange(true))
    return;
  ::shutdown(fd_, SHUT_RDWR);
  std::unique_lock lock(mutex_);
  for (auto& [fd, thread] : clients_)
    ::shutdown(fd, SHUT_RDWR);
  // Clients end by themselves once their sockets are shut down.
  client_ended_.wait(lock, [this] { return clients_.empty(); });
  std::vector<std::thread> threads;
  threads.swap(finished_);
  lock.unlock();
  for (std::thread& thread : threads)
    thread.join();
}

}  // namespace freezeframe::serve
