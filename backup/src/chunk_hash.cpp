#include "chunk_hash.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "byte_codec.h"
#include "freezeframe/assert.h"
#include "freezeframe/hex.h"

namespace freezeframe::backup_detail {

std::string ChunkHash::hex() const {
  return hex_of(bytes);
}

std::optional<ChunkHash> ChunkHash::parse(std::string_view text) {
  if (text.size() != 32)
    return std::nullopt;
  ChunkHash hash;
  for (std::size_t i = 0; i < 16; ++i) {
    int high = hex_digit_value(text[2 * i]);
    int low = hex_digit_value(text[2 * i + 1]);
    if (high < 0 || low < 0)
      return std::nullopt;
    hash.bytes[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return hash;
}

ChunkHash hash_bytes(std::span<const std::byte> data) {
  XXH128_hash_t value = XXH3_128bits(data.data(), data.size());
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, value);
  ChunkHash hash;
  std::memcpy(hash.bytes.data(), canonical.digest, hash.bytes.size());
  return hash;
}

std::uint64_t checksum64(std::span<const std::byte> data, std::uint64_t seed) {
  return XXH3_64bits_withSeed(data.data(), data.size(), seed);
}

bool is_all_zero(std::span<const std::byte> data) {
  // memcmp against a block of zeros: the C library's vectorised compare runs over every byte
  // a backup reads, at memory speed even in unoptimised builds.
  static constexpr std::size_t kZeroBlockBytes = 4096;
  static const std::byte kZeros[kZeroBlockBytes] = {};
  for (std::size_t at = 0; at < data.size(); at += kZeroBlockBytes) {
    std::size_t length = std::min(kZeroBlockBytes, data.size() - at);
    if (std::memcmp(data.data() + at, kZeros, length) != 0)
      return false;
  }
  return true;
}

}  // namespace freezeframe::backup_detail

#if FREEZEFRAME_WITH_ZSTD
#include <zstd.h>
#endif

namespace freezeframe::backup_detail {

struct StreamHash::State {
  XXH3_state_t* state = XXH3_createState();
  ~State() { XXH3_freeState(state); }
};

StreamHash::StreamHash() : state_(std::make_unique<State>()) {
  FF_ASSERT(state_->state != nullptr);
  XXH3_128bits_reset(state_->state);
}
StreamHash::~StreamHash() = default;

void StreamHash::update(std::span<const std::byte> data) {
  XXH3_128bits_update(state_->state, data.data(), data.size());
}

ChunkHash StreamHash::digest() const {
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state_->state));
  ChunkHash hash;
  std::memcpy(hash.bytes.data(), canonical.digest, hash.bytes.size());
  return hash;
}

std::string no_zstd_message() {
  return "backup repositories store zstd-compressed packs, and this build of freezeframe has no "
         "zstd (built with FREEZEFRAME_WITH_ZSTD=OFF): use a build with zstd";
}

#if FREEZEFRAME_WITH_ZSTD
struct Compressor::State {
  ZSTD_CCtx* context = ZSTD_createCCtx();
  ~State() { ZSTD_freeCCtx(context); }
};

Compressor::Compressor() : state_(std::make_unique<State>()) {
  FF_ASSERT(state_->context != nullptr);
}
Compressor::~Compressor() = default;

Status Compressor::compress(std::span<const std::byte> plain, int level,
                            std::vector<std::byte>& out) {
  out.resize(ZSTD_compressBound(plain.size()));
  std::size_t size =
      ZSTD_compressCCtx(state_->context, out.data(), out.size(), plain.data(), plain.size(), level);
  if (ZSTD_isError(size) != 0)
    return io_error(std::string("zstd compression failed: ") + ZSTD_getErrorName(size));
  out.resize(size);
  return Status();
}

struct Decompressor::State {
  ZSTD_DCtx* context = ZSTD_createDCtx();
  ~State() { ZSTD_freeDCtx(context); }
};

Decompressor::Decompressor() : state_(std::make_unique<State>()) {
  FF_ASSERT(state_->context != nullptr);
}
Decompressor::~Decompressor() = default;

bool Decompressor::decompress(std::span<const std::byte> payload, std::span<std::byte> out) {
  std::size_t size =
      ZSTD_decompressDCtx(state_->context, out.data(), out.size(), payload.data(), payload.size());
  return ZSTD_isError(size) == 0 && size == out.size();
}

#else

// A build without zstd (FREEZEFRAME_WITH_ZSTD=OFF): Repository::init() and open() refuse
// first, so these are reached only by a caller that skipped them.
struct Compressor::State {};
Compressor::Compressor() : state_(std::make_unique<State>()) {}
Compressor::~Compressor() = default;
Status Compressor::compress(std::span<const std::byte>, int, std::vector<std::byte>&) {
  return Status(ErrorCode::kUnsupported, no_zstd_message());
}
struct Decompressor::State {};
Decompressor::Decompressor() : state_(std::make_unique<State>()) {}
Decompressor::~Decompressor() = default;
bool Decompressor::decompress(std::span<const std::byte>, std::span<std::byte>) {
  return false;
}

#endif

}  // namespace freezeframe::backup_detail
