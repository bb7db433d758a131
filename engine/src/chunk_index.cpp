#include "chunk_index.h"

#include <iterator>

namespace freezeframe::detail {

namespace {

// The first entry of `entries` whose chunk is not below `chunk`. The loop has a fixed trip
// count and selects with a conditional move, so random lookups do not pay for mispredicted
// branches.
std::size_t lower_bound_chunk(std::span<const IndexEntry> entries, std::uint32_t chunk) {
  const IndexEntry* base = entries.data();
  std::size_t length = entries.size();
  if (length == 0)
    return 0;
  while (length > 1) {
    const std::size_t half = length / 2;
    base = base[half - 1].chunk < chunk ? base + half : base;
    length -= half;
  }
  return static_cast<std::size_t>(base - entries.data()) + (base->chunk < chunk ? 1 : 0);
}

// Where a cut of `entries` near `target` falls at a chunk boundary (0 < cut < size), or
// `entries.size()` if every entry belongs to one chunk.
std::size_t cut_near(std::span<const IndexEntry> entries, std::size_t target) {
  std::size_t cut = target;
  while (cut < entries.size() && entries[cut].chunk == entries[cut - 1].chunk)
    ++cut;
  if (cut < entries.size())
    return cut;
  cut = target;
  while (cut > 0 && entries[cut].chunk == entries[cut - 1].chunk)
    --cut;
  return cut > 0 ? cut : entries.size();
}

}  // namespace

void ChunkIndex::check_versions(std::span<const ChunkVersion> versions) {
  for (std::size_t i = 0; i < versions.size(); ++i) {
    FF_ASSERT_MSG(versions[i].tag != 0, "chunk version with tag 0");
    FF_ASSERT_MSG(i == 0 || versions[i - 1].tag < versions[i].tag,
                  "chunk versions not sorted by distinct tags");
  }
}

std::size_t ChunkIndex::block_of(std::uint32_t chunk) const noexcept {
  auto after = std::upper_bound(firsts_.begin(), firsts_.end(), chunk);
  return after == firsts_.begin() ? 0 : static_cast<std::size_t>(after - firsts_.begin()) - 1;
}

std::span<const IndexEntry> ChunkIndex::find(std::uint64_t chunk) const {
  if (chunk >= kChunksMax || blocks_.empty())
    return {};
  const auto key = static_cast<std::uint32_t>(chunk);
  const Block& block = blocks_[block_of(key)];
  std::span<const IndexEntry> entries(block);
  std::size_t first = lower_bound_chunk(entries, key);
  std::size_t last = first;
  while (last < entries.size() && entries[last].chunk == key)
    ++last;
  return entries.subspan(first, last - first);
}

void ChunkIndex::assign(std::uint64_t chunk, std::span<const ChunkVersion> versions) {
  FF_ASSERT(chunk < kChunksMax);
  check_versions(versions);
  const auto key = static_cast<std::uint32_t>(chunk);
  const std::size_t count = versions.size();
  if (blocks_.empty()) {
    if (count == 0)
      return;
    blocks_.emplace_back();
    firsts_.push_back(key);
  }
  const std::size_t i = block_of(key);
  Block& block = blocks_[i];
  auto [first, last] = std::equal_range(block.begin(), block.end(), key, ChunkLess{});
  const auto position = static_cast<std::size_t>(first - block.begin());
  const auto old_count = static_cast<std::size_t>(last - first);
  if (old_count == 0 && count == 0)
    return;
  if (count > old_count && block.size() + (count - old_count) > block.capacity())
    block.reserve(block.size() + (count - old_count) + kBlockSlack);
  const std::size_t common = std::min(old_count, count);
  for (std::size_t k = 0; k < common; ++k)
    block[position + k] = IndexEntry{key, versions[k].tag, versions[k].slot};
  const auto at = block.begin() + static_cast<std::ptrdiff_t>(position + common);
  if (count < old_count) {
    block.erase(at, at + static_cast<std::ptrdiff_t>(old_count - count));
  } else if (count > old_count) {
    std::vector<IndexEntry>::iterator inserted = block.insert(at, count - old_count, IndexEntry{});
    for (std::size_t k = common; k < count; ++k, ++inserted)
      *inserted = IndexEntry{key, versions[k].tag, versions[k].slot};
  }
  if (i == 0 && key < firsts_[0])
    firsts_[0] = key;
  versions_ = versions_ - old_count + count;
  if (old_count == 0)
    ++chunks_;
  else if (count == 0)
    --chunks_;

  if (block.size() > kBlockMax) {
    split(i);
  } else if (block.size() < kBlockMin) {
    join(i);
  } else if (block.capacity() > block.size() + kBlockSlack) {
    block.shrink_to_fit();
  }
}

void ChunkIndex::split(std::size_t i) {
  Block& block = blocks_[i];
  const std::size_t cut = cut_near(block, block.size() / 2);
  if (cut == block.size())
    return;  // one chunk with this many versions: it stays whole
  Block upper;
  upper.reserve(block.size() - cut + kBlockSlack);
  upper.assign(block.begin() + static_cast<std::ptrdiff_t>(cut), block.end());
  block.resize(cut);
  block.shrink_to_fit();
  const std::uint32_t upper_first = upper.front().chunk;
  blocks_.insert(blocks_.begin() + static_cast<std::ptrdiff_t>(i) + 1, std::move(upper));
  firsts_.insert(firsts_.begin() + static_cast<std::ptrdiff_t>(i) + 1, upper_first);
}

void ChunkIndex::join(std::size_t i) {
  if (blocks_.size() == 1) {
    if (blocks_[0].empty())
      clear();
    else if (blocks_[0].capacity() > blocks_[0].size() + kBlockSlack)
      blocks_[0].shrink_to_fit();
    return;
  }
  // Append the later block of the pair to the earlier one.
  const std::size_t lower = i + 1 < blocks_.size() ? i : i - 1;
  Block joined;
  joined.reserve(blocks_[lower].size() + blocks_[lower + 1].size() + kBlockSlack);
  joined.insert(joined.end(), blocks_[lower].begin(), blocks_[lower].end());
  joined.insert(joined.end(), blocks_[lower + 1].begin(), blocks_[lower + 1].end());
  blocks_[lower] = std::move(joined);
  blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(lower) + 1);
  firsts_.erase(firsts_.begin() + static_cast<std::ptrdiff_t>(lower) + 1);
  if (blocks_[lower].size() > kBlockMax)
    split(lower);
}

void ChunkIndex::rebuild(const std::vector<IndexEntry>& entries) {
  std::vector<Block> blocks;
  std::vector<std::uint32_t> firsts;
  std::size_t chunks = 0;
  const std::size_t target = (kBlockMin + kBlockMax) / 2;
  std::span<const IndexEntry> rest(entries);
  while (!rest.empty()) {
    std::size_t cut = rest.size();
    if (rest.size() > kBlockMax)
      cut = cut_near(rest, target);
    blocks.emplace_back(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(cut));
    firsts.push_back(rest.front().chunk);
    rest = rest.subspan(cut);
  }
  for (std::size_t k = 0; k < entries.size(); ++k)
    chunks += k == 0 || entries[k].chunk != entries[k - 1].chunk;
  blocks.shrink_to_fit();
  firsts.shrink_to_fit();
  blocks_ = std::move(blocks);
  firsts_ = std::move(firsts);
  chunks_ = chunks;
  versions_ = entries.size();
}

void ChunkIndex::clear() noexcept {
  std::vector<Block>().swap(blocks_);
  std::vector<std::uint32_t>().swap(firsts_);
  chunks_ = 0;
  versions_ = 0;
}

std::size_t ChunkIndex::memory_bytes() const noexcept {
  std::size_t bytes = sizeof(*this) + blocks_.capacity() * sizeof(Block) +
                      firsts_.capacity() * sizeof(std::uint32_t);
  for (const Block& block : blocks_)
    bytes += block.capacity() * sizeof(IndexEntry);
  return bytes;
}

}  // namespace freezeframe::detail
