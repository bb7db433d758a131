// One diskshadow-style session: the state a script or shell keeps between lines (context,
// options, the set being built, aliases, open backup or restore) and the execution of each
// parsed command (script_parser.h) against the store. Private to the command.
//
// script_session.cpp runs lines (expansion, echo, parsing) and the commands that only change
// the session; script_handlers.cpp runs the commands that read or change the store.
//
// Lifetime: `store` and `out` must outlive the session. Whatever the session created in an
// auto-release (volatile) context is released by finish(), by `reset`, and on destruction.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "script_parser.h"
#include "snapshot_sets.h"
#include "store.h"

namespace freezeframe::cli {

class ScriptSession {
 public:
  // `params` become %DISKSH_PARAM_1%, %DISKSH_PARAM_2%, ...
  ScriptSession(Store& store, std::ostream& out, const std::vector<std::string>& params);
  ~ScriptSession();
  ScriptSession(const ScriptSession&) = delete;
  ScriptSession& operator=(const ScriptSession&) = delete;

  bool exited() const { return exited_; }

  // Runs one line as written (a line ending is dropped). `echo` prints it as "-> line" and
  // each alias it expands as "-> %name% = value". Errors start with "line N: ".
  Status execute(std::string_view line, std::size_t line_number, bool echo);

  // Releases the auto-release shadow copies; called however the script ends.
  Status finish();

 private:
  struct SetVolume {
    std::string name;  // the store's name
    std::string typed;
    std::string alias;
    std::optional<ProviderKind> provider;
  };
  struct Alias {
    std::string name;  // as first written
    std::string value;
  };

  // Errors of the line being run.
  Status error(ErrorCode code, const std::string& message) const;
  Status failed(const Status& status) const;
  // `status` or `result` as it is when OK, else its error naming the line.
  Status checked(const Status& status) const { return status.ok() ? status : failed(status); }
  template <typename T>
  Result<T> checked(Result<T> result) const {
    if (!result.ok())
      return failed(result.status());
    return result;
  }

  void set_alias(const std::string& name, const std::string& value);
  std::optional<std::string> lookup(const std::string& name) const;
  Result<SetEngine*> engine();

  // script_session.cpp: the session's own state.
  Status run(const script::Remark&) { return Status(); }
  Status run(const script::SetContext& command);
  Status run(const script::SetOption& command);
  Status run(const script::SetVerbose& command);
  Status run(const script::SetMetadata& command);
  Status run(const script::ShowSet& command);
  Status run(const script::AddAlias& command);
  Status run(const script::Exec& command);
  Status run(const script::Reset& command);
  Status run(const script::Exit& command);
  Status run(const script::Help& command);

  // script_handlers.cpp: the store and the writers.
  Status run(const script::AddVolume& command);
  Status run(const script::AddShadow& command);
  Status run(const script::Create& command);
  Status run(const script::Begin& command);
  Status run(const script::End& command);
  Status run(const script::WriterSelect& command);
  Status run(const script::ListWriters& command);
  Status run(const script::ListProviders& command);
  Status run(const script::ListShadows& command);
  Status run(const script::DeleteShadows& command);
  Status run(const script::Expose& command);
  Status run(const script::Unexpose& command);
  Status run(const script::Revert& command);
  Status run(const script::Resync& command);

  Status write_metadata(SetEngine& engine, const CreatedSet& set);
  Status end_backup();
  Status end_restore();
  Status revert_to(const std::string& id);
  // Prints a warning on the session's output and goes on, as diskshadow does.
  void warn(const std::string& message);

  Store& store_;
  std::ostream& out_;
  std::size_t line_ = 0;
  bool exited_ = false;
  SnapshotContext context_ = SnapshotContext::kBackup;
  bool verbose_ = false;
  std::optional<std::string> metadata_;
  std::vector<SetVolume> volumes_;
  std::vector<std::string> excluded_;
  std::vector<std::string> verified_;
  bool backup_open_ = false;
  bool restore_open_ = false;
  // ADD SHADOW list: (braced shadow id, volume name), one per volume.
  std::vector<std::pair<std::string, std::string>> resync_;
  // By lower-case name: aliases match case-insensitively, as %name% does.
  std::map<std::string, Alias> aliases_;
  std::size_t shadow_count_ = 0;
  std::unique_ptr<SetEngine> engine_;
};

}  // namespace freezeframe::cli
