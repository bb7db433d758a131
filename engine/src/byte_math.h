// Small arithmetic on byte counts and sizes shared by the diff-area layers, and the text form
// of a byte count used in their messages. Private to the engine.
#pragma once

#include <cstdint>
#include <string>

namespace freezeframe::detail {

inline std::uint64_t align_up(std::uint64_t value, std::uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

inline std::uint64_t div_ceil(std::uint64_t a, std::uint64_t b) {
  return (a + b - 1) / b;
}

inline bool is_power_of_two(std::uint64_t value) {
  return value != 0 && (value & (value - 1)) == 0;
}

// "16 MiB", "4 KiB", "1000 bytes": the largest unit that divides the count exactly.
inline std::string bytes_text(std::uint64_t bytes) {
  if (bytes % (1 << 20) == 0)
    return std::to_string(bytes >> 20) + " MiB";
  if (bytes % 1024 == 0)
    return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

// "0x1f": a checksum or other value in hexadecimal, for messages.
inline std::string hex_text(std::uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  do {
    text.insert(text.begin(), kDigits[value & 0xf]);
    value >>= 4;
  } while (value != 0);
  return "0x" + text;
}

}  // namespace freezeframe::detail
