// Coordinator (see coordinator.h): registration of writers, providers and volumes, and the
// sessions that drive snapshot sets (coordinator_session.cpp).
#include "freezeframe/coordinator.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "coordinator_core.h"
#include "coordinator_session.h"

namespace freezeframe {

Coordinator::Coordinator(Clock& clock, CoordinatorOptions options)
    : core_(std::make_unique<CoordinatorCore>(clock, options)) {}

Coordinator::~Coordinator() = default;

Status Coordinator::register_writer(Writer& writer) {
  std::lock_guard lock(core_->mutex);
  if (std::find(core_->writers.begin(), core_->writers.end(), &writer) != core_->writers.end())
    return Status(ErrorCode::kAlreadyExists, "writer is already registered");
  core_->writers.push_back(&writer);
  return Status();
}

Status Coordinator::unregister_writer(Writer& writer) {
  std::lock_guard lock(core_->mutex);
  auto it = std::find(core_->writers.begin(), core_->writers.end(), &writer);
  if (it == core_->writers.end())
    return not_found("writer is not registered");
  core_->writers.erase(it);
  return Status();
}

Status Coordinator::register_provider(ProtocolProvider& provider) {
  FF_TRY(core_->registry.add(provider));
  // Auto-release what a session of a dead process left behind.
  Status first_error;
  for (const SnapshotInfo& info : provider.query()) {
    if ((info.attributes & kAttrNoAutoRelease) != 0)
      continue;
    const Nanoseconds start = core_->clock.now();
    Status deleted = provider.delete_snapshot(info.id);
    core_->log(
        info.set_id, ProtocolPhase::kAutoRelease, Participant::kProvider, provider.name(), start,
        deleted.ok() ? EventOutcome::kOk : EventOutcome::kFailed,
        "snapshot " + info.id.to_string() + (deleted.ok() ? "" : ": " + deleted.to_string()));
    if (!deleted.ok() && first_error.ok())
      first_error = deleted.with_context("provider '" + provider.name() + "' auto-release");
  }
  return first_error;
}

Status Coordinator::set_default_provider(std::string volume, const Uuid& provider_id) {
  return core_->registry.set_default(std::move(volume), provider_id);
}

const ProviderRegistry& Coordinator::providers() const {
  return core_->registry;
}

Status Coordinator::add_volume(HoldableVolume& volume) {
  std::lock_guard lock(core_->mutex);
  if (!core_->volumes.emplace(volume.name(), &volume).second)
    return Status(ErrorCode::kAlreadyExists,
                  "a volume named '" + volume.name() + "' is already known to the coordinator");
  return Status();
}

std::unique_ptr<BackupSession> Coordinator::create_session() {
  return std::make_unique<BackupSession>(std::make_unique<CoordinatorSession>(*core_));
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
  std::lock_guard lock(core_->mutex);
  return core_->creating != nullptr;
}

std::vector<StalledCall> Coordinator::stalled_calls() const {
  return core_->runner.stalled();
}

}  // namespace freezeframe
