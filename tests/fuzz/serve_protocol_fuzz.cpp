// Fuzz target: the serve control protocol's decoders (serve/protocol.h), which the daemon
// runs on bytes from any client that can reach its socket. Any bytes must decode or fail with
// a status; a request or reply that decodes must survive a round trip (encode, then decode
// gives the same message), else the target traps.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "protocol.h"

namespace ff = freezeframe;
namespace serve = freezeframe::serve;

namespace {

std::span<const std::byte> header_of(const std::string& frame) {
  return std::as_bytes(std::span(frame.data(), frame.size())).subspan(serve::kPrefixBytes);
}

bool same(const serve::Request& a, const serve::Request& b) {
  return a.id == b.id && a.op == b.op && a.export_name == b.export_name &&
         (a.op == serve::Op::kFlush || (a.offset == b.offset && a.length == b.length)) &&
         (a.op != serve::Op::kWrite || a.fua == b.fua) && a.since == b.since && a.argv == b.argv;
}

bool same(const serve::Reply& a, const serve::Reply& b) {
  if (a.id != b.id || a.code != b.code || a.message != b.message)
    return false;
  if (!a.ok())
    return true;
  return a.length == b.length && a.exports.size() == b.exports.size() &&
         a.extents.size() == b.extents.size() && a.exit_code == b.exit_code && a.out == b.out &&
         a.err == b.err;
}

[[noreturn]] void trap(const char* what, const std::string& frame) {
  std::fprintf(stderr, "%s does not round-trip: %s\n", what, frame.c_str() + serve::kPrefixBytes);
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  if (size >= serve::kPrefixBytes)
    (void)serve::decode_prefix(bytes.first(serve::kPrefixBytes)).ok();
  if (auto request = serve::decode_request(bytes); request.ok()) {
    (void)serve::request_data_bytes(*request);
    if (serve::is_block_op(request->op))
      (void)serve::parse_export_name(request->export_name).ok();
    const std::string frame = serve::encode_request(*request);
    auto again = serve::decode_request(header_of(frame));
    if (!again.ok() || !same(*request, *again))
      trap("a request", frame);
  }
  if (auto reply = serve::decode_reply(bytes); reply.ok()) {
    const std::string frame = serve::encode_reply(*reply);
    auto again = serve::decode_reply(header_of(frame));
    if (!again.ok() || !same(*reply, *again))
      trap("a reply", frame);
  }
  return 0;
}

std::vector<ff::fuzz::Input> ff::fuzz::seeds() {
  return {
      bytes_of(R"({"id":1,"op":"hello"})"),
      bytes_of(R"({"id":2,"op":"list"})"),
      bytes_of(R"({"id":3,"op":"read","export":"data","offset":4096,"length":512})"),
      bytes_of(R"({"id":4,"op":"write","export":"data","offset":0,"length":4096,"fua":true})"),
      bytes_of(R"({"id":5,"op":"flush","export":"data"})"),
      bytes_of(R"({"id":6,"op":"trim","export":"data","offset":0,"length":65536})"),
      bytes_of(R"({"id":7,"op":"zero","export":"data@{6dde9e8a-7698-4d6c-b318-a84676309a9a}",)"
               R"("offset":512,"length":512})"),
      bytes_of(R"({"id":8,"op":"extents","export":"data","offset":0,"length":1048576})"),
      bytes_of(R"({"id":9,"op":"command","argv":["shadow","create","--for","data","--json"]})"),
      bytes_of(R"({"id":3,"code":"ok","length":512})"),
      bytes_of(R"({"id":1,"code":"ok","version":1,"store":"/var/lib/freezeframe"})"),
      bytes_of(R"({"id":2,"code":"ok","exports":[{"name":"data","volume":"data","snapshot":"",)"
               R"("size_bytes":1048576,"sector_bytes":512,"read_only":false,"provider":"cow"}]})"),
      bytes_of(R"({"id":8,"code":"ok","extents":[[0,4096,true],[4096,4096,false]]})"),
      bytes_of(R"({"id":9,"code":"ok","exit_code":4,"stdout":"","stderr":"no such volume\n"})"),
      bytes_of(R"({"id":4,"code":"read-only","message":"export 'data@x' is a snapshot"})"),
  };
}
