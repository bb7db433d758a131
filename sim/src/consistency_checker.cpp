#include <algorithm>
#include <map>
#include <optional>
#include <string>

#include "app_records.h"
#include "freezeframe/enum_names.h"
#include "freezeframe/sim/transactional_app.h"

namespace freezeframe::sim {

namespace {

using records::DataBlock;
using records::LogHeader;
using records::LogRecord;

// Blocks read from the data image per request.
constexpr std::uint64_t kReadBatchBytesMax = 1 << 20;

struct NewestVersion {
  std::uint64_t txn_id = 0;
  std::uint64_t checksum = 0;
  const LogRecord* record = nullptr;
  std::size_t entry = 0;
};

struct Scan {
  LogHeader header;
  std::vector<LogRecord> committed;
  std::optional<LogRecord> uncommitted;
  std::uint64_t records = 0;
  // A problem in the log itself (kCorrupt); empty if none.
  std::string problem;
  std::uint64_t problem_txn = 0;
};

std::uint64_t round_up(std::uint64_t value, std::uint64_t align) {
  return (value + align - 1) / align * align;
}

// Reads the log's records in order up to its end: the first slot that does not hold a whole,
// checksummed record of the current epoch. A torn or missing record there is the normal end
// of a log after a crash; what lies before it must be well formed.
Result<Scan> scan_log(Volume& log) {
  Scan scan;
  std::vector<std::byte> first(std::max<std::uint64_t>(log.sector_bytes(), 512));
  if (first.size() > log.size_bytes())
    return corrupt("log '" + log.name() + "': too small for a header");
  FF_TRY(log.read(0, first));
  Result<LogHeader> header = records::decode_log_header(first);
  if (!header.ok())
    return header.status().with_context("log '" + log.name() + "'");
  scan.header = *header;
  const std::uint64_t align = scan.header.record_align_bytes;
  const std::uint64_t end = std::min(scan.header.log_bytes, log.size_bytes());
  if (align % log.sector_bytes() != 0)
    return corrupt("log '" + log.name() + "': record alignment " + std::to_string(align) +
                   " is not a multiple of its sector size");
  std::uint64_t last_txn = scan.header.checkpoint_txn;
  std::vector<std::byte> buffer;
  for (std::uint64_t offset = align; offset + align <= end;) {
    buffer.resize(align);
    FF_TRY(log.read(offset, buffer));
    Result<records::RecordHeader> record_header =
        records::decode_record_header(buffer, scan.header);
    if (!record_header.ok() || record_header->epoch != scan.header.epoch)
      break;
    const std::uint64_t padded = round_up(record_header->record_bytes, align);
    if (offset + padded > end)
      break;
    buffer.resize(padded);
    FF_TRY(log.read(offset, buffer));
    Result<LogRecord> record = records::decode_log_record(buffer, scan.header);
    if (!record.ok())
      break;
    offset += padded;
    if (record->kind == records::RecordKind::kRedo) {
      ++scan.records;
      if (scan.uncommitted.has_value()) {
        scan.problem = "txn " + std::to_string(scan.uncommitted->txn_id) +
                       " has no commit marker but txn " + std::to_string(record->txn_id) +
                       " follows it in the log";
        scan.problem_txn = scan.uncommitted->txn_id;
        return scan;
      }
      if (record->txn_id <= last_txn) {
        scan.problem = "txn " + std::to_string(record->txn_id) + " follows txn " +
                       std::to_string(last_txn) + " in the log (ids must increase)";
        scan.problem_txn = record->txn_id;
        return scan;
      }
      last_txn = record->txn_id;
      scan.uncommitted = std::move(record).value();
    } else {
      if (!scan.uncommitted.has_value() || scan.uncommitted->txn_id != record->txn_id) {
        scan.problem = "commit marker of txn " + std::to_string(record->txn_id) +
                       " does not follow that txn's log record";
        scan.problem_txn = record->txn_id;
        return scan;
      }
      scan.committed.push_back(std::move(*scan.uncommitted));
      scan.uncommitted.reset();
    }
  }
  return scan;
}

struct Analysis {
  Scan scan;
  ConsistencyReport report;
  std::map<std::uint64_t, NewestVersion> newest;  // block -> newest committed version
};

void note_problem(ConsistencyReport& report, std::string message, std::uint64_t txn,
                  std::uint64_t block) {
  if (!report.message.empty())
    return;
  report.message = std::move(message);
  report.problem_txn = txn;
  report.problem_block = block;
}

Result<Analysis> analyse(Volume& data, Volume& log) {
  Analysis analysis;
  FF_ASSIGN_OR_RETURN(analysis.scan, scan_log(log));
  const Scan& scan = analysis.scan;
  ConsistencyReport& report = analysis.report;
  const LogHeader& header = scan.header;
  report.epoch = header.epoch;
  report.checkpoint_txn = header.checkpoint_txn;
  report.log_records = scan.records;
  report.committed_transactions = scan.committed.size();
  report.uncommitted_transactions = scan.uncommitted.has_value() ? 1 : 0;
  report.last_committed_txn =
      scan.committed.empty() ? header.checkpoint_txn : scan.committed.back().txn_id;
  if (!scan.problem.empty()) {
    report.verdict = Consistency::kCorrupt;
    note_problem(report, "log: " + scan.problem, scan.problem_txn, 0);
    return analysis;
  }
  if (header.data_blocks * header.block_bytes > data.size_bytes() ||
      header.block_bytes % data.sector_bytes() != 0)
    return invalid_argument("data '" + data.name() + "' (" + std::to_string(data.size_bytes()) +
                            " bytes) cannot hold the " + std::to_string(header.data_blocks) +
                            " blocks of " + std::to_string(header.block_bytes) +
                            " bytes the log describes");
  for (const LogRecord& record : scan.committed) {
    for (std::size_t i = 0; i < record.entries.size(); ++i) {
      analysis.newest[record.entries[i].block_index] = {record.txn_id, record.entries[i].checksum,
                                                        &record, i};
    }
  }
  const std::uint64_t uncommitted_txn = scan.uncommitted ? scan.uncommitted->txn_id : 0;

  bool corrupt_found = false;
  bool recoverable_found = false;
  const std::uint64_t batch_blocks =
      std::max<std::uint64_t>(1, kReadBatchBytesMax / header.block_bytes);
  std::vector<std::byte> buffer;
  for (std::uint64_t first = 0; first < header.data_blocks; first += batch_blocks) {
    const std::uint64_t count = std::min(batch_blocks, header.data_blocks - first);
    buffer.resize(count * header.block_bytes);
    FF_TRY(data.read(first * header.block_bytes, buffer));
    for (std::uint64_t i = 0; i < count; ++i) {
      const std::uint64_t index = first + i;
      const std::string name = "data block " + std::to_string(index);
      DataBlock block = records::inspect_data_block(
          std::span<const std::byte>(buffer).subspan(i * header.block_bytes, header.block_bytes),
          index);
      ++report.blocks_checked;
      auto found = analysis.newest.find(index);
      const bool valid = block.state == DataBlock::State::kValid;
      if (block.state == DataBlock::State::kTorn)
        ++report.blocks_torn;
      if (found == analysis.newest.end()) {
        // The log cannot redo this block: it must be blank or from before the checkpoint.
        if (block.state == DataBlock::State::kBlank ||
            (valid && block.txn_id <= header.checkpoint_txn)) {
          ++report.blocks_matching;
        } else if (valid) {
          corrupt_found = true;
          note_problem(
              report,
              name + " holds txn " + std::to_string(block.txn_id) +
                  (block.txn_id == uncommitted_txn
                       ? ", which has no commit marker in the log"
                       : ", which the log does not hold (checkpoint txn " +
                             std::to_string(header.checkpoint_txn) + ", last committed txn " +
                             std::to_string(report.last_committed_txn) + ")"),
              block.txn_id, index);
        } else {
          corrupt_found = true;
          note_problem(report, name + " is torn and no committed txn in the log rewrites it", 0,
                       index);
        }
        continue;
      }
      const NewestVersion& newest = found->second;
      if (valid && block.txn_id == newest.txn_id && block.checksum == newest.checksum) {
        ++report.blocks_matching;
      } else if (valid && block.txn_id > newest.txn_id) {
        corrupt_found = true;
        note_problem(report,
                     name + " holds txn " + std::to_string(block.txn_id) +
                         ", newer than the newest committed txn for it in the log (txn " +
                         std::to_string(newest.txn_id) + ")",
                     block.txn_id, index);
      } else if (valid && block.txn_id == newest.txn_id) {
        corrupt_found = true;
        note_problem(report,
                     name + " holds txn " + std::to_string(block.txn_id) +
                         " with a checksum that differs from the log's",
                     block.txn_id, index);
      } else {
        recoverable_found = true;
        if (block.state != DataBlock::State::kTorn)
          ++report.blocks_behind;
        const char* state = block.state == DataBlock::State::kTorn    ? " is torn"
                            : block.state == DataBlock::State::kBlank ? " is blank"
                                                                      : " is stale";
        note_problem(report,
                     name + state + ": txn " + std::to_string(newest.txn_id) +
                         " is committed in the log but not applied",
                     newest.txn_id, index);
      }
    }
  }
  if (corrupt_found) {
    report.verdict = Consistency::kCorrupt;
  } else if (recoverable_found || scan.uncommitted.has_value()) {
    report.verdict = Consistency::kRecoverable;
    if (scan.uncommitted.has_value())
      note_problem(report,
                   "txn " + std::to_string(uncommitted_txn) +
                       " has a log record but no commit marker (discarded by recovery)",
                   uncommitted_txn, scan.uncommitted->entries.front().block_index);
  } else {
    report.verdict = Consistency::kConsistent;
  }
  return analysis;
}

}  // namespace

std::string_view consistency_name(Consistency consistency) noexcept {
  static constexpr EnumName<Consistency> kNames[] = {{Consistency::kConsistent, "consistent"},
                                                     {Consistency::kRecoverable, "recoverable"},
                                                     {Consistency::kCorrupt, "corrupt"}};
  return name_of(kNames, consistency);
}

Result<ConsistencyReport> ConsistencyChecker::check(Volume& data, Volume& log) {
  Result<Analysis> analysis = analyse(data, log);
  if (analysis.ok())
    return std::move(analysis->report);
  // A header that cannot be read is a verdict about the image, not an I/O failure.
  if (analysis.status().code() == ErrorCode::kCorrupt ||
      analysis.status().code() == ErrorCode::kUnsupportedVersion) {
    ConsistencyReport report;
    report.verdict = Consistency::kCorrupt;
    report.message = analysis.status().message();
    return report;
  }
  return analysis.status();
}

Status ConsistencyChecker::recover(Volume& data, Volume& log) {
  FF_ASSIGN_OR_RETURN(Analysis analysis, analyse(data, log));
  if (analysis.report.verdict == Consistency::kCorrupt)
    return corrupt("cannot recover data '" + data.name() + "' from log '" + log.name() +
                   "': " + analysis.report.message);
  const LogHeader& header = analysis.scan.header;
  for (const auto& [index, newest] : analysis.newest) {
    auto image = std::span<const std::byte>(newest.record->images)
                     .subspan(newest.entry * header.block_bytes, header.block_bytes);
    FF_TRY(data.write(index * header.block_bytes, image));
  }
  FF_TRY(data.flush());
  LogHeader next = header;
  ++next.epoch;
  next.checkpoint_txn = analysis.report.last_committed_txn;
  std::vector<std::byte> bytes(header.record_align_bytes);
  records::encode_log_header(next, bytes);
  FF_TRY(log.write(0, bytes));
  return log.flush();
}

}  // namespace freezeframe::sim
