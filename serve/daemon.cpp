// The serve daemon's store, exports and request handling (daemon.h).
#include "daemon.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "command_context.h"
#include "export_map.h"

namespace freezeframe::serve {

namespace {

Reply error_reply(std::uint64_t id, const Status& status) {
  Reply reply;
  reply.id = id;
  reply.code = status.code();
  reply.message = status.message();
  return reply;
}

}  // namespace

Result<std::unique_ptr<Daemon>> Daemon::open(const std::filesystem::path& store_dir,
                                             std::ostream& log) {
  cli::StoreOpenOptions options;
  options.access = cli::StoreAccess::kWrite;
  options.notices = &log;
  auto store = cli::Store::open(store_dir, options);
  if (!store.ok())
    return store.status().with_context("serve: cannot open the store '" + store_dir.string() + "'");
  std::unique_ptr<Daemon> daemon(new Daemon(store_dir, std::move(*store), log));
  std::unique_lock lock(daemon->mutex_);
  daemon->rebuild();
  return daemon;
}

Daemon::~Daemon() {
  Status status = flush_all();
  if (!status.ok())
    log_ << "freezeframe serve: flush at exit failed: " << status.message() << "\n";
  std::unique_lock lock(mutex_);
  exports_.clear();  // snapshot volumes before their providers
}

void Daemon::rebuild() {
  exports_.clear();
  for (cli::VolumeEntry& entry : store_->catalog().volumes) {
    auto opened = store_->open_volume(entry);
    if (!opened.ok()) {
      log_ << "freezeframe serve: volume '" << entry.name
           << "' is not served: " << opened.status().message() << "\n";
      continue;
    }
    cli::OpenVolume* volume = *opened;
    auto image = store_->image_path(entry);
    Export live;
    live.live = &volume->live();
    live.opened = volume;
    if (image.ok())
      live.image = *image;
    live.info =
        ExportInfo{entry.name,
                   entry.name,
                   "",
                   live.live->size_bytes(),
                   live.live->sector_bytes(),
                   live.live->read_only(),
                   volume->provider ? std::string(provider_kind_name(volume->provider->kind()))
                                    : std::string("none")};
    exports_.insert_or_assign(entry.name, std::move(live));
    if (!volume->provider)
      continue;
    for (const SnapshotInfo& info : volume->provider->snapshots()) {
      if (info.state != SnapshotState::kActive)
        continue;
      auto snapshot = volume->provider->open_snapshot(info.id);
      if (!snapshot.ok()) {
        log_ << "freezeframe serve: snapshot " << info.id.to_string() << " of '" << entry.name
             << "' is not served: " << snapshot.status().message() << "\n";
        continue;
      }
      Export e;
      e.snapshot = std::move(*snapshot);
      e.opened = volume;
      e.snapshot_info = info;
      if (image.ok())
        e.image = *image;
      std::string name = entry.name + "@" + info.id.to_string();
      e.info = ExportInfo{name,
                          entry.name,
                          info.id.to_string(),
                          e.snapshot->size_bytes(),
                          e.snapshot->sector_bytes(),
                          true,
                          std::string(provider_kind_name(info.provider))};
      exports_.insert_or_assign(name, std::move(e));
    }
  }
  std::lock_guard lock(info_mutex_);
  info_.clear();
  for (const auto& [name, e] : exports_)
    info_.emplace(name, e.info);
}

std::string Daemon::canonical_name(const std::string& name) {
  auto parsed = parse_export_name(name);
  if (!parsed.ok() || parsed->snapshot.empty())
    return name;
  auto id = Uuid::parse(parsed->snapshot);
  return id.ok() ? parsed->volume + "@" + id->to_string() : name;
}

Result<Daemon::Export*> Daemon::find(const std::string& name) {
  auto it = exports_.find(name);
  if (it != exports_.end())
    return &it->second;
  // "NAME@{ID}" or an upper-case id: the canonical form.
  FF_ASSIGN_OR_RETURN(ExportName parsed, parse_export_name(name));
  if (!parsed.snapshot.empty()) {
    if (auto id = Uuid::parse(parsed.snapshot); id.ok()) {
      it = exports_.find(parsed.volume + "@" + id->to_string());
      if (it != exports_.end())
        return &it->second;
    } else {
      return invalid_argument("export '" + name + "': '" + parsed.snapshot +
                              "' is not a snapshot id (a UUID)");
    }
  }
  return not_found("no export named '" + name + "' (volumes by name, snapshots as NAME@ID)");
}

std::vector<ExportInfo> Daemon::exports() const {
  std::lock_guard lock(info_mutex_);
  std::vector<ExportInfo> out;
  for (const auto& [name, info] : info_)
    out.push_back(info);
  return out;
}

Result<ExportInfo> Daemon::export_info(const std::string& name) const {
  std::lock_guard lock(info_mutex_);
  auto it = info_.find(name);
  if (it == info_.end())
    it = info_.find(canonical_name(name));
  if (it == info_.end())
    return not_found("no export named '" + name + "' (volumes by name, snapshots as NAME@ID)");
  return it->second;
}

Status Daemon::check_range(const Export& e, const char* operation, std::uint64_t offset,
                           std::uint64_t length) const {
  if (offset > e.info.size_bytes || length > e.info.size_bytes - offset)
    return invalid_argument("export '" + e.info.name + "' " + operation + " offset " +
                            std::to_string(offset) + " length " + std::to_string(length) +
                            ": out of range (size " + std::to_string(e.info.size_bytes) + ")");
  if (e.info.read_only && std::strcmp(operation, "read") != 0 &&
      std::strcmp(operation, "flush") != 0)
    return read_only("export '" + e.info.name + "' is a snapshot, read-only: " + operation +
                     " refused");
  return Status();
}

Status Daemon::read(const std::string& name, std::uint64_t offset, std::span<std::byte> out) {
  std::shared_lock lock(mutex_);
  FF_ASSIGN_OR_RETURN(Export * e, find(name));
  return read_locked(*e, offset, out);
}

Status Daemon::read_locked(Export& e, std::uint64_t offset, std::span<std::byte> out) {
  FF_TRY(check_range(e, "read", offset, out.size()));
  if (out.empty())
    return Status();
  Volume& volume = e.volume();
  const std::uint64_t sector = volume.sector_bytes();
  const std::uint64_t first = offset / sector * sector;
  const std::uint64_t end = (offset + out.size() + sector - 1) / sector * sector;
  if (first == offset && end == offset + out.size())
    return volume.read(offset, out);
  std::vector<std::byte> buffer(end - first);
  FF_TRY(volume.read(first, buffer));
  std::memcpy(out.data(), buffer.data() + (offset - first), out.size());
  return Status();
}

Status Daemon::write_locked(Export& e, std::uint64_t offset, std::span<const std::byte> data) {
  FF_TRY(check_range(e, "write", offset, data.size()));
  if (data.empty())
    return Status();
  Volume& volume = e.volume();
  const std::uint64_t sector = volume.sector_bytes();
  const std::uint64_t first = offset / sector * sector;
  const std::uint64_t end = (offset + data.size() + sector - 1) / sector * sector;
  if (first == offset && end == offset + data.size())
    return volume.write(offset, data);
  std::lock_guard partial(partial_mutex_);
  std::vector<std::byte> buffer(end - first);
  FF_TRY(volume.read(first, buffer));
  std::memcpy(buffer.data() + (offset - first), data.data(), data.size());
  return volume.write(first, buffer);
}

Status Daemon::write(const std::string& name, std::uint64_t offset,
                     std::span<const std::byte> data) {
  std::shared_lock lock(mutex_);
  FF_ASSIGN_OR_RETURN(Export * e, find(name));
  return write_locked(*e, offset, data);
}

Status Daemon::flush(const std::string& name) {
  std::shared_lock lock(mutex_);
  FF_ASSIGN_OR_RETURN(Export * e, find(name));
  return e->volume().flush();
}

Status Daemon::trim(const std::string& name, std::uint64_t offset, std::uint64_t length) {
  std::shared_lock lock(mutex_);
  FF_ASSIGN_OR_RETURN(Export * e, find(name));
  FF_TRY(check_range(*e, "trim", offset, length));
  Volume& volume = e->volume();
  const std::uint64_t sector = volume.sector_bytes();
  const std::uint64_t first = (offset + sector - 1) / sector * sector;
  const std::uint64_t end = (offset + length) / sector * sector;
  if (end <= first)
    return Status();
  return volume.discard(first, end - first);
}

Status Daemon::zero(const std::string& name, std::uint64_t offset, std::uint64_t length) {
  std::shared_lock lock(mutex_);
  FF_ASSIGN_OR_RETURN(Export * e, find(name));
  FF_TRY(check_range(*e, "zero", offset, length));
  Volume& volume = e->volume();
  const std::uint64_t sector = volume.sector_bytes();
  const std::uint64_t first = std::min(offset + length, (offset + sector - 1) / sector * sector);
  const std::uint64_t end = std::max(first, (offset + length) / sector * sector);
  std::vector<std::byte> zeros;
  if (first > offset) {
    zeros.assign(first - offset, std::byte{0});
    FF_TRY(write_locked(*e, offset, zeros));
  }
  if (end > first)
    FF_TRY(volume.discard(first, end - first));
  if (offset + length > end) {
    zeros.assign(offset + length - end, std::byte{0});
    FF_TRY(write_locked(*e, end, zeros));
  }
  return Status();
}

Result<std::vector<ExtentInfo>> Daemon::extents(const std::string& name, std::uint64_t offset,
                                                std::uint64_t length, const std::string& since) {
  std::shared_lock lock(mutex_);
  FF_ASSIGN_OR_RETURN(Export * e, find(name));
  FF_TRY(check_range(*e, "read", offset, length));
  const SnapshotProvider* provider = e->opened ? e->opened->provider.get() : nullptr;
  const SnapshotInfo* snapshot = e->snapshot_info ? &*e->snapshot_info : nullptr;
  const std::uint64_t end = offset + length;
  std::vector<MapRun> runs;
  if (!since.empty()) {
    const std::string what = "export '" + e->info.name + "': changes since " + since;
    FF_ASSIGN_OR_RETURN(ChangeBase base, parse_change_base(provider, since, what));
    FF_ASSIGN_OR_RETURN(std::vector<Extent> changed,
                        changes_since(*provider, snapshot, base, what));
    runs = change_map(changed, offset, end);
  } else if (length != 0) {
    MapSource source;
    source.size_bytes = e->info.size_bytes;
    source.provider = provider;
    source.snapshot = snapshot;
    // The image's holes, from a descriptor of this request's own (closed below).
    source.image_fd = e->image.empty() ? -1 : ::open(e->image.c_str(), O_RDONLY | O_CLOEXEC);
    source.read = [this, e](std::uint64_t at, std::span<std::byte> out) {
      return read_locked(*e, at, out);
    };
    auto map = allocation_map(source, offset, end);
    if (source.image_fd >= 0)
      ::close(source.image_fd);
    FF_TRY(map.status());
    runs = std::move(map).value();
  }
  std::vector<ExtentInfo> out;
  for (const MapRun& run : runs) {
    if (out.size() == kExtentRunsMax)
      break;  // the client asks again for the rest
    out.push_back({run.offset, run.length, !run.hole});
  }
  return out;
}

Status Daemon::flush_all() {
  std::shared_lock lock(mutex_);
  Status first_error;
  for (auto& [name, e] : exports_) {
    if (e.snapshot)
      continue;
    Status status = e.live->flush();
    if (!status.ok() && first_error.ok())
      first_error = status;
  }
  return first_error;
}

void Daemon::set_file_hooks(
    std::function<Status(const std::string&, const std::filesystem::path&)> present,
    std::function<Status(const std::filesystem::path&)> withdraw,
    std::function<void()> after_command) {
  present_file_ = std::move(present);
  withdraw_file_ = std::move(withdraw);
  after_command_ = std::move(after_command);
}

std::vector<std::pair<std::string, std::filesystem::path>> Daemon::recorded_exposures() const {
  std::shared_lock lock(mutex_);
  std::vector<std::pair<std::string, std::filesystem::path>> out;
  for (const cli::Exposure& exposure : store_->catalog().exposures)
    for (const auto& [name, e] : exports_)
      if (e.snapshot && e.info.snapshot == exposure.shadow.to_string())
        out.emplace_back(name, exposure.path);
  return out;
}

Reply Daemon::run_command(const Request& request) {
  Reply reply = run_command_locked(request);
  if (after_command_)
    after_command_();
  return reply;
}

Reply Daemon::run_command_locked(const Request& request) {
  std::unique_lock lock(mutex_);
  // Snapshot volumes must not outlive their providers, which a command may close.
  exports_.clear();
  std::ostringstream out;
  std::ostringstream err;
  cli::command::CommandHooks hooks;
  hooks.served_store = store_.get();
  hooks.present_file = present_file_;
  hooks.nbd_uri = nbd_uri_;
  hooks.withdraw_file = withdraw_file_;
  Reply reply;
  reply.id = request.id;
  reply.exit_code = cli::command::run_command_line(request.argv, out, err, {}, hooks);
  reply.out = out.str();
  reply.err = err.str();
  rebuild();
  return reply;
}

Reply Daemon::handle(const Request& request, std::span<const std::byte> data,
                     std::vector<std::byte>& out) {
  Reply reply;
  reply.id = request.id;
  Status status;
  switch (request.op) {
    case Op::kHello:
      reply.version = kProtocolVersion;
      reply.store = store_dir_.string();
      return reply;
    case Op::kList:
      reply.exports = exports();
      return reply;
    case Op::kCommand:
      return run_command(request);
    case Op::kRead:
      out.resize(request.length);
      status = read(request.export_name, request.offset, out);
      if (!status.ok()) {
        out.clear();
        return error_reply(request.id, status);
      }
      reply.length = request.length;
      return reply;
    case Op::kWrite:
      status = write(request.export_name, request.offset, data);
      if (status.ok() && request.fua)
        status = flush(request.export_name);
      break;
    case Op::kFlush:
      status = flush(request.export_name);
      break;
    case Op::kTrim:
      status = trim(request.export_name, request.offset, request.length);
      break;
    case Op::kZero:
      status = zero(request.export_name, request.offset, request.length);
      break;
    case Op::kExtents: {
      auto map = extents(request.export_name, request.offset, request.length, request.since);
      if (!map.ok())
        return error_reply(request.id, map.status());
      reply.extents = std::move(map).value();
      break;
    }
  }
  if (!status.ok())
    return error_reply(request.id, status);
  return reply;
}

}  // namespace freezeframe::serve
