#include "parse.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>

namespace freezeframe::cli {

std::string_view context_name(SnapshotContext context) noexcept {
  return snapshot_context_name(context);
}

Result<SnapshotContext> parse_context_name(std::string_view name) {
  return parse_snapshot_context(name);
}

std::string_view state_name(WriterState state) noexcept {
  return writer_state_name(state);
}

std::string_view failure_name(WriterFailure failure) noexcept {
  return writer_failure_name(failure);
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return to_lower(a) == to_lower(b);
}

Result<std::uint64_t> parse_bytes(std::string_view text, std::string_view what) {
  auto bad = [&](std::string_view why) {
    return invalid_argument(std::string(what) + ": '" + std::string(text) + "' " +
                            std::string(why) +
                            " (examples: 4096, 64K, 64MB, 1G, 1.5GB; binary units)");
  };
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  std::string number(text.substr(0, i));
  if (number.empty() || number.front() == '.' || number.find('.') != number.rfind('.'))
    return bad("is not a size");
  std::string unit = to_lower(text.substr(i));
  if (!unit.empty() && unit.back() == 'b' && unit.size() == 2)
    unit.pop_back();
  static constexpr std::string_view kUnits = "kmgtpe";
  int shift = 0;
  if (unit == "b" || unit.empty()) {
    shift = 0;
  } else if (unit.size() == 1 && kUnits.find(unit[0]) != std::string_view::npos) {
    shift = 10 * (static_cast<int>(kUnits.find(unit[0])) + 1);
  } else {
    return bad("has an unknown unit");
  }
  if (number.find('.') == std::string::npos) {
    std::uint64_t value = 0;
    for (char c : number) {
      std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
      if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10)
        return bad("is too large");
      value = value * 10 + digit;
    }
    if (shift > 0 && value > (std::numeric_limits<std::uint64_t>::max() >> shift))
      return bad("is too large");
    return value << shift;
  }
  double value = std::strtod(number.c_str(), nullptr) * std::ldexp(1.0, shift);
  if (!(value < 1.8e19))
    return bad("is too large");
  return static_cast<std::uint64_t>(std::llround(value));
}

Result<DiffAreaLimit> parse_limit(std::string_view text, std::string_view what) {
  if (equals_ignore_case(text, "unbounded"))
    return DiffAreaLimit::unbounded();
  if (!text.empty() && text.back() == '%') {
    auto percent = parse_bytes(text.substr(0, text.size() - 1), what);
    if (!percent.ok() || *percent < 1 || *percent > 100)
      return invalid_argument(std::string(what) + ": '" + std::string(text) +
                              "' is not a percentage from 1% to 100%");
    return DiffAreaLimit::percent_of_origin(*percent);
  }
  auto bytes = parse_bytes(text, what);
  if (!bytes.ok())
    return invalid_argument(bytes.status().message() + ", N% or UNBOUNDED");
  if (*bytes < (1u << 20))
    return invalid_argument(std::string(what) + ": '" + std::string(text) +
                            "' is below the minimum of 1 MB");
  return DiffAreaLimit::bytes(*bytes);
}

std::string format_bytes(std::uint64_t bytes) {
  static constexpr const char* kNames[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int unit = 0;
  double value = static_cast<double>(bytes);
  while (value >= 1024 && unit < 6) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  if (unit == 0 || value == std::floor(value))
    std::snprintf(text, sizeof text, "%.0f %s", value, kNames[unit]);
  else
    std::snprintf(text, sizeof text, "%.2f %s", value, kNames[unit]);
  return text;
}

std::string limit_text(const DiffAreaLimit& limit) {
  switch (limit.kind) {
    case DiffAreaLimit::Kind::kUnbounded:
      return "UNBOUNDED";
    case DiffAreaLimit::Kind::kPercentOfOrigin:
      return std::to_string(limit.value) + "%";
    case DiffAreaLimit::Kind::kBytes:
      return format_bytes(limit.value);
  }
  return "?";
}

Result<ProviderKind> parse_provider_kind(std::string_view text) {
  std::string name = to_lower(text);
  if (name == "cow" || name == "copy-on-write")
    return ProviderKind::kCopyOnWrite;
  if (name == "row" || name == "redirect-on-write")
    return ProviderKind::kRedirectOnWrite;
  return invalid_argument("unknown provider '" + std::string(text) + "' (cow or row)");
}

Result<SnapshotContext> parse_context(std::string_view text) {
  std::string name = to_lower(text);
  if (name == "persistent")
    return SnapshotContext::kAppRollback;
  if (name == "volatile")
    return SnapshotContext::kBackup;
  auto context = parse_context_name(name);
  if (!context.ok())
    return invalid_argument("unknown context '" + std::string(text) +
                            "' (persistent, backup, clientaccessible, filesharebackup, "
                            "nasrollback, approllback, clientaccessiblewriters)");
  return context;
}

std::string context_of_attributes(std::uint32_t attributes) {
  std::uint32_t bits =
      attributes & (kAttrPersistent | kAttrClientAccessible | kAttrNoAutoRelease | kAttrNoWriters);
  for (SnapshotContext context :
       {SnapshotContext::kBackup, SnapshotContext::kFileShareBackup, SnapshotContext::kNasRollback,
        SnapshotContext::kAppRollback, SnapshotContext::kClientAccessible,
        SnapshotContext::kClientAccessibleWriters}) {
    if (static_cast<std::uint32_t>(context) == bits)
      return std::string(context_name(context));
  }
  char text[16];
  std::snprintf(text, sizeof text, "0x%x", bits);
  return text;
}

std::string attribute_words(std::uint32_t attributes) {
  std::string out;
  auto add = [&](std::uint32_t bit, const char* word) {
    if ((attributes & bit) != 0) {
      if (!out.empty())
        out += ' ';
      out += word;
    }
  };
  add(kAttrNoAutoRelease, "No_Auto_Release");
  add(kAttrPersistent, "Persistent");
  add(kAttrClientAccessible, "Client_Accessible");
  add(kAttrNoAutoRecovery, "No_Auto_Recovery");
  add(kAttrNoWriters, "No_Writers");
  add(kAttrDifferential, "Differential");
  if ((attributes & kAttrPersistent) == 0)
    out = out.empty() ? "Auto_Release" : "Auto_Release " + out;
  return out;
}

Result<Options> Options::parse(const std::vector<std::string>& args, const Spec& spec,
                               std::string_view command) {
  Options options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      options.positionals_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (spec.flags.count(name) != 0) {
      if (value)
        return invalid_argument(std::string(command) + ": option '--" + name + "' takes no value");
      options.values_[name] = "";
      continue;
    }
    if (spec.with_value.count(name) == 0)
      return invalid_argument(std::string(command) + ": unknown option '--" + name +
                              "' (see 'freezeframe " + std::string(command) + " --help')");
    if (!value) {
      if (i + 1 >= args.size())
        return invalid_argument(std::string(command) + ": option '--" + name + "' needs a value");
      value = args[++i];
    }
    if (options.values_.count(name) != 0)
      return invalid_argument(std::string(command) + ": option '--" + name + "' given twice");
    options.values_[name] = *value;
  }
  return options;
}

std::optional<std::string> Options::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end())
    return std::nullopt;
  return it->second;
}

}  // namespace freezeframe::cli
