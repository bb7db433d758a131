// Fuzz target: the command line's values (cli/parse.h) and the ids it accepts: sizes and
// offsets ("64K", "1.5GB"), shadow-storage limits ("10%", "UNBOUNDED"), provider kinds,
// contexts, snapshot and set ids (Uuid::parse), change ids (ChangeTracker::parse_token),
// plant lists, and the option parser (Options::parse) over a command's spec. Byte 0 picks the
// parser; the rest is its text (for the option parser, arguments separated by newlines).
// A parsed id must print back to itself.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "change_tracker.h"
#include "freezeframe/plant.h"
#include "freezeframe/uuid.h"
#include "fuzz_support.h"
#include "parse.h"

namespace ff = freezeframe;
namespace cli = freezeframe::cli;

namespace {

constexpr std::uint8_t kBytes = 0;
constexpr std::uint8_t kLimit = 1;
constexpr std::uint8_t kKind = 2;
constexpr std::uint8_t kContext = 3;
constexpr std::uint8_t kUuid = 4;
constexpr std::uint8_t kChangeId = 5;
constexpr std::uint8_t kPlants = 6;
constexpr std::uint8_t kOptions = 7;
constexpr std::uint8_t kParsers = 8;
constexpr std::size_t kArgsMax = 32;

void parse_options(ff::fuzz::Reader& in) {
  std::vector<std::string> args;
  while (in.remaining() > 0 && args.size() < kArgsMax)
    args.push_back(in.text_until('\n'));
  const cli::Options::Spec spec{.with_value = {"for", "on", "maxsize", "size", "offset", "id",
                                               "provider", "context", "store"},
                                .flags = {"quiet", "json", "all", "oldest"}};
  auto options = cli::Options::parse(args, spec, "fuzz");
  if (!options.ok())
    return;
  for (const std::string& name : spec.with_value) {
    if (auto value = options->get(name))
      (void)cli::parse_bytes(*value, name);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ff::fuzz::Reader in(data, size);
  const std::uint8_t parser = in.byte() % kParsers;
  if (parser == kOptions) {
    parse_options(in);
    return 0;
  }
  const std::span<const std::byte> rest = in.rest();
  const std::string_view text(reinterpret_cast<const char*>(rest.data()), rest.size());
  switch (parser) {
    case kBytes:
      (void)cli::parse_bytes(text, "size");
      break;
    case kLimit:
      if (auto limit = cli::parse_limit(text, "maxsize"); limit.ok())
        (void)cli::limit_text(*limit);
      break;
    case kKind:
      (void)cli::parse_provider_kind(text);
      break;
    case kContext:
      (void)cli::parse_context(text);
      (void)cli::parse_context_name(text);
      break;
    case kUuid:
      if (auto id = ff::Uuid::parse(text); id.ok()) {
        auto again = ff::Uuid::parse(id->to_string());
        if (!again.ok() || !(*again == *id)) {
          std::fprintf(stderr, "id %s does not print back to itself\n", id->to_string().c_str());
          __builtin_trap();
        }
      }
      break;
    case kChangeId:
      (void)ff::detail::ChangeTracker::parse_token(text);
      break;
    default:
      (void)ff::parse_plants(text);
      break;
  }
  return 0;
}

std::vector<ff::fuzz::Input> ff::fuzz::seeds() {
  std::vector<Input> out;
  auto add = [&](std::uint8_t parser, const std::string& text) {
    out.push_back(bytes_of(std::string(1, static_cast<char>(parser)) + text));
  };
  for (const char* size : {"4096", "64K", "64KB", "1.5GB", "2t", "16E"})
    add(kBytes, size);
  for (const char* limit : {"10%", "UNBOUNDED", "512M"})
    add(kLimit, limit);
  add(kKind, "cow");
  add(kKind, "row");
  add(kContext, "persistent");
  add(kContext, "ClientAccessible");
  add(kUuid, "{12345678-1234-1234-1234-123456789abc}");
  add(kUuid, "12345678-1234-1234-1234-123456789ABC");
  add(kChangeId, "ffcbt1:12345678-1234-1234-1234-123456789abc:0000000000000001:7");
  add(kPlants, "journal-skip-last, cow-early-overwrite");
  add(kOptions, "--for\ndata\n--maxsize=64M\n--quiet\npositional\n--offset\n0x10");
  return out;
}
