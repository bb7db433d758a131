// The snapshot protocol: Coordinator and BackupSession (see coordinator.h and
// docs/protocol.md).
//
// How waiting works: every writer event and provider call runs on a worker thread of its
// own. The driving thread waits on a Race: either the call finishes, or a deadline (a Clock
// timer) or the requestor's abort() marks the race expired. An expired race wins even over
// a call that finished meanwhile, so a writer that overran its window is failed although it
// returned. A call that is given up on keeps running; its thread is kept and joined later
// (at the latest by ~Coordinator), and everything it touches is either shared-owned or
// borrowed for the coordinator's lifetime.
#include "freezeframe/coordinator.h"

#include <memory>
#include <utility>

#include "freezeframe/enum_names.h"
#include "protocol_internals.h"

namespace freezeframe {

namespace {
constexpr EnumName<Participant> kParticipantNames[] = {
    {Participant::kWriter, "writer"},           {Participant::kProvider, "provider"},
    {Participant::kVolume, "volume"},           {Participant::kRequestor, "requestor"},
    {Participant::kCoordinator, "coordinator"},
};
}  // namespace

std::string_view participant_name(Participant participant) noexcept {
  return name_of(kParticipantNames, participant, "coordinator");
}

// ---- Coordinator ----

Coordinator::Coordinator(Clock& clock, CoordinatorOptions options)
    : impl_(std::make_unique<Impl>(clock, std::move(options))) {}

Coordinator::~Coordinator() = default;

Status Coordinator::register_writer(Writer& writer) {
  std::lock_guard lock(impl_->mutex);
  if (std::find(impl_->writers.begin(), impl_->writers.end(), &writer) != impl_->writers.end())
    return Status(ErrorCode::kAlreadyExists, "writer is already registered");
  impl_->writers.push_back(&writer);
  return Status();
}

Status Coordinator::unregister_writer(Writer& writer) {
  std::lock_guard lock(impl_->mutex);
  auto it = std::find(impl_->writers.begin(), impl_->writers.end(), &writer);
  if (it == impl_->writers.end())
    return not_found("writer is not registered");
  impl_->writers.erase(it);
  return Status();
}

Status Coordinator::register_provider(Provider& provider) {
  FF_TRY(impl_->registry.add(provider));
  // Auto-release what a session of a dead process left behind.
  Status first_error;
  for (const SnapshotInfo& info : provider.query()) {
    if ((info.attributes & kAttrNoAutoRelease) != 0)
      continue;
    const Nanoseconds start = impl_->clock.now();
    Status deleted = provider.delete_snapshot(info.id);
    impl_->log(
        info.set_id, "auto-release", Participant::kProvider, provider.name(), start,
        deleted.ok() ? "ok" : "failed",
        "snapshot " + info.id.to_string() + (deleted.ok() ? "" : ": " + deleted.to_string()));
    if (!deleted.ok() && first_error.ok())
      first_error = deleted.with_context("provider '" + provider.name() + "' auto-release");
  }
  return first_error;
}

Status Coordinator::set_default_provider(std::string volume, const Uuid& provider_id) {
  return impl_->registry.set_default(std::move(volume), provider_id);
}

const ProviderRegistry& Coordinator::providers() const {
  return impl_->registry;
}

Status Coordinator::add_volume(HoldableVolume& volume) {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->volumes.emplace(volume.name(), &volume).second)
    return Status(ErrorCode::kAlreadyExists,
                  "a volume named '" + volume.name() + "' is already known to the coordinator");
  return Status();
}

std::unique_ptr<BackupSession> Coordinator::create_session() {
  return std::unique_ptr<BackupSession>(
      new BackupSession(std::make_unique<BackupSession::Impl>(*impl_)));
}

Result<std::unique_ptr<BackupSession>> Coordinator::take_snapshot_set(
    const std::vector<std::string>& volumes, const SnapshotSetOptions& options) {
  std::unique_ptr<BackupSession> session = create_session();
  FF_TRY(session->set_context(options.context));
  FF_TRY(session->set_backup_type(options.backup_type));
  const bool writers = !context_has(options.context, kAttrNoWriters);
  if (writers) {
    auto metadata = session->gather_writer_metadata();
    if (!metadata.ok())
      return metadata.status();
  }
  auto started = session->start_snapshot_set();
  if (!started.ok())
    return started.status();
  for (const std::string& volume : volumes)
    FF_TRY(session->add_to_snapshot_set(volume, options.provider_id));
  FF_TRY(session->prepare_for_backup());
  FF_TRY(session->do_snapshot_set());
  return session;
}

bool Coordinator::set_in_creation() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->creating != nullptr;
}

}  // namespace freezeframe
