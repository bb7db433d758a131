#include "freezeframe/sim/transactional_app.h"

#include <algorithm>
#include <string>

#include "app_records.h"
#include "freezeframe/assert.h"

namespace freezeframe::sim {

namespace {

constexpr std::string_view kProductName = "freezeframe.sim.transactional-app";

bool is_power_of_two(std::uint64_t value) {
  return value != 0 && (value & (value - 1)) == 0;
}

std::uint64_t round_up(std::uint64_t value, std::uint64_t align) {
  return (value + align - 1) / align * align;
}

}  // namespace

struct TransactionalApp::Pending {
  enum class Phase : std::uint8_t { kCommit, kLogFlush, kData, kDataFlush };
  Phase phase = Phase::kCommit;
  std::uint64_t txn_id = 0;
  std::vector<std::uint64_t> blocks;
  std::vector<std::byte> images;  // sealed blocks, in `blocks` order
  std::size_t next_block = 0;
};

Result<std::unique_ptr<TransactionalApp>> TransactionalApp::create(
    Volume& data, Volume& log, const TransactionalAppOptions& options) {
  const std::string where = "transactional app '" + options.name + "': ";
  if (!is_power_of_two(options.block_bytes) || options.block_bytes < 512 ||
      options.block_bytes > 64 * 1024 || options.block_bytes % data.sector_bytes() != 0)
    return invalid_argument(where + "block_bytes " + std::to_string(options.block_bytes) +
                            " must be a power of two from 512 to 65536 and a multiple of data "
                            "volume '" +
                            data.name() + "' sector size " + std::to_string(data.sector_bytes()));
  const std::uint64_t fit = data.size_bytes() / options.block_bytes;
  const std::uint64_t blocks = options.data_blocks == 0 ? fit : options.data_blocks;
  if (blocks == 0 || blocks > fit || blocks > kDataBlocksMax)
    return invalid_argument(where + "data_blocks " + std::to_string(blocks) + " (volume '" +
                            data.name() + "' holds " + std::to_string(fit) + " blocks, limit " +
                            std::to_string(kDataBlocksMax) + ")");
  if (options.blocks_per_transaction_max == 0 ||
      options.blocks_per_transaction_max > kBlocksPerTransactionMax ||
      options.blocks_per_transaction_max > blocks)
    return invalid_argument(where + "blocks_per_transaction_max " +
                            std::to_string(options.blocks_per_transaction_max) +
                            " must be from 1 to " + std::to_string(kBlocksPerTransactionMax) +
                            " and at most data_blocks");
  if (data.read_only() || log.read_only())
    return invalid_argument(where + "data and log volumes must be writable");
  std::unique_ptr<TransactionalApp> app(new TransactionalApp(data, log, options, blocks));
  const std::uint64_t align = log.sector_bytes();
  const std::uint64_t needed = align + app->record_bytes_for(options.blocks_per_transaction_max) +
                               round_up(records::record_bytes(0, options.block_bytes), align);
  if (log.size_bytes() < needed)
    return invalid_argument(
        where + "log volume '" + log.name() + "' of " + std::to_string(log.size_bytes()) +
        " bytes cannot hold one transaction (needs " + std::to_string(needed) + ")");
  FF_TRY(app->format());
  return app;
}

TransactionalApp::TransactionalApp(Volume& data, Volume& log,
                                   const TransactionalAppOptions& options,
                                   std::uint64_t data_blocks)
    : data_(data),
      log_(log),
      options_(options),
      data_blocks_(data_blocks),
      random_(options.seed),
      log_tail_(log.sector_bytes()) {}

TransactionalApp::~TransactionalApp() = default;

std::uint64_t TransactionalApp::record_bytes_for(std::uint32_t blocks) const {
  return round_up(records::record_bytes(blocks, options_.block_bytes), log_.sector_bytes());
}

Status TransactionalApp::format() {
  const std::string where = "transactional app '" + options_.name + "': format: ";
  FF_TRY(data_.discard(0, data_blocks_ * options_.block_bytes).with_context(where));
  FF_TRY(log_.discard(0, log_.size_bytes()).with_context(where));
  std::vector<std::byte> header(log_.sector_bytes());
  records::encode_log_header({.block_bytes = options_.block_bytes,
                              .blocks_per_transaction_max = options_.blocks_per_transaction_max,
                              .data_blocks = data_blocks_,
                              .epoch = epoch_,
                              .checkpoint_txn = 0,
                              .log_bytes = log_.size_bytes(),
                              .record_align_bytes = log_.sector_bytes()},
                             header);
  FF_TRY(log_.write(0, header).with_context(where));
  FF_TRY(data_.flush().with_context(where));
  FF_TRY(log_.flush().with_context(where));
  return Status();
}

Status TransactionalApp::fail(const Status& status) {
  stats_.failed = true;
  changed_.notify_all();
  return status.with_context("transactional app '" + options_.name + "'");
}

Status TransactionalApp::checkpoint() {
  // Everything the log could redo must be durable in the data before the log forgets it.
  FF_TRY(data_.flush());
  since_data_flush_ = 0;
  std::vector<std::byte> header(log_.sector_bytes());
  records::encode_log_header({.block_bytes = options_.block_bytes,
                              .blocks_per_transaction_max = options_.blocks_per_transaction_max,
                              .data_blocks = data_blocks_,
                              .epoch = epoch_ + 1,
                              .checkpoint_txn = stats_.last_txn_id,
                              .log_bytes = log_.size_bytes(),
                              .record_align_bytes = log_.sector_bytes()},
                             header);
  FF_TRY(log_.write(0, header));
  // The new epoch must be durable before any record of it overwrites an old one.
  FF_TRY(log_.flush());
  ++epoch_;
  log_tail_ = log_.sector_bytes();
  ++stats_.checkpoints;
  return Status();
}

Status TransactionalApp::begin_transaction() {
  auto pending = std::make_unique<Pending>();
  pending->txn_id = stats_.last_txn_id + 1;
  const auto count =
      static_cast<std::uint32_t>(random_.uniform_range(1, options_.blocks_per_transaction_max));
  while (pending->blocks.size() < count) {
    const std::uint64_t block = random_.uniform(data_blocks_);
    if (std::find(pending->blocks.begin(), pending->blocks.end(), block) == pending->blocks.end())
      pending->blocks.push_back(block);
  }
  std::sort(pending->blocks.begin(), pending->blocks.end());
  records::LogRecord record;
  record.kind = records::RecordKind::kRedo;
  record.epoch = epoch_;
  record.txn_id = pending->txn_id;
  pending->images.resize(std::size_t{count} * options_.block_bytes);
  for (std::uint32_t i = 0; i < count; ++i) {
    auto image = std::span<std::byte>(pending->images)
                     .subspan(std::size_t{i} * options_.block_bytes, options_.block_bytes);
    random_.fill(image.subspan(records::kDataHeaderBytes));
    const std::uint64_t checksum =
        records::seal_data_block(image, pending->txn_id, pending->blocks[i]);
    record.entries.push_back({pending->blocks[i], checksum});
  }
  record.images = pending->images;
  const std::vector<std::byte> encoded = records::encode_log_record(record, log_.sector_bytes());
  FF_ASSERT(log_tail_ + encoded.size() <= log_.size_bytes());
  FF_TRY(log_.write(log_tail_, encoded));
  log_tail_ += encoded.size();
  stats_.last_txn_id = pending->txn_id;
  ++stats_.transactions_started;
  stats_.in_flight = true;
  pending_ = std::move(pending);
  return Status();
}

Result<AppStep> TransactionalApp::step() {
  std::lock_guard lock(mutex_);
  return step_locked();
}

Result<AppStep> TransactionalApp::step_locked() {
  if (stats_.failed)
    return bad_state("transactional app '" + options_.name + "': stopped by an earlier I/O error");
  if (pending_ == nullptr && stats_.frozen)
    return Status(ErrorCode::kBusy,
                  "transactional app '" + options_.name + "': frozen, new transactions held");
  ++stats_.steps;
  if (pending_ == nullptr) {
    const std::uint64_t room =
        record_bytes_for(options_.blocks_per_transaction_max) + record_bytes_for(0);
    if (log_tail_ + room > log_.size_bytes()) {
      Status status = checkpoint();
      if (!status.ok())
        return fail(status.with_context("checkpoint"));
      return AppStep::kCheckpoint;
    }
    Status status = begin_transaction();
    if (!status.ok())
      return fail(
          status.with_context("log record of txn " + std::to_string(stats_.last_txn_id + 1)));
    return AppStep::kLogRecord;
  }
  Pending& pending = *pending_;
  const std::string txn = "txn " + std::to_string(pending.txn_id);
  switch (pending.phase) {
    case Pending::Phase::kCommit: {
      records::LogRecord commit;
      commit.kind = records::RecordKind::kCommit;
      commit.epoch = epoch_;
      commit.txn_id = pending.txn_id;
      const std::vector<std::byte> encoded =
          records::encode_log_record(commit, log_.sector_bytes());
      Status status = log_.write(log_tail_, encoded);
      if (!status.ok())
        return fail(status.with_context("commit marker of " + txn));
      log_tail_ += encoded.size();
      pending.phase = Pending::Phase::kLogFlush;
      return AppStep::kCommitMarker;
    }
    case Pending::Phase::kLogFlush: {
      Status status = log_.flush();
      if (!status.ok())
        return fail(status.with_context("log flush of " + txn));
      pending.phase = Pending::Phase::kData;
      return AppStep::kLogFlush;
    }
    case Pending::Phase::kData: {
      const std::size_t i = pending.next_block;
      const std::uint64_t block = pending.blocks[i];
      auto image = std::span<const std::byte>(pending.images)
                       .subspan(i * options_.block_bytes, options_.block_bytes);
      Status status = data_.write(block * options_.block_bytes, image);
      if (!status.ok())
        return fail(status.with_context("data block " + std::to_string(block) + " of " + txn));
      if (++pending.next_block == pending.blocks.size()) {
        ++stats_.transactions_completed;
        ++since_data_flush_;
        if (options_.flush_every != 0 && since_data_flush_ >= options_.flush_every) {
          pending.phase = Pending::Phase::kDataFlush;
        } else {
          pending_.reset();
          stats_.in_flight = false;
        }
        changed_.notify_all();
      }
      return AppStep::kDataWrite;
    }
    case Pending::Phase::kDataFlush: {
      Status status = data_.flush();
      if (!status.ok())
        return fail(status.with_context("data flush after " + txn));
      since_data_flush_ = 0;
      pending_.reset();
      stats_.in_flight = false;
      changed_.notify_all();
      return AppStep::kDataFlush;
    }
  }
  return bad_state("unreachable");
}

Status TransactionalApp::run(std::uint64_t transactions) {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = stats_.transactions_completed + transactions;
  while (stats_.transactions_completed < target || pending_ != nullptr) {
    if (stop_ && pending_ == nullptr)
      return Status();
    if (stats_.frozen && pending_ == nullptr) {
      changed_.wait(lock, [&] { return !stats_.frozen || stop_; });
      continue;
    }
    Result<AppStep> done = step_locked();
    if (!done.ok())
      return done.status();
    // Let a freeze or a snapshot on another thread in between two I/Os.
    lock.unlock();
    lock.lock();
  }
  return Status();
}

void TransactionalApp::stop() {
  std::lock_guard lock(mutex_);
  stop_ = true;
  changed_.notify_all();
}

void TransactionalApp::wait_until_completed(std::uint64_t count) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock,
                [&] { return stats_.transactions_completed >= count || stop_ || stats_.failed; });
}

AppStats TransactionalApp::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

Uuid TransactionalApp::class_id() {
  return Uuid::from_name(kProductName);
}

Result<WriterMetadata> TransactionalApp::identify() {
  WriterMetadata metadata;
  metadata.name = options_.name;
  metadata.class_id = class_id();
  metadata.instance_id = Uuid::from_name(std::string(kProductName) + "/" + options_.name + "/" +
                                         data_.uuid().to_string() + "/" + log_.uuid().to_string());
  metadata.instance_name = options_.name;
  metadata.usage = WriterUsage::kUserData;
  metadata.source = WriterSource::kTransactedDatabase;
  metadata.level = ApplicationLevel::kBackEnd;
  metadata.restore_method = RestoreMethod::kStopRestoreStart;
  metadata.restore_service = options_.name;
  WriterComponent component;
  component.type = ComponentType::kDatabase;
  component.name = options_.name;
  component.caption = "simulated transactional database " + options_.name;
  component.volumes = {data_.name(), log_.name()};
  component.files = {FileSpec{.path = "/" + data_.name(), .filespec = options_.name + ".db"}};
  component.database_logs = {
      FileSpec{.path = "/" + log_.name(), .filespec = options_.name + ".wal"}};
  metadata.components.push_back(std::move(component));
  return metadata;
}

WriterResult TransactionalApp::prepare_snapshot(const WriterSessionInfo&) {
  std::lock_guard lock(mutex_);
  if (stats_.failed)
    return WriterResult::fail(WriterFailure::kNonRetryable,
                              options_.name + ": stopped by an earlier I/O error");
  return WriterResult::success();
}

WriterResult TransactionalApp::freeze(const WriterSessionInfo&) {
  std::lock_guard lock(mutex_);
  // Complete the in-flight transaction rather than leave it half applied in the snapshot.
  while (pending_ != nullptr) {
    Result<AppStep> done = step_locked();
    if (!done.ok())
      return WriterResult::fail(WriterFailure::kNonRetryable,
                                options_.name + ": freeze: " + done.status().to_string());
  }
  // Hold new transactions from here on, even if a flush below fails (abort() releases).
  stats_.frozen = true;
  ++stats_.freezes;
  for (Volume* volume : {&data_, &log_}) {
    Status status = volume->flush();
    if (!status.ok())
      return WriterResult::fail(WriterFailure::kRetryable,
                                options_.name + ": freeze: flush: " + status.to_string());
  }
  since_data_flush_ = 0;
  return WriterResult::success();
}

WriterResult TransactionalApp::thaw(const WriterSessionInfo&) {
  std::lock_guard lock(mutex_);
  stats_.frozen = false;
  changed_.notify_all();
  return WriterResult::success();
}

void TransactionalApp::abort(const WriterSessionInfo&) {
  std::lock_guard lock(mutex_);
  stats_.frozen = false;
  changed_.notify_all();
}

}  // namespace freezeframe::sim
