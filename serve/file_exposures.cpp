// Snapshots presented at paths of their own (file_exposures.h).
#include "file_exposures.h"

#include <sys/stat.h>

#include <ostream>
#include <set>

namespace freezeframe::serve {

FileExposures::FileExposures(Daemon& daemon) : daemon_(daemon) {
  daemon_.set_file_hooks([this](const std::string& name,
                                const std::filesystem::path& path) { return present(name, path); },
                         [this](const std::filesystem::path& path) { return withdraw(path); },
                         [this] { settle(); });
}

FileExposures::~FileExposures() {
  daemon_.set_file_hooks({}, {}, {});
  std::lock_guard lock(mutex_);
  for (auto& [path, presented] : presented_) {
    presented.fuse->unmount();
    retired_.push_back(std::move(presented));
  }
  presented_.clear();
  for (Presented& presented : retired_)
    finish(presented);
  retired_.clear();
}

Status FileExposures::present(const std::string& export_name, const std::filesystem::path& path) {
  std::lock_guard lock(mutex_);
  if (presented_.count(path) != 0)
    return already_exists("'" + path.string() + "' already presents a snapshot");
  FF_ASSIGN_OR_RETURN(auto fuse, FuseExport::mount(daemon_, path, export_name));
  Presented presented{export_name, std::move(fuse), {}};
  FuseExport* raw = presented.fuse.get();
  presented.thread = std::thread([raw] { raw->run(); });
  presented_.emplace(path, std::move(presented));
  return Status();
}

Status FileExposures::withdraw(const std::filesystem::path& path) {
  std::lock_guard lock(mutex_);
  auto it = presented_.find(path);
  if (it == presented_.end())
    return not_found("nothing is presented at '" + path.string() + "'");
  it->second.fuse->unmount();
  retired_.push_back(std::move(it->second));
  presented_.erase(it);
  return Status();
}

void FileExposures::finish(Presented& presented) {
  presented.fuse->stop();
  if (presented.thread.joinable())
    presented.thread.join();
  presented.fuse.reset();
}

void FileExposures::restore(std::ostream& log) {
  for (const auto& [name, path] : daemon_.recorded_exposures()) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error) ||
        std::filesystem::file_size(path, error) != 0)
      continue;  // a copy written without a daemon, or not our placeholder: left alone
    Status status = present(name, path);
    if (!status.ok())
      log << "freezeframe serve: exposure of '" << name << "' at '" << path.string()
          << "' is not presented: " << status.message() << "\n";
  }
}

void FileExposures::settle() {
  std::set<std::string> exported;
  for (const ExportInfo& info : daemon_.exports())
    exported.insert(info.name);
  std::vector<Presented> done;
  std::vector<std::filesystem::path> placeholders;
  {
    std::lock_guard lock(mutex_);
    for (auto it = presented_.begin(); it != presented_.end();) {
      if (exported.count(it->second.export_name) != 0) {
        ++it;
        continue;
      }
      it->second.fuse->unmount();
      placeholders.push_back(it->first);
      retired_.push_back(std::move(it->second));
      it = presented_.erase(it);
    }
    done.swap(retired_);
  }
  for (Presented& presented : done)
    finish(presented);
  // The snapshot is gone, and with it the store's record; the empty placeholder is ours.
  for (const std::filesystem::path& path : placeholders) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
      ::unlink(path.c_str());
  }
  // Exposures still recorded but withdrawn by the command (a revert's): presented again.
  std::set<std::filesystem::path> shown;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [path, presented] : presented_)
      shown.insert(path);
  }
  for (const auto& [name, path] : daemon_.recorded_exposures()) {
    std::error_code error;
    if (shown.count(path) == 0 && std::filesystem::is_regular_file(path, error) &&
        std::filesystem::file_size(path, error) == 0)
      (void)present(name, path).ok();
  }
}

}  // namespace freezeframe::serve
