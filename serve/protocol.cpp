// Encoding and decoding of the serve control protocol (protocol.h).
#include "protocol.h"

#include <array>
#include <limits>
#include <nlohmann/json.hpp>

namespace freezeframe::serve {

namespace {

using nlohmann::json;

constexpr std::array<std::pair<Op, std::string_view>, 9> kOps{{
    {Op::kHello, "hello"},
    {Op::kList, "list"},
    {Op::kRead, "read"},
    {Op::kWrite, "write"},
    {Op::kFlush, "flush"},
    {Op::kTrim, "trim"},
    {Op::kZero, "zero"},
    {Op::kExtents, "extents"},
    {Op::kCommand, "command"},
}};

constexpr int kErrorCodeLast = static_cast<int>(ErrorCode::kUnsupported);

std::string framed(const json& header) {
  std::string text = header.dump(-1, ' ', false, json::error_handler_t::replace);
  auto bytes = static_cast<std::uint32_t>(text.size());
  std::string frame(kPrefixBytes, '\0');
  for (std::size_t i = 0; i < kPrefixBytes; ++i)
    frame[i] = static_cast<char>((bytes >> (8 * i)) & 0xff);
  return frame + text;
}

Status bad(std::string_view what, std::string_view detail) {
  return invalid_argument("malformed " + std::string(what) + ": " + std::string(detail));
}

Result<json> parse_object(std::span<const std::byte> header, std::string_view what) {
  if (header.empty())
    return bad(what, "empty header");
  if (header.size() > kHeaderBytesMax)
    return bad(what, "header of " + std::to_string(header.size()) + " bytes is over the limit of " +
                         std::to_string(kHeaderBytesMax));
  const char* begin = reinterpret_cast<const char*>(header.data());
  json value = json::parse(begin, begin + header.size(), nullptr, false);
  if (value.is_discarded())
    return bad(what, "the header is not valid JSON");
  if (!value.is_object())
    return bad(what, "the header is not a JSON object");
  return value;
}

// Field readers: absent fields keep their default, present ones must have the right type.
Status read_u64(const json& object, const char* field, std::uint64_t& out, std::string_view what) {
  auto it = object.find(field);
  if (it == object.end())
    return Status();
  if (!it->is_number_unsigned())
    return bad(what, "'" + std::string(field) + "' is not an unsigned integer");
  out = it->get<std::uint64_t>();
  return Status();
}

Status read_string(const json& object, const char* field, std::string& out, std::string_view what,
                   std::size_t bytes_max = kHeaderBytesMax) {
  auto it = object.find(field);
  if (it == object.end())
    return Status();
  if (!it->is_string())
    return bad(what, "'" + std::string(field) + "' is not a string");
  out = it->get<std::string>();
  if (out.size() > bytes_max)
    return bad(what, "'" + std::string(field) + "' is longer than " + std::to_string(bytes_max) +
                         " bytes");
  return Status();
}

Status read_bool(const json& object, const char* field, bool& out, std::string_view what) {
  auto it = object.find(field);
  if (it == object.end())
    return Status();
  if (!it->is_boolean())
    return bad(what, "'" + std::string(field) + "' is not true or false");
  out = it->get<bool>();
  return Status();
}

std::string_view code_name(ErrorCode code) {
  return code == ErrorCode::kOk ? std::string_view("ok") : error_code_name(code);
}

std::optional<ErrorCode> code_from_name(std::string_view name) {
  if (name == "ok")
    return ErrorCode::kOk;
  for (int i = 1; i <= kErrorCodeLast; ++i)
    if (error_code_name(static_cast<ErrorCode>(i)) == name)
      return static_cast<ErrorCode>(i);
  return std::nullopt;
}

}  // namespace

std::string_view op_name(Op op) noexcept {
  for (const auto& [value, name] : kOps)
    if (value == op)
      return name;
  return "unknown";
}

std::optional<Op> op_from_name(std::string_view name) noexcept {
  for (const auto& [value, text] : kOps)
    if (text == name)
      return value;
  return std::nullopt;
}

bool is_block_op(Op op) noexcept {
  return op == Op::kRead || op == Op::kWrite || op == Op::kFlush || op == Op::kTrim ||
         op == Op::kZero || op == Op::kExtents;
}

Result<std::uint32_t> decode_prefix(std::span<const std::byte> prefix) {
  if (prefix.size() != kPrefixBytes)
    return bad("frame", "the length prefix has " + std::to_string(prefix.size()) + " bytes, not " +
                            std::to_string(kPrefixBytes));
  std::uint32_t bytes = 0;
  for (std::size_t i = 0; i < kPrefixBytes; ++i)
    bytes |= static_cast<std::uint32_t>(prefix[i]) << (8 * i);
  if (bytes == 0 || bytes > kHeaderBytesMax)
    return bad("frame", "header length " + std::to_string(bytes) + " is outside 1.." +
                            std::to_string(kHeaderBytesMax));
  return bytes;
}

std::string encode_request(const Request& request) {
  json header{{"id", request.id}, {"op", op_name(request.op)}};
  if (is_block_op(request.op))
    header["export"] = request.export_name;
  if (is_block_op(request.op) && request.op != Op::kFlush) {
    header["offset"] = request.offset;
    header["length"] = request.length;
  }
  if (request.op == Op::kWrite && request.fua)
    header["fua"] = true;
  if (request.op == Op::kExtents && !request.since.empty())
    header["since"] = request.since;
  if (request.op == Op::kCommand)
    header["argv"] = request.argv;
  return framed(header);
}

Result<Request> decode_request(std::span<const std::byte> header) {
  constexpr std::string_view what = "request";
  FF_ASSIGN_OR_RETURN(json object, parse_object(header, what));
  Request request;
  FF_TRY(read_u64(object, "id", request.id, what));
  std::string op;
  FF_TRY(read_string(object, "op", op, what, 64));
  if (op.empty())
    return bad(what, "'op' is missing");
  auto parsed = op_from_name(op);
  if (!parsed)
    return bad(what, "unknown op '" + op + "'");
  request.op = *parsed;
  if (is_block_op(request.op)) {
    FF_TRY(read_string(object, "export", request.export_name, what, 1024));
    if (request.export_name.empty())
      return bad(what, "'" + op + "' needs an 'export'");
    if (request.op != Op::kFlush) {
      if (!object.contains("offset") || !object.contains("length"))
        return bad(what, "'" + op + "' needs 'offset' and 'length'");
      FF_TRY(read_u64(object, "offset", request.offset, what));
      FF_TRY(read_u64(object, "length", request.length, what));
      if (request.length > std::numeric_limits<std::uint64_t>::max() - request.offset)
        return bad(what, "'offset' + 'length' overflows");
    }
    if ((request.op == Op::kRead || request.op == Op::kWrite) && request.length > kDataBytesMax)
      return bad(what, "'length' " + std::to_string(request.length) + " is over the limit of " +
                           std::to_string(kDataBytesMax) + " bytes per request");
    FF_TRY(read_bool(object, "fua", request.fua, what));
    if (request.op == Op::kExtents) {
      FF_TRY(read_string(object, "since", request.since, what, kSinceBytesMax));
    } else if (object.contains("since")) {
      return bad(what, "'since' is only for 'extents'");
    }
  }
  if (request.op == Op::kCommand) {
    auto it = object.find("argv");
    if (it == object.end() || !it->is_array())
      return bad(what, "'command' needs 'argv', an array of strings");
    if (it->size() > kCommandArgsMax)
      return bad(what, "'argv' has more than " + std::to_string(kCommandArgsMax) + " arguments");
    for (const json& arg : *it) {
      if (!arg.is_string())
        return bad(what, "'argv' holds something other than a string");
      request.argv.push_back(arg.get<std::string>());
    }
  }
  return request;
}

std::string encode_reply(const Reply& reply) {
  json header{{"id", reply.id}, {"code", code_name(reply.code)}};
  if (!reply.ok()) {
    header["message"] = reply.message;
    return framed(header);
  }
  if (reply.length != 0)
    header["length"] = reply.length;
  if (reply.version != 0) {
    header["version"] = reply.version;
    header["store"] = reply.store;
  }
  if (!reply.exports.empty()) {
    json exports = json::array();
    for (const ExportInfo& e : reply.exports)
      exports.push_back(json{{"name", e.name},
                             {"volume", e.volume},
                             {"snapshot", e.snapshot},
                             {"size_bytes", e.size_bytes},
                             {"sector_bytes", e.sector_bytes},
                             {"read_only", e.read_only},
                             {"provider", e.provider}});
    header["exports"] = exports;
  }
  if (!reply.extents.empty()) {
    json extents = json::array();
    for (const ExtentInfo& e : reply.extents)
      extents.push_back(json::array({e.offset, e.length, e.allocated}));
    header["extents"] = extents;
  }
  if (!reply.out.empty() || !reply.err.empty() || reply.exit_code != 0) {
    header["exit_code"] = reply.exit_code;
    header["stdout"] = reply.out;
    header["stderr"] = reply.err;
  }
  return framed(header);
}

Result<Reply> decode_reply(std::span<const std::byte> header) {
  constexpr std::string_view what = "reply";
  FF_ASSIGN_OR_RETURN(json object, parse_object(header, what));
  Reply reply;
  FF_TRY(read_u64(object, "id", reply.id, what));
  std::string code;
  FF_TRY(read_string(object, "code", code, what, 64));
  auto parsed = code_from_name(code);
  if (!parsed)
    return bad(what, "unknown code '" + code + "'");
  reply.code = *parsed;
  FF_TRY(read_string(object, "message", reply.message, what));
  if (!reply.ok() && reply.message.empty())
    reply.message = "the daemon gave no message";
  FF_TRY(read_u64(object, "length", reply.length, what));
  if (reply.length > kDataBytesMax)
    return bad(what, "'length' is over the limit");
  std::uint64_t version = 0;
  FF_TRY(read_u64(object, "version", version, what));
  if (version > std::numeric_limits<std::uint32_t>::max())
    return bad(what, "'version' is out of range");
  reply.version = static_cast<std::uint32_t>(version);
  FF_TRY(read_string(object, "store", reply.store, what));
  if (auto it = object.find("exports"); it != object.end()) {
    if (!it->is_array())
      return bad(what, "'exports' is not an array");
    for (const json& e : *it) {
      if (!e.is_object())
        return bad(what, "an export is not an object");
      ExportInfo info;
      std::uint64_t sector = 0;
      FF_TRY(read_string(e, "name", info.name, what));
      FF_TRY(read_string(e, "volume", info.volume, what));
      FF_TRY(read_string(e, "snapshot", info.snapshot, what));
      FF_TRY(read_u64(e, "size_bytes", info.size_bytes, what));
      FF_TRY(read_u64(e, "sector_bytes", sector, what));
      if (sector > 65536)
        return bad(what, "an export's 'sector_bytes' is out of range");
      info.sector_bytes = static_cast<std::uint32_t>(sector);
      FF_TRY(read_bool(e, "read_only", info.read_only, what));
      FF_TRY(read_string(e, "provider", info.provider, what));
      reply.exports.push_back(std::move(info));
    }
  }
  if (auto it = object.find("extents"); it != object.end()) {
    if (!it->is_array())
      return bad(what, "'extents' is not an array");
    if (it->size() > kExtentRunsMax)
      return bad(what, "'extents' has more than " + std::to_string(kExtentRunsMax) + " runs");
    for (const json& e : *it) {
      if (!e.is_array() || e.size() != 3 || !e[0].is_number_unsigned() ||
          !e[1].is_number_unsigned() || !e[2].is_boolean())
        return bad(what, "an extent is not [offset, length, allocated]");
      reply.extents.push_back(
          {e[0].get<std::uint64_t>(), e[1].get<std::uint64_t>(), e[2].get<bool>()});
    }
  }
  std::uint64_t exit_code = 0;
  FF_TRY(read_u64(object, "exit_code", exit_code, what));
  if (exit_code > 255)
    return bad(what, "'exit_code' is out of range");
  reply.exit_code = static_cast<int>(exit_code);
  FF_TRY(read_string(object, "stdout", reply.out, what));
  FF_TRY(read_string(object, "stderr", reply.err, what));
  return reply;
}

std::uint64_t request_data_bytes(const Request& request) noexcept {
  return request.op == Op::kWrite ? request.length : 0;
}

std::uint64_t reply_data_bytes(const Request& request, const Reply& reply) noexcept {
  return request.op == Op::kRead && reply.ok() ? request.length : 0;
}

Result<ExportName> parse_export_name(std::string_view name) {
  ExportName out;
  auto at = name.rfind('@');
  out.volume = std::string(name.substr(0, at));
  if (at != std::string_view::npos)
    out.snapshot = std::string(name.substr(at + 1));
  if (out.volume.empty())
    return invalid_argument("export '" + std::string(name) + "' names no volume");
  if (at != std::string_view::npos && out.snapshot.empty())
    return invalid_argument("export '" + std::string(name) +
                            "' has an empty snapshot id after '@'");
  return out;
}

}  // namespace freezeframe::serve
