// The daemon's nbdkit process (nbd_server.h).
#include "nbd_server.h"

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "freezeframe/process.h"

extern char** environ;

namespace freezeframe::serve {

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(20);

bool accepts(const std::filesystem::path& socket) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string text = socket.string();
  if (text.size() >= sizeof(address.sun_path))
    return false;
  std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return ok;
}

// Waits up to `ms_max` for `pid` to exit; its wait status, or -1 if it still runs.
int wait_for(pid_t pid, int ms_max) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms_max);
  for (;;) {
    int status = 0;
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid)
      return status;
    if (done < 0 && errno != EINTR)
      return 0;  // not our child any more: nothing to wait for
    if (std::chrono::steady_clock::now() >= deadline)
      return -1;
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace

Result<std::unique_ptr<NbdServer>> NbdServer::start(const std::string& plugin,
                                                    const std::filesystem::path& nbd_socket,
                                                    const std::filesystem::path& control_socket) {
  auto nbdkit = find_program("nbdkit");
  if (!nbdkit.ok())
    return nbdkit.status().with_context(
        "serve --nbd: nbdkit is needed (Debian: apt install nbdkit)");
  if (accepts(nbd_socket))
    return Status(ErrorCode::kBusy,
                  "serve --nbd: something already listens on '" + nbd_socket.string() + "'");
  std::error_code ignored;
  std::filesystem::remove(nbd_socket, ignored);  // a stale socket of a dead nbdkit
  std::vector<std::string> args = {nbdkit->string(),
                                   "--exit-with-parent",
                                   "-f",
                                   "-U",
                                   nbd_socket.string(),
                                   plugin,
                                   "socket=" + control_socket.string()};
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  // The daemon blocks its stopping signals for sigwait(); nbdkit must get them (SIGTERM from
  // stop(), and from --exit-with-parent), so it starts with none blocked and default actions.
  posix_spawnattr_t attributes;
  ::posix_spawnattr_init(&attributes);
  sigset_t none;
  sigemptyset(&none);
  ::posix_spawnattr_setsigmask(&attributes, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGPIPE})
    sigaddset(&defaults, sig);
  ::posix_spawnattr_setsigdefault(&attributes, &defaults);
  ::posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  int error = ::posix_spawn(&pid, argv[0], nullptr, &attributes, argv.data(), environ);
  ::posix_spawnattr_destroy(&attributes);
  if (error != 0)
    return io_error("serve --nbd: cannot start '" + args[0] + "': " + std::strerror(error));
  std::unique_ptr<NbdServer> server(new NbdServer(pid, nbd_socket));
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kNbdStartMsMax);
  while (!accepts(nbd_socket)) {
    int status = wait_for(pid, 0);
    if (status != -1) {
      server->pid_ = -1;
      return io_error("serve --nbd: nbdkit with plugin '" + plugin + "' exited at start (" +
                      (WIFEXITED(status) ? "status " + std::to_string(WEXITSTATUS(status))
                                         : "signal " + std::to_string(WTERMSIG(status))) +
                      "); its messages are above");
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return io_error("serve --nbd: nbdkit (pid " + std::to_string(pid) + ") did not listen on '" +
                      nbd_socket.string() + "' within " + std::to_string(kNbdStartMsMax / 1000) +
                      " s");
    std::this_thread::sleep_for(kPollInterval);
  }
  return server;
}

NbdServer::~NbdServer() {
  stop().ignore_error();  // the daemon is stopping: what nbdkit says is on standard error
}

Status NbdServer::stop() {
  if (pid_ <= 0)
    return Status();
  const pid_t pid = pid_;
  pid_ = -1;
  ::kill(pid, SIGTERM);
  int status = wait_for(pid, kNbdStopMsMax);
  if (status == -1) {
    ::kill(pid, SIGKILL);
    status = wait_for(pid, kNbdStopMsMax);
    return io_error("serve --nbd: nbdkit (pid " + std::to_string(pid) + ") ignored SIGTERM for " +
                    std::to_string(kNbdStopMsMax / 1000) + " s and was killed");
  }
  std::error_code ignored;
  std::filesystem::remove(socket_, ignored);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return io_error("serve --nbd: nbdkit (pid " + std::to_string(pid) + ") did not exit cleanly");
  return Status();
}

std::string NbdServer::uri(const std::string& export_name) const {
  return nbd_uri(export_name, socket_);
}

std::string nbd_uri(const std::string& export_name, const std::filesystem::path& socket) {
  // RFC 3986 unreserved characters stay; everything else (':', '@', '{' ...) is encoded.
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string path;
  for (unsigned char c : export_name) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      path += static_cast<char>(c);
    } else {
      path += '%';
      path += kHex[c >> 4];
      path += kHex[c & 15];
    }
  }
  return "nbd+unix:///" + path + "?socket=" + socket.string();
}

std::string default_nbd_plugin() {
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    // A build tree: build/cli/freezeframe beside build/serve/nbdkit/.
    const auto built =
        self.parent_path().parent_path() / "serve" / "nbdkit" / "nbdkit-freezeframe-plugin.so";
    if (std::filesystem::exists(built, error))
      return built.string();
  }
#ifdef FREEZEFRAME_NBDKIT_PLUGIN_INSTALLED
  if (std::filesystem::exists(FREEZEFRAME_NBDKIT_PLUGIN_INSTALLED, error))
    return FREEZEFRAME_NBDKIT_PLUGIN_INSTALLED;
#endif
  return "freezeframe";
}

}  // namespace freezeframe::serve
