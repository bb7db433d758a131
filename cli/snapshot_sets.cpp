#include "snapshot_sets.h"

#include <algorithm>
#include <map>
#include <ostream>

#include "freezeframe/coordinator.h"
#include "freezeframe/holdable_volume.h"
#include "freezeframe/protocol_provider.h"
#include "parse.h"
#include "volume_writer.h"

namespace freezeframe::cli {

namespace {

std::string provider_name(ProviderKind kind) {
  return kind == ProviderKind::kCopyOnWrite ? "freezeframe copy-on-write provider"
                                            : "freezeframe redirect-on-write provider";
}

}  // namespace

std::vector<ProviderRow> store_providers() {
  std::vector<ProviderRow> rows;
  for (ProviderKind kind : {ProviderKind::kCopyOnWrite, ProviderKind::kRedirectOnWrite}) {
    std::string name = provider_name(kind);
    rows.push_back({name, kind, Uuid::from_name(name), "1.0"});
  }
  return rows;
}

Result<ProviderKind> find_provider(std::string_view text) {
  auto kind = parse_provider_kind(text);
  if (kind.ok())
    return kind;
  auto id = Uuid::parse(text);
  for (const ProviderRow& row : store_providers())
    if (equals_ignore_case(row.name, text) || (id.ok() && *id == row.id))
      return row.kind;
  return not_found("provider '" + std::string(text) +
                   "' is not registered (cow, row, or an id from 'providers list')");
}

struct SetEngine::Impl {
  Store& store;
  std::ostream* log;
  SystemClock clock;
  VolumeWriter writer;
  std::unique_ptr<BlockSnapshotAdapter> cow;
  std::unique_ptr<BlockSnapshotAdapter> row;
  // Volume name -> the SnapshotProvider registered for it and the volume held at commit.
  std::map<std::string, SnapshotProvider*> registered;
  std::vector<std::unique_ptr<HoldableVolume>> holdable;
  std::unique_ptr<Coordinator> coordinator;  // after what it borrows: destroyed before it
  // Sessions that still own something: auto-release sets (deleted when the session ends)
  // and full backups waiting for end backup.
  struct OpenSession {
    std::unique_ptr<BackupSession> session;
    bool full_backup = false;
  };
  std::vector<OpenSession> sessions;
  std::vector<WriterStatus> last_status;
  std::vector<Uuid> auto_release;

  Impl(Store& s, std::ostream* l)
      : store(s),
        log(l),
        writer(s),
        cow(BlockSnapshotAdapter::create(provider_name(ProviderKind::kCopyOnWrite),
                                         ProviderKind::kCopyOnWrite)),
        row(BlockSnapshotAdapter::create(provider_name(ProviderKind::kRedirectOnWrite),
                                         ProviderKind::kRedirectOnWrite)) {}

  bool writer_matches(std::string_view text) const {
    auto id = Uuid::parse(text);
    return equals_ignore_case(text, VolumeWriter::kName) ||
           (id.ok() && (*id == writer.class_id() || *id == writer.instance_id()));
  }

  Status start() {
    coordinator = std::make_unique<Coordinator>(clock);
    FF_TRY(coordinator->register_writer(writer));
    // Damaged volumes are left out: a set that names one fails when it asks for it, and
    // sets of the other volumes are taken as usual.
    for (VolumeEntry& entry : store.catalog().volumes)
      if (entry.storage && store.open_volume(entry).ok())
        FF_TRY(register_volume(entry));
    FF_TRY(coordinator->register_provider(*cow));
    FF_TRY(coordinator->register_provider(*row));
    return Status();
  }

  // Makes the volume known to its provider and the coordinator (once per engine).
  Status register_volume(VolumeEntry& entry) {
    FF_ASSIGN_OR_RETURN(OpenVolume * opened, store.open_volume(entry));
    if (!opened->provider)
      return Status(ErrorCode::kBadState,
                    "volume '" + entry.name + "' has no shadow storage (use 'shadowstorage add')");
    auto it = registered.find(entry.name);
    if (it != registered.end()) {
      if (it->second == opened->provider.get())
        return Status();
      return Status(ErrorCode::kBadState,
                    "the shadow storage of volume '" + entry.name +
                        "' was recreated during this session; run 'reset' first");
    }
    BlockSnapshotAdapter& provider =
        opened->provider->kind() == ProviderKind::kCopyOnWrite ? *cow : *row;
    FF_TRY(provider.add_volume(*opened->provider, entry.name));
    holdable.push_back(std::make_unique<HoldableVolume>(*opened->provider, entry.name));
    FF_TRY(coordinator->add_volume(*holdable.back()));
    registered[entry.name] = opened->provider.get();
    return Status();
  }

  // The snapshot-set creation itself, through the protocol with every registered writer.
  Result<CreatedSet> create_set(const SetRequest& request) {
    std::vector<Uuid> provider_ids;
    for (const std::string& name : request.volumes) {
      FF_ASSIGN_OR_RETURN(VolumeEntry * entry, store.volume(name));
      FF_TRY(register_volume(*entry));
      FF_ASSIGN_OR_RETURN(OpenVolume * opened, store.open_volume(*entry));
      ProviderKind kind = opened->provider->kind();
      provider_ids.push_back((kind == ProviderKind::kCopyOnWrite ? cow : row)->id());
    }
    bool excluded = std::any_of(request.writers_excluded.begin(), request.writers_excluded.end(),
                                [&](const std::string& w) { return writer_matches(w); });
    if (excluded)
      FF_TRY(coordinator->unregister_writer(writer));
    auto session = coordinator->create_session();
    Status status = [&]() -> Status {
      FF_TRY(session->set_context(request.context));
      FF_TRY(session->set_backup_type(request.backup_type));
      if (!context_has(request.context, kAttrNoWriters))
        FF_TRY(session->gather_writer_metadata().status());
      FF_TRY(session->start_snapshot_set().status());
      for (std::size_t i = 0; i < request.volumes.size(); ++i)
        FF_TRY(session->add_to_snapshot_set(request.volumes[i], provider_ids[i]));
      FF_TRY(session->prepare_for_backup());
      return session->do_snapshot_set();
    }();
    if (excluded)
      coordinator->register_writer(writer).ignore_error();  // it was registered a moment ago
    last_status = session->gather_writer_status();
    if (!status.ok())
      return status;
    for (const WriterStatus& w : last_status) {
      auto named = [&](const std::string& text) {
        auto id = Uuid::parse(text);
        return equals_ignore_case(text, w.name) ||
               (id.ok() && (*id == w.class_id || *id == w.instance_id));
      };
      bool verified =
          std::any_of(request.writers_verified.begin(), request.writers_verified.end(), named);
      if (verified && is_failed(w.state)) {
        session->abort().ignore_error();
        return Status(ErrorCode::kAborted, "writer '" + w.name + "' (verified) failed: " +
                                               std::string(state_name(w.state)) + ", " + w.message);
      }
    }
    FF_ASSIGN_OR_RETURN(SnapshotSet info, session->snapshot_set());
    CreatedSet set;
    set.id = info.id;
    set.context = info.context;
    for (std::size_t i = 0; i < info.snapshots.size() && i < request.volumes.size(); ++i)
      set.shadows.push_back({store.find_volume(request.volumes[i]), info.snapshots[i]});
    if (log)
      *log << "Snapshot set " << set.id.to_string() << " created through the protocol with "
           << (context_has(set.context, kAttrNoWriters) ? 0 : last_status.size())
           << " writer(s).\n";
    bool released_at_end = !context_has(set.context, kAttrNoAutoRelease);
    bool full = request.backup_type != BackupType::kCopy;
    if (released_at_end || full) {
      sessions.push_back({std::move(session), full});
    } else {
      // A persistent copy: nothing more will be copied through this session.
      Status completed = session->backup_complete(true);
      last_status = session->gather_writer_status();
      FF_TRY(completed);
    }
    return set;
  }
};

Result<std::unique_ptr<SetEngine>> SetEngine::open(Store& store, std::ostream* log) {
  auto impl = std::make_unique<Impl>(store, log);
  FF_ASSIGN_OR_RETURN(std::size_t released, store.release_orphans());
  if (released > 0 && log)
    *log << "Released " << released << " auto-release shadow copies left by an earlier run.\n";
  FF_TRY(impl->start());
  return std::unique_ptr<SetEngine>(new SetEngine(std::move(impl)));
}

SetEngine::SetEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SetEngine::~SetEngine() {
  release().ignore_error();
}

Result<CreatedSet> SetEngine::create(const SetRequest& request) {
  for (const std::string& verified : request.writers_verified)
    FF_TRY(check_writer(verified));
  FF_ASSIGN_OR_RETURN(CreatedSet set, impl_->create_set(request));
  if (!context_has(set.context, kAttrNoAutoRelease))
    for (const ShadowRef& shadow : set.shadows)
      impl_->auto_release.push_back(shadow.info.id);
  return set;
}

Status SetEngine::backup_complete() {
  auto& sessions = impl_->sessions;
  for (auto it = sessions.begin(); it != sessions.end();) {
    if (!it->full_backup) {
      ++it;
      continue;
    }
    Status status = it->session->backup_complete(true);
    impl_->last_status = it->session->gather_writer_status();
    FF_TRY(status);
    it = sessions.erase(it);
  }
  return Status();
}

Status SetEngine::release() {
  // Ending a session deletes the snapshots of its auto-release context.
  impl_->sessions.clear();
  Status first;
  for (const Uuid& id : impl_->auto_release) {
    auto shadow = impl_->store.find_shadow(id);
    if (!shadow.ok())
      continue;  // deleted already
    Status s = impl_->store.delete_shadow(*shadow);
    if (first.ok() && !s.ok())
      first = s;
  }
  impl_->auto_release.clear();
  return first;
}

void SetEngine::forget(const Uuid& shadow_id) {
  auto& ids = impl_->auto_release;
  ids.erase(std::remove(ids.begin(), ids.end(), shadow_id), ids.end());
}

std::vector<WriterRow> SetEngine::writers() {
  for (const WriterStatus& w : impl_->last_status)
    if (w.class_id == impl_->writer.class_id())
      return {{w.name, w.class_id, w.instance_id, w.state, w.failure, w.message}};
  return {{std::string(VolumeWriter::kName), impl_->writer.class_id(), impl_->writer.instance_id(),
           WriterState::kStable, WriterFailure::kNone, ""}};
}

Status SetEngine::check_writer(std::string_view name_or_id) {
  if (impl_->writer_matches(name_or_id))
    return Status();
  return not_found("writer '" + std::string(name_or_id) +
                   "' is not registered (see 'list writers')");
}

Status SetEngine::check_component(std::string_view writer_name_or_id, std::string_view component) {
  FF_TRY(check_writer(writer_name_or_id));
  FF_ASSIGN_OR_RETURN(WriterMetadata metadata, impl_->writer.identify());
  for (const WriterComponent& c : metadata.components) {
    std::string full = c.logical_path.empty() ? c.name : c.logical_path + "\\" + c.name;
    if (equals_ignore_case(component, c.name) || equals_ignore_case(component, full))
      return Status();
  }
  return not_found("writer '" + metadata.name + "' has no component '" + std::string(component) +
                   "'");
}

}  // namespace freezeframe::cli
