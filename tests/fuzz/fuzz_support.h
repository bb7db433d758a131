// What every fuzz target (tests/fuzz/*_fuzz.cpp) shares: the libFuzzer entry point it
// defines, the seed inputs it offers for its corpus, and a reader that turns the input bytes
// into choices. A target is linked either with libFuzzer (the clang build with
// FREEZEFRAME_FUZZ) or with replay_main.cpp (every build), which feeds it the committed corpus
// and regression inputs and writes the seed corpus.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// The libFuzzer entry point: must accept any bytes and return 0. A crash, a sanitizer report
// or a leak is a finding; an error status from the code under test is not.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace freezeframe::fuzz {

using Input = std::vector<std::uint8_t>;

// The target's seed inputs: small valid inputs, one per shape the parser accepts. The
// committed corpus (tests/fuzz/corpus/<target>/) is these, written by `<target>_fuzz_replay
// --write-corpus DIR`.
std::vector<Input> seeds();

inline Input bytes_of(std::string_view text) {
  return Input(text.begin(), text.end());
}
inline Input bytes_of(std::span<const std::byte> bytes) {
  Input out(bytes.size());
  if (!bytes.empty())
    std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

// Consumes the input from the front: choices first, the rest as payload. Past the end every
// value is 0, so any input is a valid sequence of choices.
class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  std::uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
  std::uint32_t u32() {
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i)
      value |= std::uint32_t{byte()} << (8 * i);
    return value;
  }
  std::size_t remaining() const { return size_ - at_; }
  // Everything not consumed yet.
  std::span<const std::byte> rest() {
    auto out =
        std::span<const std::byte>(reinterpret_cast<const std::byte*>(data_) + at_, size_ - at_);
    at_ = size_;
    return out;
  }
  // Up to the next `separator` byte (not included) or the end.
  std::string text_until(std::uint8_t separator) {
    std::string out;
    while (at_ < size_ && data_[at_] != separator)
      out.push_back(static_cast<char>(data_[at_++]));
    if (at_ < size_)
      ++at_;
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

}  // namespace freezeframe::fuzz
