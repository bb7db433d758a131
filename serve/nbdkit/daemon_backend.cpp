// Forwarding an export's requests to the serve daemon (daemon_backend.h).
#include "daemon_backend.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace freezeframe::nbd {

namespace {

using serve::Connection;
using serve::Op;
using serve::Reply;
using serve::Request;

// Zeros written without a discard go as writes of this many bytes at most.
constexpr std::uint64_t kZeroWriteBytes = 4 << 20;
// The request size that amortises a round trip to the daemon.
constexpr std::uint32_t kPreferredBytes = 64 << 10;

class DaemonBackend final : public ExportBackend {
 public:
  DaemonBackend(std::filesystem::path socket, Connection first) : socket_(std::move(socket)) {
    idle_.push_back(std::move(first));
  }

  Status open(const ExportSpec& spec);

  const std::string& description() const noexcept override { return description_; }
  std::uint64_t size_bytes() const noexcept override { return info_.size_bytes; }
  bool writable() const noexcept override { return !info_.read_only; }
  std::uint32_t preferred_bytes() const noexcept override { return kPreferredBytes; }

  Status read(std::uint64_t offset, std::span<std::byte> out) override {
    while (!out.empty()) {
      const std::size_t piece = std::min<std::size_t>(out.size(), serve::kDataBytesMax);
      // Straight into nbdkit's buffer: no copy of the plugin's own.
      FF_TRY(call(block_request(Op::kRead, offset, piece), {}, out.first(piece)).status());
      out = out.subspan(piece);
      offset += piece;
    }
    return Status();
  }

  Status write(std::uint64_t offset, std::span<const std::byte> data) override {
    while (!data.empty()) {
      const std::size_t piece = std::min<std::size_t>(data.size(), serve::kDataBytesMax);
      FF_TRY(call(block_request(Op::kWrite, offset, piece), data.first(piece)).status());
      data = data.subspan(piece);
      offset += piece;
    }
    return Status();
  }

  Status flush() override { return call(block_request(Op::kFlush, 0, 0)).status(); }

  Status trim(std::uint64_t offset, std::uint64_t length) override {
    return call(block_request(Op::kTrim, offset, length)).status();
  }

  Status zero(std::uint64_t offset, std::uint64_t length, bool may_trim) override {
    if (may_trim)
      return call(block_request(Op::kZero, offset, length)).status();
    // Zeros written, so that the range stays allocated.
    const std::vector<std::byte> zeros(std::min(length, kZeroWriteBytes));
    while (length != 0) {
      const std::uint64_t piece = std::min<std::uint64_t>(length, zeros.size());
      FF_TRY(write(offset, std::span(zeros).first(piece)));
      offset += piece;
      length -= piece;
    }
    return Status();
  }

  Result<std::vector<ExportExtent>> extents(std::uint64_t offset, std::uint64_t length) override {
    Request request = block_request(Op::kExtents, offset, length);
    request.since = since_;
    FF_ASSIGN_OR_RETURN(Reply reply, call(request));
    std::vector<ExportExtent> out;
    std::uint64_t pos = offset;
    for (const serve::ExtentInfo& e : reply.extents) {
      if (e.offset != pos || e.length == 0 || e.length > offset + length - pos)
        return io_error(description_ + ": the daemon's map is not contiguous from offset " +
                        std::to_string(pos) + " within the range asked");
      out.push_back(
          {.offset = e.offset, .length = e.length, .hole = !e.allocated, .zero = !e.allocated});
      pos += e.length;
    }
    if (out.empty())
      return io_error(description_ + ": the daemon's map of offset " + std::to_string(offset) +
                      " is empty");
    return out;
  }

 private:
  Request block_request(Op op, std::uint64_t offset, std::uint64_t length) const {
    Request request;
    request.op = op;
    request.export_name = info_.name;
    request.offset = offset;
    request.length = length;
    return request;
  }

  // Sends `request` on an idle connection (or a new one) and returns the reply; an error reply
  // becomes a Status with the daemon's code and message.
  // A read's data lands in `read_into`.
  Result<Reply> call(Request request, std::span<const std::byte> data = {},
                     std::span<std::byte> read_into = {});

  std::filesystem::path socket_;
  std::string description_;
  serve::ExportInfo info_;
  std::string since_;
  std::mutex mutex_;  // idle_, next_id_
  std::vector<Connection> idle_;
  std::uint64_t next_id_ = 1;
};

Result<Reply> DaemonBackend::call(Request request, std::span<const std::byte> data,
                                  std::span<std::byte> read_into) {
  std::optional<Connection> connection;
  {
    std::lock_guard lock(mutex_);
    request.id = next_id_++;
    if (!idle_.empty()) {
      connection.emplace(std::move(idle_.back()));
      idle_.pop_back();
    }
  }
  if (!connection) {
    auto made = Connection::connect(socket_);
    if (!made.ok())
      return made.status().with_context(description_);
    connection.emplace(std::move(made).value());
  }
  auto reply = request.op == Op::kRead ? connection->call_into(request, read_into)
                                       : connection->call(request, data);
  if (!reply.ok())  // the stream is unusable: the connection is dropped
    return reply.status().with_context(description_ + ": the serve daemon on '" + socket_.string() +
                                       "'");
  {
    std::lock_guard lock(mutex_);
    if (idle_.size() < kDaemonConnectionsMax)
      idle_.push_back(std::move(*connection));
  }
  if (reply->id != request.id)
    return io_error(description_ + ": the daemon answered request " + std::to_string(request.id) +
                    " with the reply to " + std::to_string(reply->id));
  if (!reply->ok())
    return Status(reply->code, reply->message);
  return reply;
}

Status DaemonBackend::open(const ExportSpec& spec) {
  const std::string where = "the serve daemon on '" + socket_.string() + "'";
  Request hello;
  hello.op = Op::kHello;
  FF_ASSIGN_OR_RETURN(Reply greeting, call(hello));
  if (greeting.version != serve::kProtocolVersion)
    return Status(ErrorCode::kUnsupported,
                  where + " speaks protocol version " + std::to_string(greeting.version) +
                      "; this plugin speaks " + std::to_string(serve::kProtocolVersion));
  Request list;
  list.op = Op::kList;
  FF_ASSIGN_OR_RETURN(Reply listed, call(list));
  std::string snapshot;
  if (!spec.snapshot.empty()) {
    auto id = Uuid::parse(spec.snapshot);
    if (!id.ok())
      return invalid_argument("snapshot=" + spec.snapshot + " is not a snapshot id (a UUID)");
    snapshot = id->to_string();
  }
  const serve::ExportInfo* found = nullptr;
  for (const serve::ExportInfo& e : listed.exports) {
    const bool match =
        snapshot.empty() ? e.snapshot.empty() && e.volume == spec.volume : e.snapshot == snapshot;
    if (match)
      found = &e;
  }
  const std::string what =
      snapshot.empty() ? "volume '" + spec.volume + "'" : "snapshot " + snapshot;
  if (found == nullptr)
    return not_found(where + " (store '" + greeting.store + "') serves no " + what +
                     " ('freezeframe shadow list' shows what it has)");
  if (!spec.volume.empty() && found->volume != spec.volume)
    return invalid_argument("snapshot " + snapshot + " of " + where + " is a snapshot of volume '" +
                            found->volume + "', not of '" + spec.volume + "'");
  info_ = *found;
  description_ = (snapshot.empty() ? "" : "snapshot " + snapshot + " of ") + "volume '" +
                 info_.volume + "' through " + where;
  if (!spec.changes_since.empty()) {
    since_ = spec.changes_since;
    // Asked once now, so that an id the daemon cannot answer stops nbdkit before it serves.
    if (info_.size_bytes != 0)
      FF_TRY(extents(0, std::min<std::uint64_t>(info_.size_bytes, 1)).status());
  }
  return Status();
}

}  // namespace

Result<std::unique_ptr<ExportBackend>> open_daemon_backend(Connection connection,
                                                           const std::filesystem::path& socket,
                                                           const ExportSpec& spec) {
  auto backend = std::make_unique<DaemonBackend>(socket, std::move(connection));
  FF_TRY(backend->open(spec));
  return std::unique_ptr<ExportBackend>(std::move(backend));
}

namespace {

Result<std::vector<serve::ExportInfo>> daemon_list(const std::filesystem::path& socket) {
  FF_ASSIGN_OR_RETURN(Connection connection, Connection::connect(socket));
  Request list;
  list.op = Op::kList;
  FF_ASSIGN_OR_RETURN(Reply reply, connection.call(list));
  if (!reply.ok())
    return Status(reply.code, "the serve daemon on '" + socket.string() + "': " + reply.message);
  return std::move(reply.exports);
}

constexpr std::string_view kChangesSinceSuffix = "@changes-since=";

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> list_daemon_exports(
    const std::filesystem::path& socket) {
  FF_ASSIGN_OR_RETURN(std::vector<serve::ExportInfo> exports, daemon_list(socket));
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(exports.size());
  for (const serve::ExportInfo& e : exports)
    out.emplace_back(e.name, e.snapshot.empty() ? "volume '" + e.volume + "', read-write"
                                                : "snapshot " + e.snapshot + " of volume '" +
                                                      e.volume + "', read-only");
  return out;
}

Result<std::string> default_daemon_export(const std::filesystem::path& socket) {
  FF_ASSIGN_OR_RETURN(std::vector<serve::ExportInfo> exports, daemon_list(socket));
  for (const serve::ExportInfo& e : exports)
    if (e.snapshot.empty())
      return e.name;  // the list is sorted by name
  return not_found("the serve daemon on '" + socket.string() +
                   "' serves no volume: name an export (NAME@SNAPSHOTID)");
}

Result<ExportSpec> export_spec_from_name(std::string_view name) {
  ExportSpec spec;
  std::string_view rest = name;
  if (auto at = rest.find(kChangesSinceSuffix); at != std::string_view::npos) {
    spec.changes_since = std::string(rest.substr(at + kChangesSinceSuffix.size()));
    rest = rest.substr(0, at);
    if (spec.changes_since.empty())
      return invalid_argument("export name '" + std::string(name) +
                              "': nothing after 'changes-since=' (a change id or a snapshot id)");
  }
  auto parsed = serve::parse_export_name(rest);
  if (!parsed.ok())
    return invalid_argument("export name '" + std::string(name) +
                            "' is not NAME, NAME@SNAPSHOTID or either with "
                            "@changes-since=ID: " +
                            parsed.status().message());
  spec.volume = parsed->volume;
  spec.snapshot = parsed->snapshot;
  return spec;
}

Result<std::unique_ptr<ExportBackend>> open_daemon_export(const std::filesystem::path& socket,
                                                          std::string_view name) {
  FF_ASSIGN_OR_RETURN(ExportSpec spec, export_spec_from_name(name));
  FF_ASSIGN_OR_RETURN(Connection connection, Connection::connect(socket));
  return open_daemon_backend(std::move(connection), socket, spec);
}

}  // namespace freezeframe::nbd
