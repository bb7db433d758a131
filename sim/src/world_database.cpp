#include "world_database.h"

#include <utility>

namespace freezeframe::sim::detail {
namespace {

constexpr std::uint64_t kDataBytes = 256 << 10;
constexpr std::uint64_t kLogBytes = 128 << 10;
constexpr std::uint64_t kDiffBytes = 16 << 20;

}  // namespace

WorldDatabase::WorldDatabase(std::uint64_t seed, ProviderKind kind)
    : seed_(seed), kind_(kind), uuids_(derive_seed(seed, "database-uuids")) {}

Result<std::unique_ptr<WorldDatabase>> WorldDatabase::create(std::uint64_t seed,
                                                             ProviderKind kind) {
  std::unique_ptr<WorldDatabase> database(new WorldDatabase(seed, kind));
  FF_TRY(database->make_disk(database->data_, kDataName, kDataBytes));
  FF_TRY(database->make_disk(database->log_, kLogName, kLogBytes));
  FF_TRY(database->start_app());
  return database;
}

Status WorldDatabase::make_disk(Disk& disk, const std::string& name, std::uint64_t bytes) {
  FF_ASSIGN_OR_RETURN(
      disk.origin_base,
      MemoryVolume::create({.name = name, .size_bytes = bytes, .sector_bytes = 512}));
  FF_ASSIGN_OR_RETURN(disk.diff_base,
                      MemoryVolume::create(
                          {.name = name + "-diff", .size_bytes = kDiffBytes, .sector_bytes = 512}));
  FF_ASSIGN_OR_RETURN(disk.origin,
                      SimVolume::create(*disk.origin_base, {.seed = derive_seed(seed_, name)}));
  FF_ASSIGN_OR_RETURN(
      disk.diff, SimVolume::create(*disk.diff_base, {.seed = derive_seed(seed_, name + "-diff")}));
  ProviderOptions options;
  options.chunk_bytes = 4096;
  options.limit = DiffAreaLimit::unbounded();
  options.random = &uuids_;
  FF_ASSIGN_OR_RETURN(disk.provider,
                      SnapshotProvider::create(kind_, *disk.origin, *disk.diff, options));
  disk.holdable = std::make_unique<HoldableVolume>(*disk.provider, name);
  return Status();
}

Status WorldDatabase::start_app() {
  app_.reset();
  TransactionalAppOptions options;
  options.seed = derive_seed(seed_, "database-" + std::to_string(generation_++));
  options.flush_every = 4;
  FF_ASSIGN_OR_RETURN(app_, TransactionalApp::create(*data_.holdable, *log_.holdable, options));
  return Status();
}

Status WorldDatabase::run(std::uint64_t steps) {
  for (std::uint64_t i = 0; i < steps; ++i)
    FF_TRY(app_->step().status().with_context("the database's transactions"));
  return Status();
}

std::uint64_t WorldDatabase::transactions() const {
  return app_->stats().transactions_completed;
}

Result<std::string> WorldDatabase::check_set(const Uuid& data_id, const Uuid& log_id) {
  FF_ASSIGN_OR_RETURN(auto data, data_.provider->open_snapshot(data_id));
  FF_ASSIGN_OR_RETURN(auto log, log_.provider->open_snapshot(log_id));
  FF_ASSIGN_OR_RETURN(ConsistencyReport report, ConsistencyChecker::check(*data, *log));
  data.reset();
  log.reset();
  FF_TRY(data_.provider->delete_snapshot(data_id));
  FF_TRY(log_.provider->delete_snapshot(log_id));
  if (report.verdict != Consistency::kConsistent)
    return "the database's snapshots check " + std::string(consistency_name(report.verdict)) +
           ", not consistent, although it froze for the set: " + report.message;
  return std::string();
}

std::string WorldDatabase::check_clean() {
  if (app_->stats().frozen)
    return "the database is still frozen after the set";
  if (!data_.provider->snapshots().empty() || !log_.provider->snapshots().empty())
    return "a snapshot of the database's volumes is left after the set";
  return std::string();
}

Result<std::string> WorldDatabase::crash() {
  app_.reset();
  for (Disk* disk : {&data_, &log_}) {
    disk->holdable.reset();
    disk->provider.reset();
    disk->origin->crash();
    disk->diff->crash();
    ProviderOpenOptions options;
    options.random = &uuids_;
    FF_ASSIGN_OR_RETURN(disk->provider,
                        SnapshotProvider::open(*disk->origin, *disk->diff, options));
    disk->holdable =
        std::make_unique<HoldableVolume>(*disk->provider, disk == &data_ ? kDataName : kLogName);
  }
  FF_ASSIGN_OR_RETURN(ConsistencyReport report,
                      ConsistencyChecker::check(*data_.holdable, *log_.holdable));
  if (report.verdict == Consistency::kCorrupt)
    return "after the power loss the database's volumes check corrupt: " + report.message;
  FF_TRY(ConsistencyChecker::recover(*data_.holdable, *log_.holdable));
  FF_ASSIGN_OR_RETURN(report, ConsistencyChecker::check(*data_.holdable, *log_.holdable));
  if (report.verdict != Consistency::kConsistent)
    return "after recovery the database's volumes check " +
           std::string(consistency_name(report.verdict)) + ": " + report.message;
  FF_TRY(start_app());
  return std::string();
}

}  // namespace freezeframe::sim::detail
