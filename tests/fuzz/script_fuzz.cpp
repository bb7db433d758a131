// Fuzz target: the diskshadow script syntax (cli/script_parser.h: alias expansion,
// tokenising, every command's grammar) and the vssadmin syntax (`freezeframe vssadmin ...`,
// cli/commands_vssadmin.cpp). Byte 0 picks the syntax: even, the rest is a script whose lines
// are parsed one by one; odd, the rest is one vssadmin command line, tokenised as a script
// line is and run against a store that cannot exist (under /dev/null), so that every
// syntax check runs and nothing is ever written.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "fuzz_support.h"
#include "script_parser.h"

namespace ff = freezeframe;
namespace cli = freezeframe::cli;

namespace {

// A script run this long is not a parser input any more.
constexpr std::size_t kLinesMax = 64;
constexpr std::size_t kArgsMax = 32;

std::optional<std::string> lookup(const std::string& name) {
  if (name == "VSS_SHADOW_1" || name == "SET")
    return "{12345678-1234-1234-1234-123456789abc}";
  if (name == "EMPTY")
    return "";
  return std::nullopt;
}

void parse_script(const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  for (std::size_t number = 1; number <= kLinesMax && std::getline(lines, line); ++number) {
    if (cli::script::is_blank_or_comment(line))
      continue;
    auto expanded = cli::script::expand_aliases(line, number, lookup);
    if (!expanded.ok())
      continue;
    (void)cli::script::parse_line(expanded->text, number);
    (void)cli::script::parse_line(line, number);
  }
}

void run_vssadmin(const std::string& text) {
  auto tokens = cli::script::tokenize(text, 1);
  if (!tokens.ok() || tokens->size() > kArgsMax)
    return;
  std::vector<std::string> args = {"--store", "/dev/null/fuzz-store", "vssadmin"};
  args.insert(args.end(), tokens->begin(), tokens->end());
  std::ostringstream out;
  std::ostringstream err;
  (void)cli::run_cli(args, out, err);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ff::fuzz::Reader in(data, size);
  const bool vssadmin = (in.byte() & 1) != 0;
  const std::span<const std::byte> rest = in.rest();
  const std::string text(reinterpret_cast<const char*>(rest.data()), rest.size());
  if (vssadmin)
    run_vssadmin(text);
  else
    parse_script(text);
  return 0;
}

std::vector<ff::fuzz::Input> ff::fuzz::seeds() {
  std::vector<Input> out;
  auto script = [&](const std::string& text) {
    out.push_back(bytes_of(std::string(1, '\0') + text));
  };
  auto vssadmin = [&](const std::string& text) {
    out.push_back(bytes_of(std::string(1, '\1') + text));
  };
  script(
      "# back up the data volume\n"
      "set context persistent\n"
      "set verbose on\n"
      "set option differential\n"
      "begin backup\n"
      "add volume data alias DataShadow\n"
      "create\n"
      "expose %DataShadow% \"C:\\mnt\\data shadow\"\n"
      "end backup\n");
  script("list shadows all\ndelete shadows set %SET%\nreset\nexec \"run me.cmd\"\nexit\n");
  script(
      "set metadata meta.json\nlist writers detailed\nwriter verify mail\nrevert %VSS_SHADOW_1%\n");
  script("add shadowstorage /for=data /on=data /maxsize=10%\nunexpose X:\nshow set\n");
  vssadmin("list shadows /for=data");
  vssadmin("create shadow /for=data /autoretry=2");
  vssadmin("delete shadows /for=data /oldest /quiet");
  vssadmin("add shadowstorage /for=data /on=data /maxsize=64MB");
  vssadmin("resize shadowstorage /for=data /on=data /maxsize=UNBOUNDED");
  vssadmin("list shadowstorage");
  vssadmin("revert shadow /shadow={12345678-1234-1234-1234-123456789abc} /quiet");
  return out;
}
