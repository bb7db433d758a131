#include "freezeframe/sim/request_filter.h"

#include "freezeframe/enum_names.h"

namespace freezeframe::sim {

const char* io_operation_name(IoOperation operation) noexcept {
  static constexpr EnumName<IoOperation> kNames[] = {{IoOperation::kRead, "read"},
                                                     {IoOperation::kWrite, "write"},
                                                     {IoOperation::kFlush, "flush"},
                                                     {IoOperation::kDiscard, "discard"}};
  return name_of(kNames, operation).data();
}

}  // namespace freezeframe::sim
