#include "output.h"

#include <algorithm>
#include <iostream>

#include "freezeframe/terminal.h"

namespace freezeframe::cli {

void Table::print(std::ostream& out) const {
  std::vector<std::size_t> widths;
  for (const auto& row : rows_) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (std::size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows_) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size())
        line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

Progress::Progress(std::string label, std::uint64_t total)
    : label_(std::move(label)), total_(total), enabled_(stderr_is_terminal()) {
  update(0);
}

Progress::~Progress() {
  finish();
}

void Progress::update(std::uint64_t done) {
  update(done, last_detail_);
}

void Progress::update(std::uint64_t done, const std::string& detail) {
  if (!enabled_ || finished_)
    return;
  int percent =
      total_ == 0 ? 100 : static_cast<int>(std::min<std::uint64_t>(done, total_) * 100 / total_);
  if (percent == last_percent_ && detail == last_detail_)
    return;
  // Pad over what a longer detail left on the line.
  const std::size_t pad =
      last_detail_.size() > detail.size() ? last_detail_.size() - detail.size() : 0;
  last_percent_ = percent;
  last_detail_ = detail;
  constexpr int kWidth = 30;
  int filled = percent * kWidth / 100;
  std::cerr << "\r" << label_ << " [" << std::string(filled, '#')
            << std::string(kWidth - filled, ' ') << "] " << percent << "%"
            << (detail.empty() ? "" : "  " + detail) << std::string(pad, ' ') << std::flush;
}

void Progress::finish() {
  if (!enabled_ || finished_)
    return;
  update(total_);
  finished_ = true;
  std::cerr << "\n";
}

}  // namespace freezeframe::cli
