// `freezeframe serve` (serve_command.h): opens the store, listens on the control socket,
// mounts the FUSE file system if asked, and runs until SIGTERM or SIGINT.
#include "serve_command.h"

#include <pthread.h>
#include <signal.h>

#include <filesystem>
#include <thread>

#include "commands.h"
#include "connection.h"
#include "daemon.h"
#include "file_exposures.h"
#include "fuse_export.h"
#include "nbd_server.h"
#include "server.h"

namespace freezeframe::serve {

namespace {

using cli::command::CommandSpec;
using cli::command::Context;

Status serve(Context& ctx) {
  FF_TRY(cli::command::no_positionals(ctx));
  // The stopping signals are taken by sigwait() below, on this thread only; every thread
  // started from here on inherits the mask.
  sigset_t stopping;
  sigemptyset(&stopping);
  sigaddset(&stopping, SIGTERM);
  sigaddset(&stopping, SIGINT);
  sigaddset(&stopping, SIGHUP);
  sigaddset(&stopping, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &stopping, nullptr);
  sigdelset(&stopping, SIGUSR1);

  std::filesystem::path socket = default_socket_path(ctx.store_dir);
  if (auto s = ctx.options.get("socket"))
    socket = *s;
  FF_ASSIGN_OR_RETURN(auto daemon, Daemon::open(ctx.store_dir, ctx.err));
  auto exposures = std::make_unique<FileExposures>(*daemon);
  exposures->restore(ctx.err);
  // serve --nbd: the URIs `shadow expose --nbd` prints, known before the first request.
  const bool want_nbd = ctx.options.has("nbd") || ctx.options.has("nbd-socket");
  const std::filesystem::path nbd_socket = std::filesystem::absolute(
      ctx.options.get("nbd-socket").value_or((ctx.store_dir / "nbd.sock").string()));
  if (want_nbd)
    daemon->set_nbd_uri(
        [nbd_socket](const std::string& name) { return nbd_uri(name, nbd_socket); });
  FF_ASSIGN_OR_RETURN(auto server, Server::listen(*daemon, socket));
  std::unique_ptr<FuseExport> fuse;
  if (auto dir = ctx.options.get("fuse")) {
    FF_ASSIGN_OR_RETURN(fuse, FuseExport::mount(*daemon, *dir));
  }
  std::thread server_thread([&] { server->run(); });
  std::thread fuse_thread;
  if (fuse)
    fuse_thread = std::thread([&] { fuse->run(); });
  // nbdkit forwards to the control socket, so it starts once the server accepts.
  std::unique_ptr<NbdServer> nbd;
  if (want_nbd) {
    const std::string plugin = ctx.options.get("nbd-plugin").value_or(default_nbd_plugin());
    auto started = NbdServer::start(plugin, nbd_socket, std::filesystem::absolute(socket));
    if (!started.ok()) {
      if (fuse) {
        fuse->stop();
        fuse_thread.join();
        fuse.reset();
      }
      server->stop();
      server_thread.join();
      return started.status();
    }
    nbd = std::move(started).value();
  }
  ctx.out << "freezeframe serve: serving store '" << ctx.store_dir.string() << "' on socket '"
          << socket.string() << "'";
  if (auto dir = ctx.options.get("fuse"))
    ctx.out << ", files in '" << *dir << "'";
  if (nbd)
    ctx.out << ", NBD on '" << nbd->socket().string() << "' (nbdkit pid " << nbd->pid() << ")";
  ctx.out << " (pid " << ::getpid() << ")" << std::endl;

  int signal_number = 0;
  sigwait(&stopping, &signal_number);
  ctx.err << "freezeframe serve: signal " << signal_number << ", stopping" << std::endl;
  if (nbd) {
    Status stopped = nbd->stop();  // before the control socket its requests go to
    if (!stopped.ok())
      ctx.err << "freezeframe serve: " << stopped.message() << std::endl;
    nbd.reset();
  }
  if (fuse) {
    fuse->stop();
    fuse_thread.join();
    fuse.reset();  // unmounts
  }
  server->stop();
  server_thread.join();
  server.reset();
  exposures.reset();
  Status flushed = daemon->flush_all();
  daemon.reset();
  if (!flushed.ok())
    return flushed.with_context("serve: flush at exit");
  ctx.out << "freezeframe serve: stopped" << std::endl;
  return Status();
}

}  // namespace

CommandSpec serve_command() {
  return {
      "serve",
      "",
      "Serves the store's volumes and snapshots until SIGTERM: control socket, FUSE files, NBD.",
      {{"fuse", "DIR", "presents each volume and snapshot as a file in DIR (FUSE)"},
       {"socket", "PATH", "the control socket (default DIR/serve.sock of the store)"},
       {"nbd", "", "starts nbdkit exporting every volume and snapshot over NBD (docs/nbd.md)"},
       {"nbd-socket", "PATH", "the NBD Unix socket (default DIR/nbd.sock of the store)"},
       {"nbd-plugin", "PATH", "the nbdkit plugin (default: the one built or installed)"}},
      serve,
      "While it runs, shadow create, delete, revert, list and export and volume list go\n"
      "through it. See docs/serve.md."};
}

std::optional<int> forward_to_daemon(Context& ctx, const std::vector<std::string>& args) {
  auto connection = Connection::connect(default_socket_path(ctx.store_dir));
  if (!connection.ok()) {
    if (connection.status().code() == ErrorCode::kNotFound)
      return std::nullopt;
    ctx.err << "freezeframe " << ctx.command << ": error: " << connection.status().message()
            << "\n";
    return cli::kExitFailed;
  }
  Request request;
  request.op = Op::kCommand;
  request.argv = args;
  // Paths are the caller's: the daemon has its own working directory.
  for (std::size_t i = 0; i < request.argv.size(); ++i) {
    std::string& arg = request.argv[i];
    if ((arg == "--to" || arg == "--store") && i + 1 < request.argv.size()) {
      request.argv[i + 1] = std::filesystem::absolute(request.argv[i + 1]).string();
      ++i;
    } else if (arg.rfind("--to=", 0) == 0) {
      arg = "--to=" + std::filesystem::absolute(arg.substr(5)).string();
    } else if (arg.rfind("--store=", 0) == 0) {
      arg = "--store=" + std::filesystem::absolute(arg.substr(8)).string();
    }
  }
  auto reply = connection->call(request);
  if (!reply.ok()) {
    ctx.err << "freezeframe " << ctx.command
            << ": error: the serve daemon: " << reply.status().message() << "\n";
    return cli::kExitFailed;
  }
  if (!reply->ok()) {
    ctx.err << "freezeframe " << ctx.command << ": error: the serve daemon: " << reply->message
            << "\n";
    return cli::kExitFailed;
  }
  ctx.out << reply->out << std::flush;
  ctx.err << reply->err << std::flush;
  return reply->exit_code;
}

}  // namespace freezeframe::serve
