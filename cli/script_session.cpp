// Running lines, and the commands that change only the session (script_session.h).
#include "script_session.h"

#include <filesystem>
#include <variant>

#include "freezeframe/process.h"
#include "parse.h"

namespace freezeframe::cli {
namespace {

constexpr std::string_view kHelp =
    "SET CONTEXT {CLIENTACCESSIBLE | PERSISTENT [NOWRITERS] | VOLATILE [NOWRITERS]}\n"
    "SET OPTION {DIFFERENTIAL | ROLLBACKRECOVER | TXFRECOVER | NOAUTORECOVER}\n"
    "SET VERBOSE {ON | OFF}\n"
    "SET METADATA <file>\n"
    "ADD [VOLUME <volume> [ALIAS <name>] [PROVIDER <cow|row|id>] | ALIAS <name> <value>]\n"
    "CREATE\n"
    "BEGIN BACKUP / END BACKUP\n"
    "BEGIN RESTORE / ADD SHADOW <shadow id> [<its volume>] / RESYNC [NOVOLCHECK] "
    "[REVERT_ORIGINALSIG] / END RESTORE\n"
    "WRITER {VERIFY | EXCLUDE} <writer name or id>  (quotes around several words are optional)\n"
    "LIST {WRITERS [METADATA|DETAILED|STATUS] | SHADOWS {ALL | SET <id> | ID <id>} | "
    "PROVIDERS}\n"
    "DELETE SHADOWS {ALL | VOLUME <v> | OLDEST <v> | SET <id> | ID <id> | EXPOSED <file>}\n"
    "EXPOSE <shadow id> <image file> / UNEXPOSE {<shadow id> | <image file>}\n"
    "REVERT <shadow id>\n"
    "EXEC <program> [arguments]\n"
    "RESET\n"
    "EXIT\n"
    "# or REM starts a comment; %name% expands an alias or environment variable.\n";

}  // namespace

ScriptSession::ScriptSession(Store& store, std::ostream& out,
                             const std::vector<std::string>& params)
    : store_(store), out_(out) {
  for (std::size_t i = 0; i < params.size(); ++i)
    set_alias("DISKSH_PARAM_" + std::to_string(i + 1), params[i]);
}

ScriptSession::~ScriptSession() {
  finish().ignore_error();
}

Status ScriptSession::finish() {
  if (!engine_)
    return Status();
  Status status = engine_->release();
  engine_.reset();
  return status;
}

Status ScriptSession::execute(std::string_view line, std::size_t line_number, bool echo) {
  line_ = line_number;
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
    line.remove_suffix(1);
  if (script::is_blank_or_comment(line))
    return Status();
  std::string trimmed = script::trim(line);
  if (echo)
    out_ << "-> " << trimmed << "\n";
  FF_ASSIGN_OR_RETURN(script::Expansion expanded,
                      script::expand_aliases(trimmed, line_, [this](const std::string& name) {
                        return lookup(name);
                      }));
  if (echo)
    for (const auto& [name, value] : expanded.used)
      out_ << "-> %" << name << "% = " << value << "\n";
  FF_ASSIGN_OR_RETURN(script::Command command, script::parse_line(expanded.text, line_));
  return std::visit([this](const auto& parsed) { return run(parsed); }, command);
}

Status ScriptSession::error(ErrorCode code, const std::string& message) const {
  return Status(code, "line " + std::to_string(line_) + ": " + message);
}

Status ScriptSession::failed(const Status& status) const {
  return error(status.code(), status.message());
}

void ScriptSession::warn(const std::string& message) {
  out_ << "WARNING: " << message << "\n";
}

void ScriptSession::set_alias(const std::string& name, const std::string& value) {
  aliases_[to_lower(name)] = {name, value};
}

std::optional<std::string> ScriptSession::lookup(const std::string& name) const {
  if (auto it = aliases_.find(to_lower(name)); it != aliases_.end())
    return it->second.value;
  return environment_variable(name);
}

Result<SetEngine*> ScriptSession::engine() {
  if (!engine_) {
    auto opened = SetEngine::open(store_, verbose_ ? &out_ : nullptr);
    if (!opened.ok())
      return failed(opened.status());
    engine_ = std::move(opened).value();
  }
  return engine_.get();
}

Status ScriptSession::run(const script::SetContext& command) {
  context_ = command.context;
  return Status();
}

Status ScriptSession::run(const script::SetOption&) {
  // The accepted options describe what the software providers do anyway.
  return Status();
}

Status ScriptSession::run(const script::SetVerbose& command) {
  verbose_ = command.on;
  return Status();
}

Status ScriptSession::run(const script::SetMetadata& command) {
  std::error_code ignored;
  if (std::filesystem::exists(command.file, ignored))
    out_ << "The existing file will be overwritten.\n";
  metadata_ = command.file;
  return Status();
}

Status ScriptSession::run(const script::ShowSet&) {
  for (const SetVolume& v : volumes_)
    out_ << "Volume " << v.name << (v.alias.empty() ? "" : " alias " + v.alias) << "\n";
  out_ << volumes_.size() << " volume(s) in Shadow Copy Set.\n";
  if (aliases_.empty())
    out_ << "No Diskshadow aliases in the environment.\n";
  for (const auto& [key, alias] : aliases_)
    out_ << "Alias " << alias.name << " = " << alias.value << "\n";
  return Status();
}

Status ScriptSession::run(const script::AddAlias& command) {
  set_alias(command.name, command.value);
  return Status();
}

Status ScriptSession::run(const script::Exec& command) {
  ProgramLaunch launch{command.program, command.arguments, {}};
  // The aliases are environment variables of the program, as diskshadow makes them.
  for (const auto& [key, alias] : aliases_)
    launch.environment.emplace_back(alias.name, alias.value);
  // Our lines so far come before anything the program prints.
  out_.flush();
  auto status = run_program(launch);
  if (!status.ok())
    return failed(status.status().with_context("exec"));
  if (*status != 0) {
    return error(ErrorCode::kAborted, "exec '" + command.program + "' failed with exit status " +
                                          std::to_string(*status));
  }
  return Status();
}

Status ScriptSession::run(const script::Reset&) {
  Status status = finish();
  context_ = SnapshotContext::kBackup;
  verbose_ = false;
  metadata_.reset();
  volumes_.clear();
  excluded_.clear();
  verified_.clear();
  backup_open_ = false;
  restore_open_ = false;
  resync_.clear();
  for (auto it = aliases_.begin(); it != aliases_.end();)
    it = it->first.rfind("disksh_param_", 0) == 0 ? std::next(it) : aliases_.erase(it);
  shadow_count_ = 0;
  return status.ok() ? Status() : failed(status);
}

Status ScriptSession::run(const script::Exit&) {
  exited_ = true;
  return Status();
}

Status ScriptSession::run(const script::Help&) {
  out_ << kHelp;
  return Status();
}

}  // namespace freezeframe::cli
