// ChunkHash: the key of a chunk, the XXH3-128 of its plain bytes in canonical (big-endian)
// byte order; also the name of packs, index files, manifests and set records (the XXH3-128 of
// their content). The all-zero value marks an all-zero chunk in a chunk list. Private to the
// backup library.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "freezeframe/status.h"

namespace freezeframe::backup_detail {

struct ChunkHash {
  std::array<std::uint8_t, 16> bytes{};

  bool is_zero() const noexcept {
    for (std::uint8_t byte : bytes) {
      if (byte != 0)
        return false;
    }
    return true;
  }
  // 32 lower-case hex digits.
  std::string hex() const;
  // Parses 32 hex digits (either case); nullopt otherwise.
  static std::optional<ChunkHash> parse(std::string_view text);
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads the defaulted <=>.
  friend auto operator<=>(const ChunkHash&, const ChunkHash&) = default;
};

struct ChunkHashHasher {
  std::size_t operator()(const ChunkHash& hash) const noexcept {
    std::size_t value = 0;
    for (std::size_t i = 0; i < sizeof(std::size_t); ++i)
      value = (value << 8) | hash.bytes[i];
    return value;
  }
};

// XXH3-128 of `data`.
ChunkHash hash_bytes(std::span<const std::byte> data);
// XXH3-64 of `data`: the checksum of records and frames.
std::uint64_t checksum64(std::span<const std::byte> data, std::uint64_t seed = 0);
// True if every byte of `data` is zero.
bool is_all_zero(std::span<const std::byte> data);

}  // namespace freezeframe::backup_detail

namespace freezeframe::backup_detail {

// XXH3-128 over bytes given in pieces (a pack as it is written).
class StreamHash {
 public:
  StreamHash();
  ~StreamHash();
  StreamHash(const StreamHash&) = delete;
  StreamHash& operator=(const StreamHash&) = delete;
  void update(std::span<const std::byte> data);
  ChunkHash digest() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// What a build without zstd (FREEZEFRAME_WITH_ZSTD=OFF) says when a repository, whose packs
// are zstd frames, is created or opened: kUnsupported with this message.
std::string no_zstd_message();

// zstd compression with a context kept for reuse; one object per thread.
class Compressor {
 public:
  Compressor();
  ~Compressor();
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;
  // Replaces `out` with one zstd frame holding `plain`. kIoError if zstd fails (out of memory).
  Status compress(std::span<const std::byte> plain, int level, std::vector<std::byte>& out);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

class Decompressor {
 public:
  Decompressor();
  ~Decompressor();
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;
  // Decompresses `payload` into exactly out.size() bytes; false if it does not decode to
  // exactly that many.
  bool decompress(std::span<const std::byte> payload, std::span<std::byte> out);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace freezeframe::backup_detail
