// create_vss_session() where there is no VSS (freezeframe/vss.h).
#include "freezeframe/vss.h"

namespace freezeframe {

Result<std::unique_ptr<BackupSession>> create_vss_session(const VssSessionOptions& options) {
  (void)options;
  return unsupported(
      "VSS is not available on this system: the Volume Shadow Copy Service exists only on "
      "Windows (use a Coordinator's session with freezeframe's own providers here)");
}

}  // namespace freezeframe
