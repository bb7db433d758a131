#include "freezeframe/uuid.h"

#include <algorithm>
#include <boost/uuid/name_generator_sha1.hpp>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid.hpp>
#include <cctype>

#include "freezeframe/hex.h"
#include "freezeframe/random.h"

namespace freezeframe {
namespace {

Uuid from_boost(const boost::uuids::uuid& u) {
  std::array<std::uint8_t, 16> bytes{};
  std::copy(u.begin(), u.end(), bytes.begin());
  return Uuid(bytes);
}

// freezeframe's namespace for name-based UUIDs (itself a v5 UUID of "freezeframe" in the
// URL namespace, fixed here so it never changes).
constexpr boost::uuids::uuid kNamespace = {{0x3f, 0x0c, 0x6e, 0x5e, 0x8a, 0x41, 0x5b, 0x2d, 0x9c,
                                            0x17, 0x4e, 0x63, 0xd1, 0x0a, 0x72, 0xb5}};

}  // namespace

Uuid Uuid::generate() {
  thread_local boost::uuids::random_generator generator;
  return from_boost(generator());
}

Uuid Uuid::generate(Random& random) {
  std::array<std::uint8_t, 16> bytes{};
  std::uint64_t high = random.next_u64();
  std::uint64_t low = random.next_u64();
  for (std::size_t i = 0; i < 8; ++i) {
    bytes[i] = static_cast<std::uint8_t>(high >> (56 - 8 * i));
    bytes[8 + i] = static_cast<std::uint8_t>(low >> (56 - 8 * i));
  }
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return Uuid(bytes);
}

Uuid Uuid::from_name(std::string_view name) {
  boost::uuids::name_generator_sha1 generator(kNamespace);
  return from_boost(generator(name.data(), name.size()));
}

Result<Uuid> Uuid::parse(std::string_view text) {
  // Built by appending: GCC 12 at -O3 misreports `"'" + std::string(...)` (bug 105329).
  auto not_a_uuid = [text](std::string_view detail) {
    std::string message = "'";
    message.append(text).append("' is not a UUID: ").append(detail);
    return invalid_argument(std::move(message));
  };
  std::string_view body = text;
  if (body.size() == 38 && body.front() == '{' && body.back() == '}') {
    body = body.substr(1, 36);
  }
  if (body.size() != 36) {
    return not_a_uuid("expected 36 characters");
  }
  std::array<std::uint8_t, 16> bytes{};
  std::size_t out = 0;
  for (std::size_t i = 0; i < body.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (body[i] != '-') {
        return not_a_uuid("expected '-' at " + std::to_string(i));
      }
      ++i;
      continue;
    }
    int high = hex_digit_value(body[i]);
    int low = i + 1 < body.size() ? hex_digit_value(body[i + 1]) : -1;
    if (high < 0 || low < 0) {
      return not_a_uuid("bad hex digit near " + std::to_string(i));
    }
    bytes[out++] = static_cast<std::uint8_t>(high * 16 + low);
    i += 2;
  }
  return Uuid(bytes);
}

bool Uuid::is_nil() const noexcept {
  return std::all_of(bytes_.begin(), bytes_.end(), [](std::uint8_t b) { return b == 0; });
}

std::string Uuid::to_string() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out.push_back('-');
    out.push_back(kHex[bytes_[i] >> 4]);
    out.push_back(kHex[bytes_[i] & 0x0f]);
  }
  return out;
}

}  // namespace freezeframe
