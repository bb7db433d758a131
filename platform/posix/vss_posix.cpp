// VSS's entry points where there is no VSS (freezeframe/vss.h): each fails with kUnsupported.
#include "freezeframe/vss.h"

namespace freezeframe {

namespace {

Status no_vss() {
  return unsupported(
      "VSS is not available on this system: the Volume Shadow Copy Service exists only on "
      "Windows (use a Coordinator's session with freezeframe's own providers here)");
}

}  // namespace

Result<std::unique_ptr<BackupSession>> create_vss_session(const VssSessionOptions& options) {
  (void)options;
  return no_vss();
}

bool vss_built_in() noexcept {
  return false;
}

Result<std::vector<VssShadowCopy>> list_vss_shadows() {
  return no_vss();
}

Status delete_vss_shadow(const Uuid& shadow_id) {
  (void)shadow_id;
  return no_vss();
}

Result<std::unique_ptr<Volume>> open_vss_shadow(const VssShadowCopy& shadow) {
  (void)shadow;
  return no_vss();
}

Result<std::unique_ptr<ProtocolProvider>> create_vss_provider(const VssSessionOptions& options) {
  (void)options;
  return no_vss();
}

}  // namespace freezeframe
