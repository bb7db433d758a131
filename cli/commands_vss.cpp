// Windows' Volume Shadow Copy Service from the command line, without a store (VSS keeps its
// shadow copies itself):
//   shadow create --provider vss   a set taken through freezeframe's VSS requestor
//                                  (platform/include/freezeframe/vss.h), with the call order of
//                                  backup_session.h, as diskshadow's `create` does;
//   shadow list --provider vss     every shadow copy VSS holds, as vssadmin lists them;
//   shadow delete --provider vss --shadow ID   one of them deleted.
// `vssadmin list shadows` in a Windows build lists the store's and then VSS's. Where there is
// no VSS (Wine, or any system but Windows) each fails with "VSS is not available on this
// system" and exit status 1, leaving nothing behind (docs/windows.md).
#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "command_context.h"
#include "freezeframe/vss.h"
#include "parse.h"

namespace freezeframe::cli::command {

namespace {

// --OPTION's shadow copy or set id, if given.
Result<std::optional<Uuid>> id_option(Context& ctx, const char* option, const char* what) {
  auto text = ctx.options.get(option);
  if (!text)
    return std::optional<Uuid>();
  auto id = Uuid::parse(*text);
  if (!id.ok())
    return usage_error(ctx, concat("--", option, " '", *text, "' is not a ", what, " id (a GUID)"));
  return std::optional<Uuid>(*id);
}

}  // namespace

Status shadow_create_vss(Context& ctx, const std::string& names, SnapshotContext context) {
  std::vector<std::string> volumes;
  std::istringstream list(names);
  for (std::string name; std::getline(list, name, ',');) {
    if (name.empty())
      return usage_error(ctx, "--for '" + names + "' names an empty volume");
    volumes.push_back(name);
  }
  FF_ASSIGN_OR_RETURN(std::unique_ptr<BackupSession> session, create_vss_session({}));
  FF_TRY(session->set_context(context));
  FF_TRY(session->gather_writer_metadata().status());
  FF_TRY(session->start_snapshot_set().status());
  for (const std::string& volume : volumes)
    FF_TRY(session->add_to_snapshot_set(volume));
  FF_TRY(session->prepare_for_backup());
  FF_TRY(session->do_snapshot_set());
  FF_ASSIGN_OR_RETURN(SnapshotSet set, session->snapshot_set());
  ctx.out << "Successfully created shadow copy set " << braced(set.id) << " with VSS\n";
  for (const SnapshotInfo& shadow : set.snapshots)
    ctx.out << "    Shadow Copy ID: " << braced(shadow.id) << " for '" << shadow.origin_name
            << "'\n";
  if (!context_has(context, kAttrNoAutoRelease)) {
    ctx.out << "Context '" << context_name(context)
            << "' is auto-release: VSS deletes these shadow copies when this command ends.\n";
  }
  return session->backup_complete(true);
}

json vss_shadow_json(const VssShadowCopy& shadow) {
  return json{{"id", shadow.id.to_string()},
              {"set_id", shadow.set_id.to_string()},
              {"set_size", shadow.set_size},
              {"original_volume", shadow.original_volume},
              {"device", shadow.device},
              {"originating_machine", shadow.originating_machine},
              {"service_machine", shadow.service_machine},
              {"provider_id", shadow.provider_id.to_string()},
              {"context", context_of_attributes(shadow.attributes)},
              {"attributes", shadow.attributes},
              {"created", format_iso8601_utc(shadow.created)}};
}

void print_vss_shadows(const std::vector<VssShadowCopy>& shadows, std::ostream& out) {
  if (shadows.empty()) {
    out << "No items found that satisfy the query.\n";
    return;
  }
  // Grouped by set, in order of first appearance, as vssadmin prints them.
  std::vector<Uuid> sets;
  for (const VssShadowCopy& shadow : shadows)
    if (std::find(sets.begin(), sets.end(), shadow.set_id) == sets.end())
      sets.push_back(shadow.set_id);
  for (const Uuid& set : sets) {
    bool first = true;
    for (const VssShadowCopy& shadow : shadows) {
      if (shadow.set_id != set)
        continue;
      if (first) {
        out << "Contents of shadow copy set ID: " << braced(set) << "\n"
            << "   Contained " << shadow.set_size
            << " shadow copies at creation time: " << format_iso8601_utc(shadow.created) << "\n";
        first = false;
      }
      out << "      Shadow Copy ID: " << braced(shadow.id) << "\n"
          << "         Original Volume: " << shadow.original_volume << "\n"
          << "         Shadow Copy Volume: " << shadow.device << "\n"
          << "         Originating Machine: " << shadow.originating_machine << "\n"
          << "         Service Machine: " << shadow.service_machine << "\n"
          << "         Provider ID: " << braced(shadow.provider_id) << "\n"
          << "         Type: " << context_of_attributes(shadow.attributes) << "\n"
          << "         Attributes: " << attribute_words(shadow.attributes) << "\n\n";
    }
  }
}

Status shadow_list_vss(Context& ctx) {
  FF_ASSIGN_OR_RETURN(std::optional<Uuid> shadow_id, id_option(ctx, "shadow", "shadow copy"));
  FF_ASSIGN_OR_RETURN(std::optional<Uuid> set_id, id_option(ctx, "set", "set"));
  const std::optional<std::string> volume = ctx.options.get("for");
  FF_ASSIGN_OR_RETURN(std::vector<VssShadowCopy> shadows, list_vss_shadows());
  std::erase_if(shadows, [&](const VssShadowCopy& shadow) {
    return (shadow_id && shadow.id != *shadow_id) || (set_id && shadow.set_id != *set_id) ||
           (volume && !equals_ignore_case(shadow.original_volume, *volume));
  });
  if (ctx.json) {
    json all = json::array();
    for (const VssShadowCopy& shadow : shadows)
      all.push_back(vss_shadow_json(shadow));
    ctx.out << all.dump(2) << "\n";
    return Status();
  }
  print_vss_shadows(shadows, ctx.out);
  return Status();
}

Status shadow_delete_vss(Context& ctx) {
  if (!ctx.options.has("shadow") || ctx.options.has("set") || ctx.options.has("for") ||
      ctx.options.has("all") || ctx.options.has("oldest"))
    return usage_error(ctx, "with --provider vss, delete one shadow copy: --shadow ID");
  FF_ASSIGN_OR_RETURN(std::optional<Uuid> shadow_id, id_option(ctx, "shadow", "shadow copy"));
  const Uuid id = *shadow_id;
  FF_TRY(delete_vss_shadow(id));
  if (ctx.json)
    ctx.out << json{{"deleted", json::array({id.to_string()})}}.dump(2) << "\n";
  else
    ctx.out << "Deleted shadow copy " << braced(id) << " (VSS).\n";
  return Status();
}

}  // namespace freezeframe::cli::command
