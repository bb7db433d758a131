#include "script.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "commands.h"
#include "freezeframe/clock.h"
#include "os.h"
#include "parse.h"
#include "snapshot_sets.h"

namespace freezeframe::cli {
namespace {

using nlohmann::json;

struct SetVolume {
  std::string name;  // the store's name
  std::string typed;
  std::string alias;
  std::optional<ProviderKind> provider;
};

struct Alias {
  std::string name;
  std::string value;
};

std::string braced(const Uuid& id) {
  return "{" + id.to_string() + "}";
}

class Interpreter {
 public:
  Interpreter(Store& store, std::ostream& out, const std::vector<std::string>& params)
      : store_(store), out_(out) {
    for (std::size_t i = 0; i < params.size(); ++i)
      set_alias("DISKSH_PARAM_" + std::to_string(i + 1), params[i]);
  }
  ~Interpreter() { finish().ignore_error(); }

  bool exited() const { return exited_; }

  // Releases auto-release shadow copies; called at the end, however the script ends.
  Status finish() {
    if (!engine_)
      return Status();
    Status status = engine_->release();
    engine_.reset();
    return status;
  }

  // Runs one line. Errors are prefixed with "line N: ".
  Status execute(const std::string& raw_line, std::size_t line_number, bool echo) {
    line_ = line_number;
    std::string line = raw_line;
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
      line.pop_back();
    std::string trimmed = trim(line);
    if (trimmed.empty() || trimmed[0] == '#')
      return Status();
    if (echo)
      out_ << "-> " << trimmed << "\n";
    auto expanded = expand(trimmed);
    if (!expanded.ok())
      return expanded.status();
    if (*expanded != trimmed && echo)
      for (const auto& [name, value] : used_aliases_)
        out_ << "-> %" << name << "% = " << value << "\n";
    auto tokens = tokenize(*expanded);
    if (!tokens.ok())
      return tokens.status();
    if (tokens->empty() || equals_ignore_case((*tokens)[0], "rem"))
      return Status();
    return dispatch(*tokens, *expanded);
  }

 private:
  Status error(ErrorCode code, const std::string& message) const {
    return Status(code, "line " + std::to_string(line_) + ": " + message);
  }
  Status malformed(const std::string& message) const {
    return error(ErrorCode::kInvalidArgument, message);
  }
  Status failed(const Status& status) const {
    return Status(status.code(), "line " + std::to_string(line_) + ": " + status.message());
  }

  static std::string trim(const std::string& text) {
    std::size_t begin = text.find_first_not_of(" \t");
    if (begin == std::string::npos)
      return {};
    std::size_t end = text.find_last_not_of(" \t");
    return text.substr(begin, end - begin + 1);
  }

  void set_alias(const std::string& name, const std::string& value) {
    aliases_[to_lower(name)] = {name, value};
    set_environment(name, value);
  }

  Result<std::string> expand(const std::string& text) {
    used_aliases_.clear();
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
      if (text[i] != '%') {
        out += text[i++];
        continue;
      }
      std::size_t close = text.find('%', i + 1);
      if (close == std::string::npos)
        return malformed("unmatched '%' at column " + std::to_string(i + 1));
      std::string name = text.substr(i + 1, close - i - 1);
      if (name.empty())
        return malformed("empty %% reference at column " + std::to_string(i + 1));
      std::string value;
      if (auto it = aliases_.find(to_lower(name)); it != aliases_.end()) {
        value = it->second.value;
      } else if (const char* env = std::getenv(name.c_str()); env != nullptr) {
        value = env;
      } else {
        return error(ErrorCode::kNotFound, "unknown alias or environment variable %" + name + "%");
      }
      used_aliases_.emplace_back(name, value);
      out += value;
      i = close + 1;
    }
    return out;
  }

  Result<std::vector<std::string>> tokenize(const std::string& text) const {
    std::vector<std::string> tokens;
    std::size_t i = 0;
    while (i < text.size()) {
      while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
        ++i;
      if (i >= text.size())
        break;
      std::string token;
      if (text[i] == '"') {
        std::size_t close = text.find('"', i + 1);
        if (close == std::string::npos)
          return malformed("unterminated quoted string");
        token = text.substr(i + 1, close - i - 1);
        i = close + 1;
      } else {
        while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])))
          token += text[i++];
      }
      tokens.push_back(token);
    }
    return tokens;
  }

  Result<SetEngine*> engine() {
    if (!engine_) {
      auto opened = SetEngine::open(store_, verbose_ ? &out_ : nullptr);
      if (!opened.ok())
        return failed(opened.status());
      engine_ = std::move(opened).value();
    }
    return engine_.get();
  }

  Result<ShadowRef> shadow_by_id(const std::string& text) {
    auto shadow = store_.find_shadow(text);
    if (!shadow.ok())
      return failed(shadow.status());
    return shadow;
  }

  static bool is(const std::string& token, std::string_view word) {
    return equals_ignore_case(token, word);
  }

  Status dispatch(const std::vector<std::string>& t, const std::string& line) {
    const std::string& verb = t[0];
    std::size_t n = t.size();
    if (is(verb, "set"))
      return set_command(t);
    if (is(verb, "add"))
      return add_command(t);
    if (is(verb, "create")) {
      if (n != 1)
        return malformed("'create' takes no arguments");
      return create();
    }
    if (is(verb, "begin") || is(verb, "end")) {
      if (n != 2)
        return malformed("'" + verb + "' takes one argument: backup or restore");
      if (is(t[1], "restore"))
        return restore_session(is(verb, "begin"));
      if (!is(t[1], "backup"))
        return malformed("'" + verb + " " + t[1] + "': expected '" + verb + " backup' or '" + verb +
                         " restore'");
      if (is(verb, "begin")) {
        if (backup_open_)
          return error(ErrorCode::kBadState, "a backup is already open (use 'end backup')");
        if (restore_open_)
          return error(ErrorCode::kBadState, "a restore is open (use 'end restore' first)");
        backup_open_ = true;
        return Status();
      }
      if (!backup_open_)
        return error(ErrorCode::kBadState, "no backup is open (use 'begin backup' first)");
      FF_ASSIGN_OR_RETURN(SetEngine * e, engine());
      if (Status s = e->backup_complete(); !s.ok())
        return failed(s);
      backup_open_ = false;
      return Status();
    }
    if (is(verb, "writer")) {
      if (n != 3 || !(is(t[1], "verify") || is(t[1], "exclude")))
        return malformed("expected 'writer verify|exclude <writer name or id>'");
      if (t[2].find(":\\") != std::string::npos)
        return unsupported("writer " + t[1] + " of a component",
                           "components are not selectable; name the whole writer");
      FF_ASSIGN_OR_RETURN(SetEngine * e, engine());
      if (Status s = e->check_writer(t[2]); !s.ok())
        return failed(s);
      (is(t[1], "verify") ? verified_ : excluded_).push_back(t[2]);
      return Status();
    }
    if (is(verb, "list"))
      return list_command(t);
    if (is(verb, "delete"))
      return delete_command(t);
    if (is(verb, "expose")) {
      if (n != 3)
        return malformed("expected 'expose <shadow id> <image file>'");
      return expose(t[1], t[2]);
    }
    if (is(verb, "unexpose")) {
      if (n != 2)
        return malformed("expected 'unexpose <shadow id or image file>'");
      return unexpose(t[1]);
    }
    if (is(verb, "revert")) {
      if (n != 2)
        return malformed("expected 'revert <shadow id>'");
      return revert_to(t[1]);
    }
    if (is(verb, "resync")) {
      if (n != 1)
        return malformed("'resync' takes no arguments");
      return resync();
    }
    if (is(verb, "exec")) {
      if (n < 2)
        return malformed("expected 'exec <command file> [arguments]'");
      std::string command = trim(line.substr(line.find_first_of(" \t")));
      auto rc = run_shell_command(command);
      if (!rc.ok())
        return failed(rc.status());
      if (*rc != 0)
        return error(ErrorCode::kAborted,
                     "exec '" + command + "' failed with exit status " + std::to_string(*rc));
      return Status();
    }
    if (is(verb, "reset")) {
      if (n != 1)
        return malformed("'reset' takes no arguments");
      return reset();
    }
    if (is(verb, "exit")) {
      exited_ = true;
      return Status();
    }
    if (is(verb, "help") || verb == "?") {
      out_ << kHelp;
      return Status();
    }
    for (std::string_view other : {"load", "import", "mask", "break", "simulate", "restore"})
      if (is(verb, other))
        return unsupported(verb, "freezeframe has no transportable or hardware shadow copies");
    return malformed("unknown command '" + verb + "' (type 'help' for the list)");
  }

  // Reverts the volume of shadow copy `id` to it, as 'revert' and 'resync' do.
  Status revert_to(const std::string& id) {
    FF_ASSIGN_OR_RETURN(ShadowRef shadow, shadow_by_id(id));
    if (Status s = revert_shadow(store_, shadow); !s.ok())
      return failed(s);
    out_ << "The volume '" << shadow.volume->name << "' was reverted to shadow copy "
         << braced(shadow.info.id) << ".\n";
    return Status();
  }

  // BEGIN RESTORE ... END RESTORE bracket a resynchronisation: ADD SHADOW lists shadow
  // copies, RESYNC copies each back onto its volume. Writers take no part: the protocol has
  // no restore events.
  Status restore_session(bool begin) {
    if (begin) {
      if (restore_open_)
        return error(ErrorCode::kBadState, "a restore is already open (use 'end restore')");
      if (backup_open_) {
        return error(ErrorCode::kBadState,
                     "a backup is open (use 'end backup' before 'begin restore')");
      }
      restore_open_ = true;
      return Status();
    }
    if (!restore_open_)
      return error(ErrorCode::kBadState, "no restore is open (use 'begin restore' first)");
    if (!resync_.empty()) {
      return error(ErrorCode::kBadState,
                   std::to_string(resync_.size()) +
                       " added shadow copies are not resynchronised yet (use 'resync' before "
                       "'end restore')");
    }
    restore_open_ = false;
    return Status();
  }

  Status add_resync_shadow(const std::string& id) {
    if (!restore_open_)
      return error(ErrorCode::kBadState, "'add shadow' needs a restore (use 'begin restore')");
    FF_ASSIGN_OR_RETURN(ShadowRef shadow, shadow_by_id(id));
    for (const auto& [listed, volume] : resync_) {
      if (volume == shadow.volume->name) {
        return error(ErrorCode::kAlreadyExists, "volume '" + volume + "' already has shadow copy " +
                                                    listed + " to resynchronise");
      }
    }
    resync_.emplace_back(braced(shadow.info.id), shadow.volume->name);
    return Status();
  }

  Status resync() {
    if (!restore_open_)
      return error(ErrorCode::kBadState, "'resync' needs a restore (use 'begin restore')");
    if (resync_.empty()) {
      return error(ErrorCode::kBadState,
                   "no shadow copy to resynchronise (use 'add shadow <shadow id>')");
    }
    // Each volume appears once, so one revert cannot delete another listed shadow copy.
    while (!resync_.empty()) {
      FF_TRY(revert_to(resync_.front().first));
      resync_.erase(resync_.begin());
    }
    return Status();
  }

  Status unsupported(const std::string& what, const std::string& why) const {
    return error(ErrorCode::kUnsupported, "'" + what + "' is not supported: " + why);
  }

  Status set_command(const std::vector<std::string>& t) {
    if (t.size() < 2)
      return malformed("expected 'set context|option|verbose|metadata ...'");
    if (is(t[1], "context")) {
      if (t.size() < 3 || t.size() > 4)
        return malformed(
            "expected 'set context clientaccessible | persistent [nowriters] | "
            "volatile [nowriters]'");
      bool nowriters = t.size() == 4;
      if (nowriters && !is(t[3], "nowriters"))
        return malformed("unexpected '" + t[3] + "' after 'set context " + t[2] + "'");
      if (is(t[2], "persistent"))
        context_ = nowriters ? SnapshotContext::kNasRollback : SnapshotContext::kAppRollback;
      else if (is(t[2], "volatile"))
        context_ = nowriters ? SnapshotContext::kFileShareBackup : SnapshotContext::kBackup;
      else if (is(t[2], "clientaccessible") && !nowriters)
        context_ = SnapshotContext::kClientAccessible;
      else
        return malformed("unknown context '" + t[2] + (nowriters ? " " + t[3] : "") +
                         "' (clientaccessible, persistent [nowriters], volatile [nowriters])");
      return Status();
    }
    if (is(t[1], "option")) {
      if (t.size() < 3)
        return malformed(
            "expected 'set option differential | plex | transportable | "
            "rollbackrecover | txfrecover | noautorecover'");
      for (std::size_t i = 2; i < t.size(); ++i) {
        std::string option = to_lower(t[i]);
        if (option == "plex" || option == "transportable")
          return unsupported("set option " + option,
                             "the software providers take differential shadow copies only");
        if (option != "differential" && option != "rollbackrecover" && option != "txfrecover" &&
            option != "noautorecover")
          return malformed("unknown option '" + t[i] + "'");
      }
      return Status();
    }
    if (is(t[1], "verbose")) {
      if (t.size() != 3 || !(is(t[2], "on") || is(t[2], "off")))
        return malformed("expected 'set verbose on|off'");
      verbose_ = is(t[2], "on");
      return Status();
    }
    if (is(t[1], "metadata")) {
      if (t.size() != 3)
        return malformed("expected 'set metadata <file>'");
      if (std::filesystem::exists(t[2]))
        out_ << "The existing file will be overwritten.\n";
      metadata_ = t[2];
      return Status();
    }
    return malformed("unknown 'set " + t[1] + "' (context, option, verbose, metadata)");
  }

  Status add_command(const std::vector<std::string>& t) {
    if (t.size() == 1) {
      for (const SetVolume& v : volumes_)
        out_ << "Volume " << v.name << (v.alias.empty() ? "" : " alias " + v.alias) << "\n";
      out_ << volumes_.size() << " volume(s) in Shadow Copy Set.\n";
      if (aliases_.empty())
        out_ << "No Diskshadow aliases in the environment.\n";
      for (const auto& [key, alias] : aliases_)
        out_ << "Alias " << alias.name << " = " << alias.value << "\n";
      return Status();
    }
    if (is(t[1], "alias")) {
      if (t.size() != 4)
        return malformed("expected 'add alias <name> <value>'");
      set_alias(t[2], t[3]);
      return Status();
    }
    if (is(t[1], "shadow")) {
      if (t.size() != 3)
        return malformed(
            "expected 'add shadow <shadow id>' (a shadow copy is resynchronised "
            "onto its own volume)");
      return add_resync_shadow(t[2]);
    }
    if (!is(t[1], "volume"))
      return malformed("expected 'add volume <volume> [alias <name>] [provider <id>]'");
    if (t.size() < 3)
      return malformed("'add volume' needs a volume");
    SetVolume volume;
    volume.typed = t[2];
    for (std::size_t i = 3; i < t.size(); i += 2) {
      if (i + 1 >= t.size())
        return malformed("'" + t[i] + "' needs a value");
      if (is(t[i], "alias")) {
        volume.alias = t[i + 1];
      } else if (is(t[i], "provider")) {
        auto kind = find_provider(t[i + 1]);
        if (!kind.ok())
          return failed(kind.status());
        volume.provider = *kind;
      } else {
        return malformed("unexpected '" + t[i] + "' in 'add volume' (alias, provider)");
      }
    }
    auto entry = store_.volume(volume.typed);
    if (!entry.ok())
      return failed(entry.status());
    volume.name = (*entry)->name;
    for (const SetVolume& other : volumes_)
      if (other.name == volume.name)
        return error(ErrorCode::kAlreadyExists,
                     "volume '" + volume.typed + "' is already in the shadow copy set");
    volumes_.push_back(std::move(volume));
    return Status();
  }

  Status create() {
    if (volumes_.empty())
      return error(ErrorCode::kBadState, "no volume in the shadow copy set (use 'add volume')");
    SetRequest request;
    request.context = context_;
    request.backup_type = backup_open_ ? BackupType::kFull : BackupType::kCopy;
    request.writers_excluded = excluded_;
    request.writers_verified = verified_;
    for (const SetVolume& v : volumes_) {
      auto entry = store_.volume(v.name);
      if (!entry.ok())
        return failed(entry.status());
      if (Status s = ensure_storage(store_, **entry, v.provider); !s.ok())
        return failed(s);
      request.volumes.push_back(v.name);
    }
    FF_ASSIGN_OR_RETURN(SetEngine * e, engine());
    auto created = e->create(request);
    if (!created.ok())
      return failed(created.status());
    const CreatedSet& set = *created;
    for (std::size_t i = 0; i < set.shadows.size(); ++i) {
      const std::string id = braced(set.shadows[i].info.id);
      set_alias("VSS_SHADOW_" + std::to_string(++shadow_count_), id);
      if (!volumes_[i].alias.empty()) {
        set_alias(volumes_[i].alias, id);
        out_ << "Alias " << volumes_[i].alias << " for shadow ID " << id
             << " set as environment variable.\n";
      }
    }
    set_alias("VSS_SHADOW_SET", braced(set.id));
    out_ << "Alias VSS_SHADOW_SET for shadow set ID " << braced(set.id)
         << " set as environment variable.\n\n"
         << "Querying all shadow copies with the shadow copy set ID " << braced(set.id) << "\n\n";
    print_shadow_details(store_, set.shadows, out_);
    if (metadata_) {
      json doc = {{"snapshot_set_id", set.id.to_string()},
                  {"context", context_name(set.context)},
                  {"backup_type", backup_open_ ? "full" : "copy"},
                  {"shadows", json::array()},
                  {"writers", json::array()}};
      for (const ShadowRef& shadow : set.shadows)
        doc["shadows"].push_back(shadow_json(store_, shadow));
      for (const WriterRow& w : e->writers())
        doc["writers"].push_back({{"name", w.name}, {"id", w.class_id.to_string()}});
      if (Status s = replace_file(*metadata_, doc.dump(2) + "\n"); !s.ok())
        return failed(s.with_context("set metadata"));
    }
    volumes_.clear();
    return Status();
  }

  Status list_command(const std::vector<std::string>& t) {
    if (t.size() < 2)
      return malformed("expected 'list writers | shadows | providers'");
    if (is(t[1], "writers")) {
      if (t.size() > 3 ||
          (t.size() == 3 && !(is(t[2], "metadata") || is(t[2], "detailed") || is(t[2], "status"))))
        return malformed("expected 'list writers [metadata | detailed | status]'");
      FF_ASSIGN_OR_RETURN(SetEngine * e, engine());
      auto rows = e->writers();
      for (const WriterRow& w : rows)
        out_ << "\t* WRITER \"" << w.name << "\"\n"
             << "\t\t- Writer ID   = " << braced(w.class_id) << "\n"
             << "\t\t- Writer instance ID = " << braced(w.instance_id) << "\n"
             << "\t\t- Status: " << static_cast<int>(w.state) << " (" << state_name(w.state)
             << ")\n"
             << "\t\t- Writer Failure: " << failure_name(w.failure) << "\n";
      out_ << rows.size() << " writers listed.\n";
      return Status();
    }
    if (is(t[1], "providers")) {
      auto rows = store_providers();
      for (const ProviderRow& p : rows)
        out_ << "\t* ProviderID: " << braced(p.id) << "\n"
             << "\t\tType: [1] software (" << provider_kind_name(p.kind) << ")\n"
             << "\t\tName: " << p.name << "\n"
             << "\t\tVersion: " << p.version << "\n";
      out_ << rows.size() << " providers registered.\n";
      return Status();
    }
    if (!is(t[1], "shadows"))
      return malformed("unknown 'list " + t[1] + "' (writers, shadows, providers)");
    auto all = store_.shadows();
    if (!all.ok())
      return failed(all.status());
    std::vector<ShadowRef> chosen;
    if (t.size() == 2 || (t.size() == 3 && is(t[2], "all"))) {
      chosen = *all;
    } else if (t.size() == 4 && (is(t[2], "set") || is(t[2], "id"))) {
      auto id = Uuid::parse(t[3]);
      if (!id.ok())
        return malformed("'" + t[3] + "' is not a GUID");
      for (const ShadowRef& s : *all)
        if ((is(t[2], "set") ? s.info.set_id : s.info.id) == *id)
          chosen.push_back(s);
    } else {
      return malformed("expected 'list shadows all | set <set id> | id <shadow id>'");
    }
    print_shadow_details(store_, chosen, out_);
    return Status();
  }

  Status delete_command(const std::vector<std::string>& t) {
    if (t.size() < 3 || !is(t[1], "shadows"))
      return malformed(
          "expected 'delete shadows all | volume <v> | oldest <v> | set <id> | id <id> | "
          "exposed <file>'");
    auto all = store_.shadows();
    if (!all.ok())
      return failed(all.status());
    std::vector<ShadowRef> chosen;
    const std::string& how = t[2];
    if (is(how, "all")) {
      if (t.size() != 3)
        return malformed("'delete shadows all' takes nothing more");
      chosen = *all;
    } else {
      if (t.size() != 4)
        return malformed("'delete shadows " + how + "' takes one argument");
      const std::string& arg = t[3];
      if (is(how, "volume") || is(how, "oldest")) {
        auto entry = store_.volume(arg);
        if (!entry.ok())
          return failed(entry.status());
        for (const ShadowRef& s : *all)
          if (s.volume == *entry)
            chosen.push_back(s);
        if (is(how, "oldest") && !chosen.empty())
          chosen = {*std::min_element(
              chosen.begin(), chosen.end(),
              [](const auto& a, const auto& b) { return a.info.sequence < b.info.sequence; })};
      } else if (is(how, "set") || is(how, "id")) {
        auto id = Uuid::parse(arg);
        if (!id.ok())
          return malformed("'" + arg + "' is not a GUID");
        for (const ShadowRef& s : *all)
          if ((is(how, "set") ? s.info.set_id : s.info.id) == *id)
            chosen.push_back(s);
        if (chosen.empty())
          return error(ErrorCode::kNotFound, "no shadow copy with " + to_lower(how) + " " + arg);
      } else if (is(how, "exposed")) {
        for (const ShadowRef& s : *all) {
          auto exposed = store_.exposure_of(s.info.id);
          std::error_code ignored;
          if (exposed && std::filesystem::path(*exposed) == std::filesystem::absolute(arg, ignored))
            chosen.push_back(s);
        }
        if (chosen.empty())
          return error(ErrorCode::kNotFound, "no shadow copy is exposed as '" + arg + "'");
      } else {
        return malformed("unknown 'delete shadows " + how +
                         "' (all, volume, oldest, set, id, exposed)");
      }
    }
    for (const ShadowRef& s : chosen) {
      if (Status st = store_.delete_shadow(s); !st.ok())
        return failed(st);
      if (engine_)
        engine_->forget(s.info.id);
    }
    out_ << "Number of shadow copies deleted: " << chosen.size() << "\n";
    return Status();
  }

  Status expose(const std::string& id, const std::string& path) {
    FF_ASSIGN_OR_RETURN(ShadowRef shadow, shadow_by_id(id));
    if ((shadow.info.attributes & kAttrPersistent) == 0)
      return error(ErrorCode::kBadState, "shadow copy " + braced(shadow.info.id) +
                                             " is not persistent; only persistent shadow "
                                             "copies can be exposed");
    if (Status s = store_.expose(shadow, path); !s.ok())
      return failed(s);
    out_ << "The shadow copy was successfully exposed as " << *store_.exposure_of(shadow.info.id)
         << ".\n";
    return Status();
  }

  Status unexpose(const std::string& what) {
    const auto& exposures = store_.catalog().exposures;
    auto id = Uuid::parse(what);
    std::error_code ignored;
    std::filesystem::path absolute = std::filesystem::absolute(what, ignored);
    auto it = std::find_if(exposures.begin(), exposures.end(), [&](const Exposure& e) {
      return (id.ok() && e.shadow == *id) || std::filesystem::path(e.path) == absolute;
    });
    if (it == exposures.end())
      return error(ErrorCode::kNotFound, "'" + what + "' is not an exposed shadow copy");
    auto path = store_.unexpose(it->shadow);
    if (!path.ok())
      return failed(path.status());
    out_ << "The shadow copy exposed as " << *path << " was unexposed.\n";
    return Status();
  }

  Status reset() {
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

  static constexpr std::string_view kHelp =
      "SET CONTEXT {CLIENTACCESSIBLE | PERSISTENT [NOWRITERS] | VOLATILE [NOWRITERS]}\n"
      "SET OPTION {DIFFERENTIAL | ROLLBACKRECOVER | TXFRECOVER | NOAUTORECOVER}\n"
      "SET VERBOSE {ON | OFF}\n"
      "SET METADATA <file>\n"
      "ADD [VOLUME <volume> [ALIAS <name>] [PROVIDER <cow|row|id>] | ALIAS <name> <value>]\n"
      "CREATE\n"
      "BEGIN BACKUP / END BACKUP\n"
      "BEGIN RESTORE / ADD SHADOW <shadow id> / RESYNC / END RESTORE\n"
      "WRITER {VERIFY | EXCLUDE} <writer name or id>\n"
      "LIST {WRITERS [METADATA|DETAILED|STATUS] | SHADOWS {ALL | SET <id> | ID <id>} | "
      "PROVIDERS}\n"
      "DELETE SHADOWS {ALL | VOLUME <v> | OLDEST <v> | SET <id> | ID <id> | EXPOSED <file>}\n"
      "EXPOSE <shadow id> <image file> / UNEXPOSE {<shadow id> | <image file>}\n"
      "REVERT <shadow id>\n"
      "EXEC <command file> [args]\n"
      "RESET\n"
      "EXIT\n"
      "# or REM starts a comment; %name% expands an alias or environment variable.\n";

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
  std::map<std::string, Alias> aliases_;
  std::vector<std::pair<std::string, std::string>> used_aliases_;
  std::size_t shadow_count_ = 0;
  std::unique_ptr<SetEngine> engine_;
};

}  // namespace

Status run_script_text(Store& store, std::string_view script, const std::string& name,
                       const std::vector<std::string>& params, std::ostream& out) {
  Interpreter interpreter(store, out, params);
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start < script.size() && !interpreter.exited()) {
    std::size_t end = script.find('\n', start);
    if (end == std::string_view::npos)
      end = script.size();
    ++line_number;
    Status status =
        interpreter.execute(std::string(script.substr(start, end - start)), line_number, true);
    if (!status.ok()) {
      Status released = interpreter.finish();
      if (!released.ok())
        out << "Releasing the script's auto-release shadow copies failed: " << released.message()
            << "\n";
      return Status(status.code(), name + ": " + status.message());
    }
    start = end + 1;
  }
  Status released = interpreter.finish();
  if (!released.ok())
    return released.with_context(name + ": releasing auto-release shadow copies");
  return Status();
}

Status run_script_file(Store& store, const std::filesystem::path& path,
                       const std::vector<std::string>& params, std::ostream& out) {
  auto text = read_file(path);
  if (!text.ok())
    return text.status().with_context("script");
  return run_script_text(store, *text, path.string(), params, out);
}

Status run_shell(Store& store, std::istream& in, std::ostream& out) {
  Interpreter interpreter(store, out, {});
  bool prompt = stdin_is_terminal();
  std::string line;
  std::size_t line_number = 0;
  while (!interpreter.exited()) {
    if (prompt)
      out << "FREEZEFRAME> " << std::flush;
    if (!std::getline(in, line))
      break;
    Status status = interpreter.execute(line, ++line_number, !prompt);
    if (!status.ok())
      std::cerr << "error: " << status.message() << "\n";
  }
  return interpreter.finish();
}

}  // namespace freezeframe::cli
