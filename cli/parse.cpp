#include "parse.h"

#include <algorithm>
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

std::string join(std::span<const std::string> words, std::string_view separator) {
  std::string text;
  for (const std::string& word : words) {
    if (!text.empty())
      text.append(separator);
    text.append(word);
  }
  return text;
}

std::size_t edit_distance(std::string_view a_text, std::string_view b_text) {
  const std::string a = to_lower(a_text);
  const std::string b = to_lower(b_text);
  // Optimal string alignment: Levenshtein plus the swap of two neighbouring letters.
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i)
    d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j)
    d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

std::optional<std::string> closest_word(std::string_view word,
                                        const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = std::max<std::size_t>(1, word.size() / 3) + 1;
  for (const std::string& candidate : candidates) {
    std::size_t distance = edit_distance(word, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  if (best || word.size() < 3)
    return best;
  std::vector<std::string> prefixed;
  for (const std::string& candidate : candidates)
    if (candidate.size() > word.size() &&
        equals_ignore_case(candidate.substr(0, word.size()), word))
      prefixed.push_back(candidate);
  if (prefixed.size() == 1)
    return prefixed[0];
  return std::nullopt;
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

std::optional<std::string> Options::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end())
    return std::nullopt;
  return it->second;
}

}  // namespace freezeframe::cli
