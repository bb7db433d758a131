#include "freezeframe/sim/model_check.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "freezeframe/assert.h"
#include "freezeframe/integrity.h"
#include "freezeframe/random.h"
#include "model_checker.h"

namespace freezeframe::sim {
namespace detail {

// Up to 16 bytes from `at`, in hex.
std::string hex_at(std::span<const std::byte> bytes, std::size_t at) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  for (std::size_t i = at; i < bytes.size() && i < at + 16; ++i) {
    const auto value = static_cast<unsigned>(bytes[i]);
    text += kDigits[value >> 4];
    text += kDigits[value & 0xf];
  }
  if (bytes.size() > at + 16)
    text += "...";
  return text;
}

Status ModelChecker::build() {
  const ModelCheckOptions& o = options_;
  std::uint64_t weight_total = 0;
  for (std::uint32_t weight : o.mix.values)
    weight_total += weight;
  if (weight_total == 0)
    return Status(ErrorCode::kInvalidArgument, "model check: every operation weight is 0");
  if ((o.mix[Operation::kCrash] > 0 || o.mix[Operation::kIoFault] > 0) && !o.crash)
    return Status(ErrorCode::kInvalidArgument,
                  "model check: crash and io-fault steps need crash mode");
  if (o.sector_bytes < SectorModel::kSectorBytes || o.sector_bytes % SectorModel::kSectorBytes)
    return Status(
        ErrorCode::kInvalidArgument,
        "model check: sector size " + std::to_string(o.sector_bytes) + " is not a multiple of 512");
  if (o.origin_bytes % o.sector_bytes != 0 || o.origin_bytes < 3ull * o.chunk_bytes ||
      3ull * o.chunk_bytes < o.sector_bytes)
    return Status(ErrorCode::kInvalidArgument,
                  "model check: origin of " + std::to_string(o.origin_bytes) +
                      " bytes must be a multiple of the sector size and hold three chunks of " +
                      std::to_string(o.chunk_bytes) + " bytes");

  auto origin = MemoryVolume::create(
      {.name = "origin", .size_bytes = o.origin_bytes, .sector_bytes = o.sector_bytes});
  if (!origin.ok())
    return origin.status();
  auto diff = MemoryVolume::create(
      {.name = "diff", .size_bytes = o.diff_bytes, .sector_bytes = o.sector_bytes});
  if (!diff.ok())
    return diff.status();
  origin_base_ = std::move(origin).value();
  diff_base_ = std::move(diff).value();
  origin_ = origin_base_.get();
  diff_ = diff_base_.get();
  if (o.crash) {
    auto origin_sim = SimVolume::create(
        *origin_base_, {.seed = derive_seed(o.seed, "origin"), .choices = o.choices});
    if (!origin_sim.ok())
      return origin_sim.status();
    auto diff_sim =
        SimVolume::create(*diff_base_, {.seed = derive_seed(o.seed, "diff"), .choices = o.choices});
    if (!diff_sim.ok())
      return diff_sim.status();
    origin_sim_ = std::move(origin_sim).value();
    diff_sim_ = std::move(diff_sim).value();
    origin_ = origin_sim_.get();
    diff_ = diff_sim_.get();
  }

  ProviderOptions provider_options;
  provider_options.chunk_bytes = o.chunk_bytes;
  provider_options.limit = DiffAreaLimit::unbounded();
  provider_options.snapshots_max = o.snapshots_max;
  provider_options.random = &uuids_;
  provider_options.compress = o.compress;
  provider_options.on_event = [this](const ProviderEvent& event) { record_event(event); };
  auto created = SnapshotProvider::create(o.kind, *origin_, *diff_, provider_options);
  if (!created.ok())
    return created.status();
  provider_ = std::move(created).value();
  return Status();
}

ProviderOpenOptions ModelChecker::open_options() {
  ProviderOpenOptions options;
  options.random = &uuids_;
  options.on_event = [this](const ProviderEvent& event) { record_event(event); };
  return options;
}

void ModelChecker::record_event(const ProviderEvent& event) {
  std::lock_guard lock(events_mutex_);
  events_.push_back(event);
}

// The overflow policy deletes snapshots to make room (a full diff volume under an io-fault
// step): visible in the API as an event, which the model follows.
void ModelChecker::apply_events() {
  std::vector<ProviderEvent> events;
  {
    std::lock_guard lock(events_mutex_);
    events.swap(events_);
  }
  for (const ProviderEvent& event : events) {
    if (event.kind != ProviderEventKind::kSnapshotDeletedForSpace)
      continue;
    const auto& snapshots = model_.snapshots();
    for (std::size_t i = 0; i < snapshots.size(); ++i) {
      if (snapshots[i].id == event.snapshot_id) {
        model_.snapshot_deleted(i);
        ++counts_.snapshots_deleted_for_space;
        break;
      }
    }
  }
}

bool ModelChecker::step() {
  apply_events();
  const Operation operation = draw();
  operation_ = model_operation_name(operation);
  if (!run_operation(operation))
    return false;
  ++counts_.steps;
  return true;
}

ModelCheckReport ModelChecker::run() {
  for (step_ = 0; step_ < options_.steps; ++step_) {
    if (!step())
      break;
    if (options_.after_step) {
      ModelCheckWorld hook_world = world();
      options_.after_step(step_, hook_world);
    }
  }
  if (!divergence_.has_value())
    final_checks();
  return ModelCheckReport{counts_, divergence_};
}

Operation ModelChecker::draw() {
  const auto& weights = options_.mix.values;
  std::uint64_t total = 0;
  for (std::uint32_t weight : weights)
    total += weight;
  const std::uint64_t dice = random_.uniform(total);
  std::uint64_t threshold = 0;
  for (std::size_t i = 0; i < kModelOperationCount; ++i) {
    threshold += weights[i];
    const auto operation = static_cast<Operation>(i);
    if (dice < threshold && available(operation))
      return operation;
  }
  return Operation::kCheckAll;
}

bool ModelChecker::available(Operation operation) const {
  switch (operation) {
    case Operation::kReadSnapshot:
    case Operation::kDeleteSnapshot:
    case Operation::kRevert:
    case Operation::kChangedExtents:
      return !model_.snapshots().empty();
    case Operation::kIoFault:
      // Last in the order: a step that falls through reaches it only when it is in the mix.
      return options_.crash && options_.mix[Operation::kIoFault] > 0;
    default:
      return true;
  }
}

bool ModelChecker::run_operation(Operation operation) {
  apply_events();
  switch (operation) {
    case Operation::kWrite:
      return write();
    case Operation::kDiscard:
      return discard();
    case Operation::kReadLive:
      ++counts_.by_operation[Operation::kReadLive];
      return check_read(*provider_, model_.live(), "live");
    case Operation::kReadSnapshot:
      return read_snapshot();
    case Operation::kCreateSnapshot:
      return create_snapshot();
    case Operation::kDeleteSnapshot:
      return delete_snapshot();
    case Operation::kRevert:
      return revert();
    case Operation::kConsolidate:
      return consolidate();
    case Operation::kFlush:
      return flush();
    case Operation::kReopen:
      return reopen();
    case Operation::kCrash:
      return crash();
    case Operation::kCheckAll:
      return check_all();
    case Operation::kIntegrity:
      return integrity();
    case Operation::kChangedExtents:
      return changed_extents();
    case Operation::kIoFault:
      return io_fault();
  }
  return check_all();
}

std::pair<std::uint64_t, std::uint64_t> ModelChecker::random_range(std::uint64_t max_bytes) {
  const std::uint64_t sector = options_.sector_bytes;
  const std::uint64_t length = sector * random_.uniform_range(1, max_bytes / sector);
  const std::uint64_t offset =
      sector * random_.uniform((model_.size_bytes() - length) / sector + 1);
  return {offset, length};
}

bool ModelChecker::write() {
  auto [offset, length] = random_range(3ull * options_.chunk_bytes);
  Bytes data(length);
  fill_mixed(random_, data);
  model_.begin_write(offset, data);
  if (!expect_ok(provider_->write(offset, data), "status", offset, length))
    return false;
  model_.complete_write(offset, data);
  ++counts_.by_operation[Operation::kWrite];
  return true;
}

bool ModelChecker::discard() {
  auto [offset, length] = random_range(2ull * options_.chunk_bytes);
  const Bytes zeros(length);
  model_.begin_write(offset, zeros);
  if (!expect_ok(provider_->discard(offset, length), "status", offset, length))
    return false;
  model_.complete_write(offset, zeros);
  ++counts_.by_operation[Operation::kDiscard];
  return true;
}

bool ModelChecker::check_read(Volume& volume, const Bytes& image, const std::string& subject) {
  auto [offset, length] = random_range(3ull * options_.chunk_bytes);
  Bytes got(length);
  if (!expect_ok(volume.read(offset, got), subject + " read status", offset, length))
    return false;
  return expect_same(std::span<const std::byte>(image).subspan(offset, length), got, offset,
                     subject);
}

bool ModelChecker::read_snapshot() {
  const std::size_t index = random_.uniform(model_.snapshots().size());
  auto volume = provider_->open_snapshot(model_.snapshots()[index].id);
  if (!expect_ok(volume.status(), snapshot_subject(index) + " open status"))
    return false;
  ++counts_.by_operation[Operation::kReadSnapshot];
  return check_read(*volume.value(), model_.snapshots()[index].image, snapshot_subject(index));
}

bool ModelChecker::create_snapshot() {
  auto info = provider_->create_snapshot(Uuid(), options_.snapshot_attributes);
  if (model_.snapshots().size() >= options_.snapshots_max) {
    ++counts_.snapshots_refused;
    return expect_code(info.status(), ErrorCode::kLimitExceeded, "status at snapshots_max");
  }
  if (!expect_ok(info.status(), "status"))
    return false;
  model_.snapshot_created(info.value().id);
  ++counts_.by_operation[Operation::kCreateSnapshot];
  return true;
}

bool ModelChecker::delete_snapshot() {
  const std::size_t index = random_.uniform(model_.snapshots().size());
  if (!expect_ok(provider_->delete_snapshot(model_.snapshots()[index].id),
                 snapshot_subject(index) + " status"))
    return false;
  model_.snapshot_deleted(index);
  ++counts_.by_operation[Operation::kDeleteSnapshot];
  return true;
}

bool ModelChecker::revert() {
  const std::size_t index = random_.uniform(model_.snapshots().size());
  model_.begin_revert(index);
  if (!expect_ok(provider_->revert_to_snapshot(model_.snapshots()[index].id),
                 snapshot_subject(index) + " status"))
    return false;
  model_.reverted(index);
  ++counts_.by_operation[Operation::kRevert];
  return true;
}

bool ModelChecker::consolidate() {
  ++counts_.by_operation[Operation::kConsolidate];
  // Consolidation is RowProvider's alone: a CoW provider must not present itself as one.
  RowProvider* row = provider_->as_row();
  if (options_.kind == ProviderKind::kCopyOnWrite) {
    return row == nullptr ||
           diverged("class (CoW cannot consolidate)", 0, 0, "CowProvider", "RowProvider");
  }
  if (row == nullptr)
    return diverged("class", 0, 0, "RowProvider", "CowProvider");
  return expect_ok(row->consolidate(), "status");
}

bool ModelChecker::flush() {
  if (!expect_ok(provider_->flush(), "status"))
    return false;
  model_.flushed();
  ++counts_.by_operation[Operation::kFlush];
  return true;
}

// Close and reopen: a clean shutdown flushes first.
bool ModelChecker::reopen() {
  if (!expect_ok(provider_->flush(), "flush status"))
    return false;
  model_.flushed();
  provider_.reset();
  auto reopened = SnapshotProvider::open(*origin_, *diff_, open_options());
  if (!expect_ok(reopened.status(), "open status"))
    return false;
  provider_ = std::move(reopened).value();
  ++counts_.by_operation[Operation::kReopen];
  return true;
}

// Power loss: no flush; each unflushed sector of either volume survives or not.
bool ModelChecker::crash() {
  ++counts_.by_operation[Operation::kCrash];
  provider_.reset();
  origin_sim_->crash();
  diff_sim_->crash();
  auto reopened = SnapshotProvider::open(*origin_, *diff_, open_options());
  if (!expect_ok(reopened.status(), "open status after the crash"))
    return false;
  provider_ = std::move(reopened).value();
  Bytes image(model_.size_bytes());
  if (!expect_ok(provider_->read(0, image), "live read status after the crash"))
    return false;
  if (auto sector = model_.first_unrecoverable_sector(image); sector.has_value()) {
    const std::uint64_t offset = *sector * SectorModel::kSectorBytes;
    return diverged("live after the crash", offset, SectorModel::kSectorBytes,
                    "the sector's durable content or a write issued since the last flush",
                    hex_at(image, offset));
  }
  model_.adopt(image);
  return check_all();
}

// The diff area as written so far (flushed first) must check clean: every stored chunk
// matches its checksum, the journal holds no damage, the accounting adds up.
bool ModelChecker::integrity() {
  if (!flush())
    return false;
  ++counts_.by_operation[Operation::kIntegrity];
  auto report = check_diff_area(*origin_, *diff_);
  if (!expect_ok(report.status(), "integrity check status"))
    return false;
  if (report->ok())
    return true;
  std::string found = !report->fatal.ok()     ? report->fatal.to_string()
                      : !report->journal.ok() ? report->journal.to_string()
                      : !report->chunks.empty()
                          ? "damaged chunk " + std::to_string(report->chunks.front().chunk) + ": " +
                                report->chunks.front().detail
                      : !report->accounting.empty() ? report->accounting.front()
                                                    : std::string("the live volume damaged");
  return diverged("integrity check", 0, 0, "a clean diff area", found);
}

bool ModelChecker::changed_extents() {
  const std::size_t index = random_.uniform(model_.snapshots().size());
  const std::string subject = snapshot_subject(index);
  auto info = provider_->snapshot_info(model_.snapshots()[index].id);
  if (!expect_ok(info.status(), subject + " info status"))
    return false;
  auto changed = provider_->changed_extents(info->change_id);
  if (!expect_ok(changed.status(), subject + " changed-extents status"))
    return false;
  ++counts_.by_operation[Operation::kChangedExtents];
  if (changed->reset) {
    ++counts_.change_resets;
    if (changed->reset_reason.find("older than the oldest kept") != std::string::npos)
      return true;
    return diverged(subject + " change tracking", 0, 0, "changes or a reset for an old id",
                    "reset: " + changed->reset_reason);
  }
  const Bytes& image = model_.snapshots()[index].image;
  const Bytes& live = model_.live();
  const std::uint64_t chunk = options_.chunk_bytes;
  std::size_t next = 0;
  for (std::uint64_t offset = 0; offset < live.size(); offset += chunk) {
    const std::uint64_t length = std::min<std::uint64_t>(chunk, live.size() - offset);
    if (std::memcmp(live.data() + offset, image.data() + offset, length) == 0)
      continue;
    while (next < changed->extents.size() && changed->extents[next].end() <= offset)
      ++next;
    if (next == changed->extents.size() || changed->extents[next].offset > offset) {
      return diverged(subject + " change tracking", offset, length, "the chunk listed as changed",
                      "not listed");
    }
  }
  return true;
}

bool ModelChecker::io_fault() {
  ++counts_.by_operation[Operation::kIoFault];
  const bool on_diff = random_.chance(0.5);
  SimVolume& target = on_diff ? *diff_sim_ : *origin_sim_;
  FaultRule rule;
  rule.trigger = FaultRule::Trigger::kNth;
  rule.n = random_.uniform_range(1, 6);
  rule.failures_max = 1;
  rule.code = random_.chance(0.3) ? ErrorCode::kNoSpace : ErrorCode::kIoError;
  const FaultId fault = target.add_fault(rule);
  const bool flush_only = random_.chance(0.25);
  Status status;
  if (flush_only) {
    status = provider_->flush();
    if (status.ok())
      model_.flushed();
  } else {
    auto [offset, length] = random_range(3ull * options_.chunk_bytes);
    Bytes data(length);
    fill_mixed(random_, data);
    model_.begin_write(offset, data);
    status = provider_->write(offset, data);
    if (status.ok())
      model_.complete_write(offset, data);
  }
  target.remove_fault(fault);
  if (status.ok())
    return true;
  // A failure must say so with an error code of its own, not pass for another condition.
  if (status.code() != ErrorCode::kIoError && status.code() != ErrorCode::kNoSpace &&
      status.code() != ErrorCode::kBadState)
    return diverged(std::string(flush_only ? "flush" : "write") + " status under an injected " +
                        (rule.code == ErrorCode::kNoSpace ? "no-space" : "I/O") + " error on the " +
                        (on_diff ? "diff" : "origin") + " volume",
                    0, 0, "io-error, no-space or bad-state", status.to_string());
  ++counts_.io_faults_failed;
  return crash();
}

bool ModelChecker::check_all() {
  apply_events();
  ++counts_.by_operation[Operation::kCheckAll];
  Bytes got(model_.size_bytes());
  if (!expect_ok(provider_->read(0, got), "live read status"))
    return false;
  if (!expect_same(model_.live(), got, 0, "live"))
    return false;
  for (std::size_t i = 0; i < model_.snapshots().size(); ++i) {
    auto volume = provider_->open_snapshot(model_.snapshots()[i].id);
    if (!expect_ok(volume.status(), snapshot_subject(i) + " open status"))
      return false;
    if (!expect_ok(volume.value()->read(0, got), snapshot_subject(i) + " read status"))
      return false;
    if (!expect_same(model_.snapshots()[i].image, got, 0, snapshot_subject(i)))
      return false;
  }
  return true;
}

bool ModelChecker::final_checks() {
  step_ = options_.steps;
  operation_ = "final-check";
  if (!check_all())
    return false;
  operation_ = "catalog";
  if (!check_catalog())
    return false;
  // Space accounting agrees with the index: nothing leaked.
  operation_ = "usage";
  const auto& expected = model_.snapshots();
  if (expected.empty() && options_.kind == ProviderKind::kCopyOnWrite) {
    const std::uint64_t used = provider_->usage().used_bytes;
    if (used != 0)
      return diverged("diff area bytes used with no snapshot", 0, 0, "0", std::to_string(used));
  }
  return true;
}

bool ModelChecker::check_catalog() {
  apply_events();
  const auto listed = provider_->snapshots();
  const auto& expected = model_.snapshots();
  if (listed.size() != expected.size())
    return diverged("snapshot count", 0, 0, std::to_string(expected.size()),
                    std::to_string(listed.size()));
  for (std::size_t i = 0; i < listed.size(); ++i) {
    if (listed[i].id != expected[i].id)
      return diverged("snapshot " + std::to_string(i) + " id", 0, 0, expected[i].id.to_string(),
                      listed[i].id.to_string());
  }
  return true;
}

std::string ModelChecker::snapshot_subject(std::size_t index) const {
  return "snapshot " + std::to_string(index) + " (" + model_.snapshots()[index].id.to_string() +
         ")";
}

ModelCheckWorld ModelChecker::world() {
  return ModelCheckWorld{origin_base_.get(), diff_base_.get(), origin_sim_.get(),
                         diff_sim_.get(),    provider_.get(),  &model_};
}

bool ModelChecker::diverged(std::string subject, std::uint64_t offset, std::uint64_t length,
                            std::string expected, std::string actual) {
  if (!divergence_.has_value()) {
    divergence_ = Divergence{.seed = options_.seed,
                             .step = step_,
                             .operation = operation_,
                             .subject = std::move(subject),
                             .offset = offset,
                             .length = length,
                             .expected = std::move(expected),
                             .actual = std::move(actual)};
  }
  return false;
}

bool ModelChecker::expect_ok(const Status& status, std::string subject, std::uint64_t offset,
                             std::uint64_t length) {
  if (status.ok())
    return true;
  return diverged(std::move(subject), offset, length, "OK", status.to_string());
}

bool ModelChecker::expect_code(const Status& status, ErrorCode code, std::string subject) {
  if (status.code() == code)
    return true;
  return diverged(std::move(subject), 0, 0, std::string(error_code_name(code)),
                  status.ok() ? "OK" : status.to_string());
}

bool ModelChecker::expect_same(std::span<const std::byte> expected,
                               std::span<const std::byte> actual, std::uint64_t offset,
                               std::string subject) {
  FF_ASSERT(expected.size() == actual.size());
  // memcmp first: a byte loop over whole images is slow in unoptimised builds.
  if (std::memcmp(expected.data(), actual.data(), expected.size()) == 0)
    return true;
  auto [at, unused] = std::mismatch(expected.begin(), expected.end(), actual.begin());
  const auto index = static_cast<std::size_t>(at - expected.begin());
  return diverged(std::move(subject), offset + index, actual.size(), hex_at(expected, index),
                  hex_at(actual, index));
}

}  // namespace detail

std::string Divergence::to_string() const {
  std::string text = "model check diverged: seed " + std::to_string(seed) + ", step " +
                     std::to_string(step) + ", " + operation + ": " + subject;
  if (length > 0)
    text += " at offset " + std::to_string(offset) + " (extent of " + std::to_string(length) +
            " bytes)";
  return text + ": expected " + expected + ", actual " + actual;
}

std::string_view model_operation_name(ModelOperation operation) noexcept {
  static constexpr std::array<std::string_view, kModelOperationCount> kNames = {
      "write",     "discard",         "read",    "read",   "create-snapshot", "delete-snapshot",
      "revert",    "consolidate",     "flush",   "reopen", "crash",           "check-all",
      "integrity", "changed-extents", "io-fault"};
  return kNames[static_cast<std::size_t>(operation)];
}

Result<ModelCheckReport> run_model_check(const ModelCheckOptions& options) {
  detail::ModelChecker checker(options);
  FF_TRY(checker.build());
  return checker.run();
}

void fill_mixed(Random& random, std::span<std::byte> out) {
  if (random.chance(0.3)) {
    random.fill(out);  // incompressible
    return;
  }
  std::size_t position = 0;
  while (position < out.size()) {
    std::size_t run = std::min<std::size_t>(out.size() - position, random.uniform_range(16, 2048));
    if (random.chance(0.2)) {
      random.fill(out.subspan(position, run));
    } else {
      std::fill_n(out.begin() + static_cast<std::ptrdiff_t>(position), run,
                  static_cast<std::byte>(random.uniform(256)));
    }
    position += run;
  }
}

}  // namespace freezeframe::sim
