// `shadow create --provider vss`: a shadow copy set taken by the operating system's Volume
// Shadow Copy Service through freezeframe's VSS requestor (platform/include/freezeframe/vss.h),
// with the call order of backup_session.h, as diskshadow's `create` does. It uses no store:
// VSS keeps its shadow copies itself. Where there is no VSS (Wine, or any system but Windows)
// it fails with "VSS is not available on this system" and exit status 1, leaving nothing
// behind (docs/windows.md).
#include <sstream>
#include <string>
#include <vector>

#include "command_context.h"
#include "freezeframe/vss.h"
#include "parse.h"

namespace freezeframe::cli::command {

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

}  // namespace freezeframe::cli::command
