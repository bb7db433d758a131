// TransactionalApp: a simulated write-ahead-logging database, and ConsistencyChecker, which
// judges a data image and a log image of it.
//
// The app keeps two volumes: a data volume of fixed-size blocks and a log volume. Each
// transaction gets the next id (1, 2, ...), picks a few data blocks (seeded), and then, one
// I/O per step():
//
//   1. writes a redo log record: txn id, each block's address and the XXH3 checksum of its
//      new content, the new block images, and a record checksum;
//   2. writes a commit marker for the txn;
//   3. flushes the log (the write-ahead rule: no data block reaches the data volume before
//      the log that can redo it is durable);
//   4. writes the data blocks, one per step; each carries its own header (txn id, address,
//      checksum);
//   5. every `flush_every` transactions, flushes the data volume.
//
// When the log has no room for the next transaction, the app checkpoints first: it flushes
// the data volume, rewrites the log header with the next epoch and the last applied txn id
// (which empties the log), and flushes the log. The record formats are documented in
// docs/simulation.md ("Transactional app").
//
// It is also a Writer: identify() describes one database component on both volumes;
// freeze() finishes the in-flight transaction, flushes both volumes and holds new
// transactions until thaw() or abort(). So snapshots of both volumes taken between freeze
// and thaw check kConsistent, while snapshots taken under load without freezing are only
// kRecoverable (the log must be replayed).
//
// Determinism: every choice (blocks, contents) is drawn from one Random seeded by
// `options.seed`, in transaction order, so the same seed writes the same transactions
// whatever the thread timing.
//
// Thread-safety: every method may be called from any thread. Each step() runs under one
// mutex, so a snapshot taken by another thread sees the volumes between two I/Os. freeze()
// may be called while another thread is inside run(): it completes the in-flight
// transaction itself, and run() then waits at the next transaction boundary until thaw(),
// abort() or stop().
//
// Lifetime: the data and log volumes are borrowed and must outlive the app.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "freezeframe/random.h"
#include "freezeframe/status.h"
#include "freezeframe/volume.h"
#include "freezeframe/writer.h"

namespace freezeframe::sim {

struct TransactionalAppOptions {
  // Writer and component name.
  std::string name = "sim-database";
  std::uint64_t seed = 0;
  // Size of a data block: a power of two from 512 to 64 KiB, a multiple of the data
  // volume's sector size.
  std::uint32_t block_bytes = 4096;
  // Blocks of the data volume the app uses; 0: as many as fit. At most kDataBlocksMax.
  std::uint64_t data_blocks = 0;
  // Each transaction writes 1 to this many distinct blocks (at most
  // kBlocksPerTransactionMax and data_blocks).
  std::uint32_t blocks_per_transaction_max = 4;
  // Flush the data volume after every N-th transaction; 0: only at checkpoints and freeze.
  std::uint64_t flush_every = 8;
};

// What one step() did.
enum class AppStep : std::uint8_t {
  kCheckpoint = 1,    // flushed data, emptied the log (new epoch), flushed the log
  kLogRecord = 2,     // wrote a transaction's redo record
  kCommitMarker = 3,  // wrote its commit marker
  kLogFlush = 4,      // flushed the log
  kDataWrite = 5,     // wrote one data block
  kDataFlush = 6,     // flushed the data volume
};

struct AppStats {
  std::uint64_t transactions_started = 0;
  std::uint64_t transactions_completed = 0;  // every data block written
  std::uint64_t last_txn_id = 0;             // of the newest transaction started
  std::uint64_t checkpoints = 0;
  std::uint64_t steps = 0;
  std::uint64_t freezes = 0;
  bool in_flight = false;  // a transaction is between its log record and its last block
  bool frozen = false;
  bool failed = false;  // an I/O error stopped the app
};

class TransactionalApp final : public Writer {
 public:
  static constexpr std::uint32_t kBlocksPerTransactionMax = 64;
  static constexpr std::uint64_t kDataBlocksMax = std::uint64_t{1} << 32;

  // Formats both volumes (discards the data blocks, writes an empty log) and flushes them.
  // kInvalidArgument names the offending option; kInvalidArgument too if the log cannot hold
  // one transaction of the largest size.
  static Result<std::unique_ptr<TransactionalApp>> create(Volume& data, Volume& log,
                                                          const TransactionalAppOptions& options);
  ~TransactionalApp() override;

  // One I/O of the transaction state machine (see the file comment). kBusy when frozen at a
  // transaction boundary (the app holds new transactions); kBadState after an I/O error.
  Result<AppStep> step();
  // Runs until `transactions` more transactions have completed, waiting while frozen. Returns
  // early (OK) after stop(). Errors are those of step().
  Status run(std::uint64_t transactions);
  // Makes run() return at the next transaction boundary, now and from now on.
  void stop();
  // Blocks until at least `count` transactions have completed, stop() was called, or the app
  // failed. For tests that let a background thread make progress without sleeping.
  void wait_until_completed(std::uint64_t count);

  AppStats stats() const;
  std::uint32_t block_bytes() const noexcept { return options_.block_bytes; }
  std::uint64_t data_blocks() const noexcept { return data_blocks_; }

  // Writer.
  Result<WriterMetadata> identify() override;
  WriterResult prepare_snapshot(const WriterSessionInfo& session) override;
  WriterResult freeze(const WriterSessionInfo& session) override;
  WriterResult thaw(const WriterSessionInfo& session) override;
  void abort(const WriterSessionInfo& session) override;

  // The class id of every TransactionalApp (Uuid::from_name of a fixed product name).
  static Uuid class_id();

 private:
  struct Pending;
  TransactionalApp(Volume& data, Volume& log, const TransactionalAppOptions& options,
                   std::uint64_t data_blocks);

  Status format();
  Result<AppStep> step_locked();
  Status begin_transaction();
  Status checkpoint();
  std::uint64_t record_bytes_for(std::uint32_t blocks) const;
  Status fail(const Status& status);

  Volume& data_;
  Volume& log_;
  TransactionalAppOptions options_;
  std::uint64_t data_blocks_;
  Random random_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::unique_ptr<Pending> pending_;  // the in-flight transaction
  std::uint64_t epoch_ = 1;
  std::uint64_t log_tail_ = 0;  // offset of the next log record
  std::uint64_t since_data_flush_ = 0;
  bool stop_ = false;
  AppStats stats_;
};

// What the checker concluded about a data image and a log image.
enum class Consistency : std::uint8_t {
  // Every transaction in the log is committed and applied; every data block is whole and
  // matches the newest logged checksum for it. Usable as is: application-consistent.
  kConsistent = 1,
  // The log is intact; replaying its committed records onto the data gives a consistent
  // image (torn or missing data blocks, an uncommitted tail). Crash-consistent only.
  kRecoverable = 2,
  // Neither: a damaged log record or header, or a data block the log cannot redo.
  kCorrupt = 3,
};
// "consistent", "recoverable", "corrupt".
std::string_view consistency_name(Consistency consistency) noexcept;

struct ConsistencyReport {
  Consistency verdict = Consistency::kCorrupt;
  std::uint64_t epoch = 0;
  std::uint64_t checkpoint_txn = 0;  // transactions up to this one were applied before the log
  std::uint64_t log_records = 0;     // redo records read
  std::uint64_t committed_transactions = 0;
  std::uint64_t uncommitted_transactions = 0;  // a record without its commit marker (0 or 1)
  std::uint64_t last_committed_txn = 0;
  std::uint64_t blocks_checked = 0;
  std::uint64_t blocks_matching = 0;  // hold exactly what the log says they should
  std::uint64_t blocks_behind = 0;    // blank or whole, but older than the log's newest version
  std::uint64_t blocks_torn = 0;      // header or checksum invalid
  // The first problem found (empty when kConsistent), naming the transaction and the block.
  std::string message{};
  std::uint64_t problem_txn = 0;
  std::uint64_t problem_block = 0;
};

// Reads whole images; the volumes are typically snapshots. Stateless and thread-safe.
class ConsistencyChecker {
 public:
  // Judges the pair. I/O errors are returned as such; everything found in the images is a
  // verdict in the report.
  static Result<ConsistencyReport> check(Volume& data, Volume& log);
  // Crash recovery: replays the committed records onto `data`, flushes it, then empties the
  // log (next epoch, checkpoint at the last committed txn) and flushes it. Afterwards the
  // pair checks kConsistent. Refuses a kCorrupt pair with kCorrupt and the report's message,
  // writing nothing.
  static Status recover(Volume& data, Volume& log);
};

}  // namespace freezeframe::sim
