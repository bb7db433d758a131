// 128-bit identifiers for volumes, snapshots and snapshot sets.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "freezeframe/status.h"

namespace freezeframe {

class Random;

class Uuid {
 public:
  // The nil UUID (all zero).
  constexpr Uuid() noexcept = default;
  explicit constexpr Uuid(const std::array<std::uint8_t, 16>& bytes) noexcept : bytes_(bytes) {}

  // A version-4 UUID from the operating system's random source. Not for simulations.
  static Uuid generate();
  // A version-4 UUID drawn from `random`, so a seeded run names its objects the same way.
  static Uuid generate(Random& random);
  // A version-5 (name-based, SHA-1) UUID in freezeframe's namespace: the same name always
  // gives the same UUID.
  static Uuid from_name(std::string_view name);
  // Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (case-insensitive, optional braces).
  static Result<Uuid> parse(std::string_view text);

  bool is_nil() const noexcept;
  const std::array<std::uint8_t, 16>& bytes() const noexcept { return bytes_; }
  // Lower-case canonical form.
  std::string to_string() const;

  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads the defaulted <=>.
  friend constexpr auto operator<=>(const Uuid&, const Uuid&) noexcept = default;

 private:
  std::array<std::uint8_t, 16> bytes_{};
};

}  // namespace freezeframe
