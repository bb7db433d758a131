#include "change_tracker.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>

#include "freezeframe/assert.h"

namespace freezeframe::detail {

namespace {

constexpr std::string_view kTokenPrefix = "ffcbt1:";

Status corrupt_record(const std::string& what) {
  return Status(ErrorCode::kCorrupt, "change-tracking record: " + what);
}

}  // namespace

// ----- ChunkBitmap

std::uint64_t* ChunkBitmap::page_for_write(std::uint64_t page) {
  if (pages_.size() <= page)
    pages_.resize(page + 1);
  if (!pages_[page]) {
    pages_[page] = std::make_unique<std::uint64_t[]>(kPageWords);
    std::memset(pages_[page].get(), 0, kPageWords * sizeof(std::uint64_t));
  }
  return pages_[page].get();
}

void ChunkBitmap::set_range(std::uint64_t first, std::uint64_t count) {
  FF_ASSERT(first <= chunks_ && count <= chunks_ - first);
  std::uint64_t chunk = first;
  const std::uint64_t end = first + count;
  while (chunk < end) {
    std::uint64_t* words = page_for_write(chunk / kPageBits);
    std::uint64_t word = (chunk % kPageBits) / 64;
    const unsigned bit = static_cast<unsigned>(chunk % 64);
    const std::uint64_t in_word = std::min<std::uint64_t>(64 - bit, end - chunk);
    const std::uint64_t mask =
        in_word == 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << in_word) - 1) << bit;
    words[word] |= mask;
    chunk += in_word;
  }
}

bool ChunkBitmap::test(std::uint64_t chunk) const {
  const std::uint64_t page = chunk / kPageBits;
  if (page >= pages_.size() || !pages_[page])
    return false;
  return (pages_[page][(chunk % kPageBits) / 64] >> (chunk % 64) & 1u) != 0;
}

void ChunkBitmap::merge(const ChunkBitmap& other) {
  FF_ASSERT(other.chunks_ == chunks_);
  for (std::uint64_t page = 0; page < other.pages_.size(); ++page) {
    const std::uint64_t* from = other.pages_[page].get();
    if (from == nullptr)
      continue;
    std::uint64_t* to = page_for_write(page);
    for (std::uint64_t w = 0; w < kPageWords; ++w)
      to[w] |= from[w];
  }
}

std::uint64_t ChunkBitmap::runs() const {
  std::uint64_t count = 0;
  for_each_run([&](std::uint64_t, std::uint64_t) { ++count; });
  return count;
}

std::uint64_t ChunkBitmap::memory_bytes() const noexcept {
  std::uint64_t bytes = pages_.capacity() * sizeof(pages_[0]);
  for (const auto& page : pages_)
    bytes += page ? kPageWords * sizeof(std::uint64_t) : 0;
  return bytes;
}

// ----- ChangeTracker

Status ChangeTracker::check_generation(std::uint64_t epoch, std::uint64_t number,
                                       std::uint32_t retained_max) const {
  if (retained_max < 1 || retained_max > kRetainedMax) {
    return corrupt_record("generation " + std::to_string(number) + " keeps " +
                          std::to_string(retained_max) + " generations, not 1 to " +
                          std::to_string(kRetainedMax));
  }
  if (number == 0)
    return corrupt_record("generation number 0");
  if (started() && epoch == epoch_ && number != current() + 1) {
    return corrupt_record("generation " + std::to_string(number) + " follows generation " +
                          std::to_string(current()));
  }
  return Status();
}

Status ChangeTracker::check_mark(std::uint64_t first, std::uint64_t count) const {
  if (!started())
    return corrupt_record("a mark before any generation");
  if (count == 0 || first >= chunks_ || count > chunks_ - first) {
    return corrupt_record("mark of chunks [" + std::to_string(first) + ", +" +
                          std::to_string(count) + ") outside the origin's " +
                          std::to_string(chunks_) + " chunks");
  }
  return Status();
}

void ChangeTracker::begin_generation(std::uint64_t epoch, std::uint64_t number,
                                     std::uint32_t retained_max) {
  if (!started() || epoch != epoch_) {
    generations_.clear();
    epoch_ = epoch;
  }
  retained_max_ = retained_max;
  generations_.push_back(Generation{number, ChunkBitmap(chunks_)});
  while (generations_.size() > retained_max_)
    generations_.pop_front();
}

void ChangeTracker::mark(std::uint64_t first, std::uint64_t count) {
  FF_ASSERT(started());
  generations_.back().changed.set_range(first, count);
}

std::vector<Extent> ChangeTracker::unmarked_runs(std::uint64_t first, std::uint64_t last) const {
  std::vector<Extent> runs;
  if (!started())
    return runs;
  const ChunkBitmap& current_bits = generations_.back().changed;
  for (std::uint64_t chunk = first; chunk <= last; ++chunk) {
    if (current_bits.test(chunk))
      continue;
    if (!runs.empty() && runs.back().end() == chunk) {
      ++runs.back().length;
    } else {
      runs.push_back(Extent{chunk, 1});
    }
  }
  return runs;
}

ChangedChunks ChangeTracker::changed(std::uint64_t epoch, std::uint64_t from,
                                     std::uint64_t until) const {
  ChangedChunks out;
  out.chunks = ChunkBitmap(chunks_);
  if (!started()) {
    out.reset = true;
    out.reason = "change tracking has not started on this diff area";
    return out;
  }
  if (epoch != epoch_) {
    out.reset = true;
    out.reason = "the change id is from an earlier tracking epoch (tracking restarted since)";
    return out;
  }
  if (from < oldest()) {
    out.reset = true;
    out.reason = "the change id's generation " + std::to_string(from) +
                 " is older than the oldest kept (" + std::to_string(oldest()) + "; " +
                 std::to_string(retained_max_) + " are kept)";
    return out;
  }
  for (const Generation& generation : generations_) {
    if (generation.number < from || (until != 0 && generation.number >= until))
      continue;
    out.chunks.merge(generation.changed);
  }
  return out;
}

std::string ChangeTracker::token(std::uint64_t epoch, std::uint64_t number) const {
  char epoch_hex[17];
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int i = 0; i < 16; ++i)
    epoch_hex[i] = kDigits[(epoch >> (60 - 4 * i)) & 0xf];
  epoch_hex[16] = '\0';
  return std::string(kTokenPrefix) + diff_area_uuid_.to_string() + ":" + epoch_hex + ":" +
         std::to_string(number);
}

Result<ChangeTracker::ParsedToken> ChangeTracker::parse_token(std::string_view text) {
  auto invalid = [&](const std::string& why) {
    return Status(ErrorCode::kInvalidArgument,
                  "'" + std::string(text.substr(0, 120)) + "' is not a change id: " + why);
  };
  if (!text.starts_with(kTokenPrefix))
    return invalid("it does not start with '" + std::string(kTokenPrefix) + "'");
  std::string_view rest = text.substr(kTokenPrefix.size());
  const std::size_t first_colon = rest.find(':');
  if (first_colon == std::string_view::npos)
    return invalid("no epoch");
  auto uuid = Uuid::parse(rest.substr(0, first_colon));
  if (!uuid.ok())
    return invalid("bad diff area id");
  rest = rest.substr(first_colon + 1);
  const std::size_t second_colon = rest.find(':');
  if (second_colon != 16)
    return invalid("the epoch is not 16 hex digits");
  ParsedToken parsed;
  parsed.diff_area = uuid.value();
  const std::string_view epoch_text = rest.substr(0, 16);
  auto [epoch_end, epoch_error] =
      std::from_chars(epoch_text.data(), epoch_text.data() + 16, parsed.epoch, 16);
  if (epoch_error != std::errc() || epoch_end != epoch_text.data() + 16)
    return invalid("the epoch is not 16 hex digits");
  const std::string_view number_text = rest.substr(17);
  auto [number_end, number_error] = std::from_chars(
      number_text.data(), number_text.data() + number_text.size(), parsed.number, 10);
  if (number_text.empty() || number_error != std::errc() ||
      number_end != number_text.data() + number_text.size() || parsed.number == 0)
    return invalid("the generation is not a positive decimal number");
  return parsed;
}

std::vector<ChangeTracker::GenerationRuns> ChangeTracker::checkpoint_runs(
    std::uint64_t runs_max) const {
  std::vector<GenerationRuns> out;
  std::uint64_t total = 0;
  for (const Generation& generation : generations_) {
    GenerationRuns runs{generation.number, {}};
    generation.changed.for_each_run([&](std::uint64_t first, std::uint64_t count) {
      runs.runs.push_back(Extent{first, count});
    });
    total += runs.runs.size();
    out.push_back(std::move(runs));
  }
  // Too many runs: close gaps of up to `gap` chunks, doubling it each round; a gap as large
  // as the origin leaves one run per generation, so the loop ends.
  for (std::uint64_t gap = 1; total > runs_max && gap < 2 * chunks_ + 2; gap *= 2) {
    total = 0;
    for (GenerationRuns& generation : out) {
      std::vector<Extent> merged;
      for (const Extent& run : generation.runs) {
        if (!merged.empty() && run.offset - merged.back().end() <= gap) {
          merged.back().length = run.end() - merged.back().offset;
        } else {
          merged.push_back(run);
        }
      }
      generation.runs = std::move(merged);
      total += generation.runs.size();
    }
  }
  return out;
}

std::uint64_t ChangeTracker::memory_bytes() const noexcept {
  std::uint64_t bytes = 0;
  for (const Generation& generation : generations_)
    bytes += sizeof(Generation) + generation.changed.memory_bytes();
  return bytes;
}

}  // namespace freezeframe::detail
