// The commands of a session that read or change the store and talk to the writers
// (script_session.h).
#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "freezeframe/durable_file.h"
#include "parse.h"
#include "script_session.h"

namespace freezeframe::cli {

namespace {

using nlohmann::json;

// "{uuid}", as diskshadow prints ids.
std::string braced(const Uuid& id) {
  return "{" + id.to_string() + "}";
}

}  // namespace

Status ScriptSession::run(const script::AddVolume& command) {
  SetVolume volume{"", command.volume, command.alias, std::nullopt};
  if (command.provider) {
    FF_ASSIGN_OR_RETURN(volume.provider, checked(find_provider(*command.provider)));
  }
  FF_ASSIGN_OR_RETURN(VolumeEntry * entry, checked(store_.volume(volume.typed)));
  volume.name = entry->name;
  for (const SetVolume& other : volumes_) {
    if (other.name == volume.name) {
      return error(ErrorCode::kAlreadyExists,
                   "volume '" + volume.typed + "' is already in the shadow copy set");
    }
  }
  volumes_.push_back(std::move(volume));
  return Status();
}

Status ScriptSession::run(const script::Create&) {
  if (volumes_.empty())
    return error(ErrorCode::kBadState, "no volume in the shadow copy set (use 'add volume')");
  SetRequest request;
  request.context = context_;
  request.backup_type = backup_open_ ? BackupType::kFull : BackupType::kCopy;
  request.writers_excluded = excluded_;
  request.writers_verified = verified_;
  for (const SetVolume& v : volumes_) {
    FF_ASSIGN_OR_RETURN(VolumeEntry * entry, checked(store_.volume(v.name)));
    FF_TRY(checked(ensure_storage(store_, *entry, v.provider)));
    request.volumes.push_back(v.name);
  }
  FF_ASSIGN_OR_RETURN(SetEngine * e, engine());
  FF_ASSIGN_OR_RETURN(CreatedSet set, checked(e->create(request)));
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
  FF_TRY(write_metadata(*e, set));
  volumes_.clear();
  return Status();
}

// SET METADATA: a JSON document where diskshadow writes a .cab.
Status ScriptSession::write_metadata(SetEngine& engine, const CreatedSet& set) {
  if (!metadata_)
    return Status();
  json doc = {{"snapshot_set_id", set.id.to_string()},
              {"context", context_name(set.context)},
              {"backup_type", backup_open_ ? "full" : "copy"},
              {"shadows", json::array()},
              {"writers", json::array()}};
  for (const ShadowRef& shadow : set.shadows)
    doc["shadows"].push_back(shadow_json(store_, shadow));
  for (const WriterRow& w : engine.writers())
    doc["writers"].push_back({{"name", w.name}, {"id", w.class_id.to_string()}});
  return checked(replace_file(*metadata_, doc.dump(2) + "\n").with_context("set metadata"));
}

// BEGIN BACKUP / BEGIN RESTORE: one session at a time.
Status ScriptSession::run(const script::Begin& command) {
  bool backup = command.session == script::Session::kBackup;
  if (backup_open_) {
    return error(ErrorCode::kBadState,
                 backup ? "a backup is already open (use 'end backup')"
                        : "a backup is open (use 'end backup' before 'begin restore')");
  }
  if (restore_open_) {
    return error(ErrorCode::kBadState, backup ? "a restore is open (use 'end restore' first)"
                                              : "a restore is already open (use 'end restore')");
  }
  (backup ? backup_open_ : restore_open_) = true;
  return Status();
}

Status ScriptSession::run(const script::End& command) {
  return command.session == script::Session::kBackup ? end_backup() : end_restore();
}

Status ScriptSession::end_backup() {
  if (!backup_open_)
    return error(ErrorCode::kBadState, "no backup is open (use 'begin backup' first)");
  FF_ASSIGN_OR_RETURN(SetEngine * e, engine());
  FF_TRY(checked(e->backup_complete()));
  backup_open_ = false;
  return Status();
}

// BEGIN RESTORE ... END RESTORE bracket a resynchronisation: ADD SHADOW lists shadow copies,
// RESYNC copies each back onto its volume. Writers take no part: the protocol has no restore
// events.
Status ScriptSession::end_restore() {
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

Status ScriptSession::run(const script::AddShadow& command) {
  if (!restore_open_)
    return error(ErrorCode::kBadState, "'add shadow' needs a restore (use 'begin restore')");
  FF_ASSIGN_OR_RETURN(ShadowRef shadow, checked(store_.find_shadow(command.shadow)));
  const std::string& volume = shadow.volume->name;
  if (command.destination) {
    // diskshadow's destination volume: only the shadow copy's own volume can take it back.
    auto destination = store_.volume(*command.destination);
    if (!destination.ok() || (*destination)->name != volume) {
      return error(ErrorCode::kInvalidArgument,
                   "'" + *command.destination + "' is not the volume of shadow copy " +
                       braced(shadow.info.id) + " ('" + volume +
                       "'); a shadow copy is resynchronised only onto its own volume" +
                       (destination.ok() ? "" : " (" + destination.status().message() + ")"));
    }
  }
  for (const auto& [listed, listed_volume] : resync_) {
    if (listed_volume == volume) {
      return error(
          ErrorCode::kAlreadyExists,
          concat("volume '", volume, "' already has shadow copy ", listed, " to resynchronise"));
    }
  }
  resync_.emplace_back(braced(shadow.info.id), volume);
  return Status();
}

Status ScriptSession::run(const script::Resync&) {
  // NOVOLCHECK and REVERT_ORIGINALSIG concern LUNs and disk signatures: nothing to do here.
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

Status ScriptSession::run(const script::Revert& command) {
  return revert_to(command.shadow);
}

// Reverts the volume of shadow copy `id` to it, as 'revert' and 'resync' do.
Status ScriptSession::revert_to(const std::string& id) {
  FF_ASSIGN_OR_RETURN(ShadowRef shadow, checked(store_.find_shadow(id)));
  FF_TRY(checked(revert_shadow(store_, shadow)));
  out_ << "The volume '" << shadow.volume->name << "' was reverted to shadow copy "
       << braced(shadow.info.id) << ".\n";
  return Status();
}

Status ScriptSession::run(const script::WriterSelect& command) {
  FF_ASSIGN_OR_RETURN(SetEngine * e, engine());
  if (command.action == script::WriterAction::kVerify) {
    FF_TRY(checked(e->check_writer(command.writer)));
    verified_.push_back(command.writer);
    return Status();
  }
  // diskshadow excludes what is there and warns about the rest.
  if (!command.component) {
    if (Status present = e->check_writer(command.writer); !present.ok()) {
      warn("writer '" + command.writer + "' is not present; 'writer exclude' ignores it");
      return Status();
    }
    excluded_.push_back(command.writer);
    return Status();
  }
  if (Status present = e->check_component(command.writer, *command.component); !present.ok()) {
    warn("component '" + *command.component + "' of writer '" + command.writer +
         "' is not present (" + present.message() + "); 'writer exclude' ignores it");
    return Status();
  }
  return error(ErrorCode::kUnsupported,
               "'writer exclude' of a component is not supported: components are not "
               "selectable; name the whole writer");
}

Status ScriptSession::run(const script::ListWriters&) {
  FF_ASSIGN_OR_RETURN(SetEngine * e, engine());
  auto rows = e->writers();
  for (const WriterRow& w : rows) {
    out_ << "\t* WRITER \"" << w.name << "\"\n"
         << "\t\t- Writer ID   = " << braced(w.class_id) << "\n"
         << "\t\t- Writer instance ID = " << braced(w.instance_id) << "\n"
         << "\t\t- Status: " << static_cast<int>(w.state) << " (" << state_name(w.state) << ")\n"
         << "\t\t- Writer Failure: " << failure_name(w.failure) << "\n";
  }
  out_ << rows.size() << " writers listed.\n";
  return Status();
}

Status ScriptSession::run(const script::ListProviders&) {
  auto rows = store_providers();
  for (const ProviderRow& p : rows) {
    out_ << "\t* ProviderID: " << braced(p.id) << "\n"
         << "\t\tType: [1] software (" << provider_kind_name(p.kind) << ")\n"
         << "\t\tName: " << p.name << "\n"
         << "\t\tVersion: " << p.version << "\n";
  }
  out_ << rows.size() << " providers registered.\n";
  return Status();
}

Status ScriptSession::run(const script::ListShadows& command) {
  FF_ASSIGN_OR_RETURN(std::vector<ShadowRef> all, checked(store_.shadows()));
  std::vector<ShadowRef> chosen;
  for (const ShadowRef& s : all) {
    if (command.filter == script::ShadowFilter::kAll ||
        (command.filter == script::ShadowFilter::kSet ? s.info.set_id : s.info.id) == command.id)
      chosen.push_back(s);
  }
  print_shadow_details(store_, chosen, out_);
  return Status();
}

Status ScriptSession::run(const script::DeleteShadows& command) {
  using script::DeleteBy;
  FF_ASSIGN_OR_RETURN(std::vector<ShadowRef> all, checked(store_.shadows()));
  const std::string& arg = command.argument;
  std::vector<ShadowRef> chosen;
  if (command.by == DeleteBy::kAll) {
    chosen = all;
  } else if (command.by == DeleteBy::kVolume || command.by == DeleteBy::kOldest) {
    FF_ASSIGN_OR_RETURN(VolumeEntry * entry, checked(store_.volume(arg)));
    std::copy_if(all.begin(), all.end(), std::back_inserter(chosen),
                 [&](const ShadowRef& s) { return s.volume == entry; });
    if (command.by == DeleteBy::kOldest && !chosen.empty()) {
      chosen = {*std::min_element(chosen.begin(), chosen.end(), [](const auto& a, const auto& b) {
        return a.info.sequence < b.info.sequence;
      })};
    }
  } else if (command.by == DeleteBy::kExposed) {
    std::error_code ignored;
    std::filesystem::path target = std::filesystem::absolute(arg, ignored);
    std::copy_if(all.begin(), all.end(), std::back_inserter(chosen), [&](const ShadowRef& s) {
      auto exposed = store_.exposure_of(s.info.id);
      return exposed && std::filesystem::path(*exposed) == target;
    });
    if (chosen.empty())
      return error(ErrorCode::kNotFound, "no shadow copy is exposed as '" + arg + "'");
  } else {
    bool by_set = command.by == DeleteBy::kSet;
    std::copy_if(all.begin(), all.end(), std::back_inserter(chosen), [&](const ShadowRef& s) {
      return (by_set ? s.info.set_id : s.info.id) == command.id;
    });
    if (chosen.empty()) {
      return error(ErrorCode::kNotFound,
                   "no shadow copy with " + std::string(by_set ? "set " : "id ") + arg);
    }
  }
  for (const ShadowRef& s : chosen) {
    FF_TRY(checked(store_.delete_shadow(s)));
    if (engine_)
      engine_->forget(s.info.id);
  }
  out_ << "Number of shadow copies deleted: " << chosen.size() << "\n";
  return Status();
}

Status ScriptSession::run(const script::Expose& command) {
  FF_ASSIGN_OR_RETURN(ShadowRef shadow, checked(store_.find_shadow(command.shadow)));
  if ((shadow.info.attributes & kAttrPersistent) == 0) {
    return error(ErrorCode::kBadState, "shadow copy " + braced(shadow.info.id) +
                                           " is not persistent; only persistent shadow "
                                           "copies can be exposed");
  }
  FF_TRY(checked(store_.expose(shadow, command.file)));
  out_ << "The shadow copy was successfully exposed as " << *store_.exposure_of(shadow.info.id)
       << ".\n";
  return Status();
}

Status ScriptSession::run(const script::Unexpose& command) {
  const std::string& what = command.shadow_or_file;
  const auto& exposures = store_.catalog().exposures;
  auto id = Uuid::parse(what);
  std::error_code ignored;
  std::filesystem::path absolute = std::filesystem::absolute(what, ignored);
  auto it = std::find_if(exposures.begin(), exposures.end(), [&](const Exposure& e) {
    return (id.ok() && e.shadow == *id) || std::filesystem::path(e.path) == absolute;
  });
  if (it == exposures.end())
    return error(ErrorCode::kNotFound, "'" + what + "' is not an exposed shadow copy");
  FF_ASSIGN_OR_RETURN(std::string path, checked(store_.unexpose(it->shadow)));
  out_ << "The shadow copy exposed as " << path << " was unexposed.\n";
  return Status();
}

}  // namespace freezeframe::cli
