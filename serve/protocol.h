// The control protocol of `freezeframe serve` (docs/serve.md, "Control protocol"): how a
// client (the freezeframe command, the nbdkit plugin, a test) talks to the daemon over its
// Unix socket.
//
// Every message is a frame:
//   u32 little-endian   header_bytes, 1 .. kHeaderBytesMax
//   header_bytes bytes  a JSON object (UTF-8): the request or reply
//   data                `length` bytes after a write request and after a successful read
//                       reply; nothing otherwise
// A client sends one request and reads its reply before the next (no pipelining); several
// clients may be connected at once.
//
// This file only encodes and decodes: it makes no system call, so the parser can be fuzzed
// (tests/fuzz/serve_protocol_fuzz.cpp). Every decoder checks every field and bound and
// returns kInvalidArgument naming the field that is wrong; nothing here trusts its input.
//
// Thread-safety: free functions without shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "freezeframe/status.h"

namespace freezeframe::serve {

inline constexpr std::size_t kPrefixBytes = 4;
inline constexpr std::uint32_t kHeaderBytesMax = 1024 * 1024;
// The most data one read or write request carries (a block client splits larger requests).
inline constexpr std::uint64_t kDataBytesMax = 32 * 1024 * 1024;
// The most arguments one forwarded command line has.
inline constexpr std::size_t kCommandArgsMax = 256;
// The most runs one extents reply holds (the map may stop short of the range; the client asks
// again for the rest), so that a reply stays well under kHeaderBytesMax.
inline constexpr std::size_t kExtentRunsMax = 16384;
// The longest `since` of an extents request (a change id or a snapshot id).
inline constexpr std::size_t kSinceBytesMax = 256;
inline constexpr std::uint32_t kProtocolVersion = 1;

enum class Op {
  kHello,    // the daemon's protocol version and store
  kList,     // every export
  kRead,     // export, offset, length -> data
  kWrite,    // export, offset, length, data [fua]
  kFlush,    // export
  kTrim,     // export, offset, length: discard (reads back as zeros)
  kZero,     // export, offset, length: write zeros
  kExtents,  // export, offset, length [since] -> allocation (or change) extents
  kCommand,  // argv: a freezeframe command line run by the daemon on its open store
};

std::string_view op_name(Op op) noexcept;
std::optional<Op> op_from_name(std::string_view name) noexcept;
// True for the operations on an export (read .. extents).
bool is_block_op(Op op) noexcept;

struct Request {
  std::uint64_t id = 0;  // echoed in the reply
  Op op = Op::kHello;
  // "NAME" for a live volume, "NAME@ID" for one of its snapshots (ID a UUID, braces
  // optional).
  std::string export_name;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  bool fua = false;  // write: durable before the reply (a flush follows)
  // extents: empty for the allocation map; else a change id (ffcbt1:...) or a snapshot id of
  // the volume, and the reply maps what changed since then (docs/serve.md).
  std::string since;
  std::vector<std::string> argv;
};

struct ExportInfo {
  std::string name;
  std::string volume;
  std::string snapshot;  // empty for a live volume
  std::uint64_t size_bytes = 0;
  std::uint32_t sector_bytes = 512;
  bool read_only = false;
  std::string provider;  // "cow", "row", or "none" (a volume without shadow storage)
};

struct ExtentInfo {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  bool allocated = true;  // false: reads as zeros and holds no data
};

struct Reply {
  std::uint64_t id = 0;
  ErrorCode code = ErrorCode::kOk;
  std::string message;       // the error, empty when OK
  std::uint64_t length = 0;  // read: the data bytes that follow
  // hello
  std::uint32_t version = 0;
  std::string store;
  // list
  std::vector<ExportInfo> exports;
  // extents
  std::vector<ExtentInfo> extents;
  // command
  int exit_code = 0;
  std::string out;
  std::string err;
  bool ok() const { return code == ErrorCode::kOk; }
};

// The frame prefix: the header's length, checked against 1 .. kHeaderBytesMax.
Result<std::uint32_t> decode_prefix(std::span<const std::byte> prefix);
// Prefix and header of a frame (the data, if any, follows).
std::string encode_request(const Request& request);
std::string encode_reply(const Reply& reply);
// Decodes a header (without its prefix).
Result<Request> decode_request(std::span<const std::byte> header);
Result<Reply> decode_reply(std::span<const std::byte> header);
// The data bytes that follow a request (a write's length) or the reply to it (a successful
// read's length).
std::uint64_t request_data_bytes(const Request& request) noexcept;
std::uint64_t reply_data_bytes(const Request& request, const Reply& reply) noexcept;

// Splits "NAME@ID" into the volume name and the snapshot id (empty for "NAME").
struct ExportName {
  std::string volume;
  std::string snapshot;
};
Result<ExportName> parse_export_name(std::string_view name);

}  // namespace freezeframe::serve
