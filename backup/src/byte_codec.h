// Little-endian encoding of the repository's files: a writer that appends fixed-width fields
// and a reader that checks every bound before it reads, naming the file and the offset of
// what it could not read. Private to the backup library.
#pragma once

#include <boost/endian/conversion.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "freezeframe/status.h"

namespace freezeframe::backup_detail {

class ByteWriter {
 public:
  void u8(std::uint8_t value) { bytes_.push_back(static_cast<std::byte>(value)); }
  void u16(std::uint16_t value) { put(boost::endian::native_to_little(value)); }
  void u32(std::uint32_t value) { put(boost::endian::native_to_little(value)); }
  void u64(std::uint64_t value) { put(boost::endian::native_to_little(value)); }
  void raw(std::span<const std::byte> data) {
    bytes_.insert(bytes_.end(), data.begin(), data.end());
  }
  void raw(std::span<const std::uint8_t> data) { raw(std::as_bytes(data)); }
  void zeros(std::size_t count) { bytes_.insert(bytes_.end(), count, std::byte{0}); }
  // u16 length, then the bytes.
  void text(std::string_view value) {
    u16(static_cast<std::uint16_t>(value.size()));
    raw(std::as_bytes(std::span(value.data(), value.size())));
  }
  std::size_t size() const { return bytes_.size(); }
  std::vector<std::byte>& bytes() { return bytes_; }

 private:
  template <typename T>
  void put(T value) {
    std::byte buffer[sizeof(T)];
    std::memcpy(buffer, &value, sizeof(T));
    bytes_.insert(bytes_.end(), buffer, buffer + sizeof(T));
  }
  std::vector<std::byte> bytes_;
};

// Reads fields in order; the first read past the end records a kCorrupt status (naming
// `file`, the field and its offset) and every later read returns zero, so a parser checks
// status() once per record rather than after each field.
class ByteReader {
 public:
  ByteReader(std::span<const std::byte> bytes, std::string file, std::uint64_t base_offset = 0)
      : bytes_(bytes), file_(std::move(file)), base_(base_offset) {}

  std::uint8_t u8(const char* field) {
    std::uint8_t value = 0;
    get(field, &value, 1);
    return value;
  }
  std::uint16_t u16(const char* field) {
    return boost::endian::little_to_native(get_as<std::uint16_t>(field));
  }
  std::uint32_t u32(const char* field) {
    return boost::endian::little_to_native(get_as<std::uint32_t>(field));
  }
  std::uint64_t u64(const char* field) {
    return boost::endian::little_to_native(get_as<std::uint64_t>(field));
  }
  void raw(const char* field, std::span<std::uint8_t> out) { get(field, out.data(), out.size()); }
  std::span<const std::byte> take(const char* field, std::size_t count) {
    if (!check(field, count))
      return {};
    auto part = bytes_.subspan(position_, count);
    position_ += count;
    return part;
  }
  std::string text(const char* field) {
    std::uint16_t length = u16(field);
    auto part = take(field, length);
    return std::string(reinterpret_cast<const char*>(part.data()), part.size());
  }

  std::size_t position() const { return position_; }
  std::size_t remaining() const { return bytes_.size() - position_; }
  std::uint64_t offset() const { return base_ + position_; }
  const Status& status() const { return status_; }
  const std::string& file() const { return file_; }
  // A kCorrupt status naming the file and the current offset.
  Status error(const std::string& what) const { return error_at(offset(), what); }
  Status error_at(std::uint64_t at, const std::string& what) const {
    return corrupt("'" + file_ + "' offset " + std::to_string(at) + ": " + what);
  }

 private:
  bool check(const char* field, std::size_t count) {
    if (!status_.ok())
      return false;
    if (count > bytes_.size() - position_) {
      status_ = error(std::string("truncated: ") + field + " needs " + std::to_string(count) +
                      " bytes, " + std::to_string(bytes_.size() - position_) + " left");
      return false;
    }
    return true;
  }
  void get(const char* field, void* out, std::size_t count) {
    if (!check(field, count)) {
      std::memset(out, 0, count);
      return;
    }
    std::memcpy(out, bytes_.data() + position_, count);
    position_ += count;
  }
  template <typename T>
  T get_as(const char* field) {
    T value{};
    get(field, &value, sizeof(T));
    return value;
  }

  std::span<const std::byte> bytes_;
  std::string file_;
  std::uint64_t base_ = 0;
  std::size_t position_ = 0;
  Status status_;
};

inline std::string hex_of(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(bytes.size() * 2);
  for (std::uint8_t byte : bytes) {
    text.push_back(kDigits[byte >> 4]);
    text.push_back(kDigits[byte & 0xf]);
  }
  return text;
}

}  // namespace freezeframe::backup_detail
