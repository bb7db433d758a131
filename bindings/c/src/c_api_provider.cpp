// The C API (bindings/c/include/freezeframe.h): providers, snapshots, the diff area's limit,
// usage and policy, events and change tracking.
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "c_api_internal.h"
#include "freezeframe/uuid.h"

namespace ff = freezeframe;
using ff::c_api::guarded;
using ff::c_api::open_volume;
using ff::c_api::ProviderHolder;
using ff::c_api::require;

static_assert(FF_PROVIDER_COW == static_cast<int>(ff::ProviderKind::kCopyOnWrite));
static_assert(FF_PROVIDER_ROW == static_cast<int>(ff::ProviderKind::kRedirectOnWrite));
static_assert(FF_OVERFLOW_DELETE_OLDEST == static_cast<int>(ff::OverflowPolicy::kDeleteOldest));
static_assert(FF_OVERFLOW_FAIL_WRITES == static_cast<int>(ff::OverflowPolicy::kFailWrites));
static_assert(FF_OVERFLOW_INVALIDATE_SNAPSHOTS ==
              static_cast<int>(ff::OverflowPolicy::kInvalidateSnapshot));
static_assert(FF_LIMIT_BYTES == static_cast<int>(ff::DiffAreaLimit::Kind::kBytes));
static_assert(FF_LIMIT_PERCENT_OF_ORIGIN ==
              static_cast<int>(ff::DiffAreaLimit::Kind::kPercentOfOrigin));
static_assert(FF_LIMIT_UNBOUNDED == static_cast<int>(ff::DiffAreaLimit::Kind::kUnbounded));
static_assert(FF_EVENT_SNAPSHOT_DELETED_FOR_SPACE ==
              static_cast<int>(ff::ProviderEventKind::kSnapshotDeletedForSpace));
static_assert(FF_EVENT_SNAPSHOT_INVALIDATED ==
              static_cast<int>(ff::ProviderEventKind::kSnapshotInvalidated));
static_assert(FF_EVENT_WRITE_FAILED_NO_SPACE ==
              static_cast<int>(ff::ProviderEventKind::kWriteFailedNoSpace));
static_assert(FF_EVENT_USAGE_ABOVE_WARNING ==
              static_cast<int>(ff::ProviderEventKind::kUsageAboveWarning));
static_assert(FF_EVENT_CHANGE_TRACKING_RESET ==
              static_cast<int>(ff::ProviderEventKind::kChangeTrackingReset));
static_assert(FF_SNAPSHOT_ACTIVE == static_cast<int>(ff::SnapshotState::kActive));
static_assert(FF_SNAPSHOT_INVALIDATED == static_cast<int>(ff::SnapshotState::kInvalidated));

namespace freezeframe::c_api {

Result<SnapshotProvider*> open_provider(ff_provider* handle) {
  if (handle == nullptr || handle->holder == nullptr)
    return invalid_argument("the provider is NULL");
  return handle->holder->provider.get();
}

}  // namespace freezeframe::c_api

namespace {

using ff::c_api::open_provider;

ff::Result<ff::DiffAreaLimit> limit_from(const ff_diff_area_limit& limit) {
  switch (limit.kind) {
    case FF_LIMIT_BYTES:
      return ff::DiffAreaLimit::bytes(limit.value);
    case FF_LIMIT_PERCENT_OF_ORIGIN:
      return ff::DiffAreaLimit::percent_of_origin(limit.value);
    case FF_LIMIT_UNBOUNDED:
      return ff::DiffAreaLimit::unbounded();
    default:
      return ff::invalid_argument("the diff area's limit kind " + std::to_string(limit.kind) +
                                  " is not an ff_limit_kind");
  }
}

ff::Result<ff::OverflowPolicy> policy_from(int policy) {
  if (policy < FF_OVERFLOW_DELETE_OLDEST || policy > FF_OVERFLOW_INVALIDATE_SNAPSHOTS)
    return ff::invalid_argument("overflow policy " + std::to_string(policy) +
                                " is not an ff_overflow_policy");
  return static_cast<ff::OverflowPolicy>(policy);
}

ff::Result<ff::Uuid> snapshot_id(const char* text, const char* call) {
  if (text == nullptr)
    return ff::invalid_argument(std::string(call) + ": the snapshot id is NULL");
  auto id = ff::Uuid::parse(text);
  if (!id.ok())
    return ff::invalid_argument(std::string(call) + ": '" + text + "' is not a snapshot id (" +
                                id.status().message() + ")");
  return *id;
}

}  // namespace

ff::Status ff::c_api::fill_snapshot_info(const ff::SnapshotInfo& info, ff_snapshot_info& out) {
  out = ff_snapshot_info{};
  FF_TRY(ff::c_api::copy_text(info.id.to_string(), out.id, sizeof out.id, "a snapshot id"));
  FF_TRY(ff::c_api::copy_text(info.set_id.to_string(), out.set_id, sizeof out.set_id, "a set id"));
  out.created_ns = info.created.count();
  out.provider_kind = static_cast<int>(info.provider);
  out.state = static_cast<int>(info.state);
  out.diff_area_bytes = info.diff_area_bytes;
  out.sequence = info.sequence;
  out.attributes = info.attributes;
  return ff::c_api::copy_text(info.change_id, out.change_id, sizeof out.change_id, "a change id");
}

namespace {

// The C callback as the engine's on_event.
std::function<void(const ff::ProviderEvent&)> event_sink(ff_event_callback callback,
                                                         void* user_data) {
  if (callback == nullptr)
    return {};
  return [callback, user_data](const ff::ProviderEvent& event) {
    ff_event out{};
    out.kind = static_cast<int>(event.kind);
    if (!event.snapshot_id.is_nil()) {
      const std::string id = event.snapshot_id.to_string();
      std::memcpy(out.snapshot_id, id.c_str(), id.size() + 1);
    }
    out.message = event.message.c_str();
    out.used_bytes = event.used_bytes;
    out.max_bytes = event.max_bytes;
    callback(&out, user_data);
  };
}

// A holder sharing the volumes of `origin` and `diff`, before its provider exists.
std::shared_ptr<ProviderHolder> holder_for(const ff_volume& origin, const ff_volume& diff) {
  auto holder = std::make_shared<ProviderHolder>();
  holder->origin = origin.volume;
  holder->diff = diff.volume;
  return holder;
}

ff_provider* new_provider_handle(std::shared_ptr<ProviderHolder> holder) {
  auto* handle = new ff_provider;
  handle->holder = std::move(holder);
  return handle;
}

template <typename Options>
ff::Status check_version(const Options* options, std::uint32_t known, const char* call,
                         const char* init) {
  if (options == nullptr || options->version == known)
    return ff::Status();
  return ff::invalid_argument(std::string(call) + ": options version " +
                              std::to_string(options->version) +
                              " is not one this library knows (" + std::to_string(known) +
                              "); initialise the options with " + init);
}

}  // namespace

extern "C" {

void ff_provider_options_init(ff_provider_options* options) {
  if (options == nullptr)
    return;
  const ff::ProviderOptions defaults;
  *options = ff_provider_options{};
  options->version = FF_PROVIDER_OPTIONS_VERSION;
  options->chunk_bytes = defaults.chunk_bytes;
  options->limit.kind = static_cast<int>(defaults.limit.kind);
  options->limit.value = defaults.limit.value;
  options->snapshots_max = defaults.snapshots_max;
  options->overflow_policy = static_cast<int>(defaults.overflow_policy);
  options->compress = defaults.compress ? 1 : 0;
  options->write_back_bytes = defaults.write_back_bytes;
  options->change_ids_max = defaults.change_ids_max;
  options->usage_warning_fraction = defaults.usage_warning_fraction;
}

void ff_provider_open_options_init(ff_provider_open_options* options) {
  if (options == nullptr)
    return;
  const ff::ProviderOpenOptions defaults;
  *options = ff_provider_open_options{};
  options->version = FF_PROVIDER_OPEN_OPTIONS_VERSION;
  options->write_back_bytes = defaults.write_back_bytes;
  options->usage_warning_fraction = defaults.usage_warning_fraction;
}

int ff_provider_create(int kind, ff_volume* origin, ff_volume* diff,
                       const ff_provider_options* options, ff_provider** out) {
  return guarded([&]() -> ff::Status {
    FF_TRY(require(out != nullptr, "ff_provider_create: out is NULL"));
    *out = nullptr;
    FF_TRY(require(kind == FF_PROVIDER_COW || kind == FF_PROVIDER_ROW,
                   "ff_provider_create: kind " + std::to_string(kind) +
                       " is neither FF_PROVIDER_COW nor FF_PROVIDER_ROW"));
    FF_TRY(open_volume(origin, "ff_provider_create: the origin").status());
    FF_TRY(open_volume(diff, "ff_provider_create: the diff volume").status());
    FF_TRY(check_version(options, FF_PROVIDER_OPTIONS_VERSION, "ff_provider_create",
                         "ff_provider_options_init"));
    ff_provider_options o;
    ff_provider_options_init(&o);
    if (options != nullptr)
      o = *options;
    ff::ProviderOptions engine;
    engine.chunk_bytes = o.chunk_bytes;
    FF_ASSIGN_OR_RETURN(engine.limit, limit_from(o.limit));
    engine.snapshots_max = o.snapshots_max;
    FF_ASSIGN_OR_RETURN(engine.overflow_policy, policy_from(o.overflow_policy));
    engine.compress = o.compress != 0;
    engine.write_back_bytes = o.write_back_bytes;
    engine.change_ids_max = o.change_ids_max;
    engine.usage_warning_fraction = o.usage_warning_fraction;
    engine.on_event = event_sink(o.on_event, o.event_user_data);
    auto holder = holder_for(*origin, *diff);
    FF_ASSIGN_OR_RETURN(holder->provider,
                        ff::SnapshotProvider::create(static_cast<ff::ProviderKind>(kind),
                                                     *holder->origin, *holder->diff, engine));
    *out = new_provider_handle(std::move(holder));
    return ff::Status();
  });
}

int ff_provider_open(ff_volume* origin, ff_volume* diff, const ff_provider_open_options* options,
                     ff_provider** out) {
  return guarded([&]() -> ff::Status {
    FF_TRY(require(out != nullptr, "ff_provider_open: out is NULL"));
    *out = nullptr;
    FF_TRY(open_volume(origin, "ff_provider_open: the origin").status());
    FF_TRY(open_volume(diff, "ff_provider_open: the diff volume").status());
    FF_TRY(check_version(options, FF_PROVIDER_OPEN_OPTIONS_VERSION, "ff_provider_open",
                         "ff_provider_open_options_init"));
    ff_provider_open_options o;
    ff_provider_open_options_init(&o);
    if (options != nullptr)
      o = *options;
    ff::ProviderOpenOptions engine;
    engine.write_back_bytes = o.write_back_bytes;
    engine.usage_warning_fraction = o.usage_warning_fraction;
    engine.on_event = event_sink(o.on_event, o.event_user_data);
    auto holder = holder_for(*origin, *diff);
    FF_ASSIGN_OR_RETURN(holder->provider,
                        ff::SnapshotProvider::open(*holder->origin, *holder->diff, engine));
    *out = new_provider_handle(std::move(holder));
    return ff::Status();
  });
}

void ff_provider_destroy(ff_provider* provider) {
  delete provider;
}

int ff_provider_kind_get(ff_provider* provider) {
  if (provider == nullptr || provider->holder == nullptr)
    return 0;
  return static_cast<int>(provider->holder->provider->kind());
}

int ff_provider_live_volume(ff_provider* provider, ff_volume** out) {
  return guarded([&]() -> ff::Status {
    FF_TRY(require(out != nullptr, "ff_provider_live_volume: out is NULL"));
    *out = nullptr;
    FF_ASSIGN_OR_RETURN(ff::SnapshotProvider * p, open_provider(provider));
    *out = ff::c_api::new_volume_handle(std::shared_ptr<ff::Volume>(provider->holder, p));
    return ff::Status();
  });
}

int ff_provider_create_snapshot(ff_provider* provider, ff_snapshot_info* out) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::SnapshotProvider * p, open_provider(provider));
    FF_ASSIGN_OR_RETURN(ff::SnapshotInfo info, p->create_snapshot());
    return out != nullptr ? ff::c_api::fill_snapshot_info(info, *out) : ff::Status();
  });
}

int ff_provider_snapshots(ff_provider* provider, ff_snapshot_info* out, size_t capacity,
                          size_t* count) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::SnapshotProvider * p, open_provider(provider));
    FF_TRY(require(count != nullptr, "ff_provider_snapshots: count is NULL"));
    FF_TRY(require(
        out != nullptr || capacity == 0,
        "ff_provider_snapshots: out is NULL with a capacity of " + std::to_string(capacity)));
    const std::vector<ff::SnapshotInfo> snapshots = p->snapshots();
    for (std::size_t i = 0; i < snapshots.size() && i < capacity; ++i)
      FF_TRY(ff::c_api::fill_snapshot_info(snapshots[i], out[i]));
    *count = snapshots.size();
    return ff::Status();
  });
}

int ff_provider_snapshot_info(ff_provider* provider, const char* snapshot, ff_snapshot_info* out) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::SnapshotProvider * p, open_provider(provider));
    FF_TRY(require(out != nullptr, "ff_provider_snapshot_info: out is NULL"));
    FF_ASSIGN_OR_RETURN(ff::Uuid id, snapshot_id(snapshot, "ff_provider_snapshot_info"));
    FF_ASSIGN_OR_RETURN(ff::SnapshotInfo info, p->snapshot_info(id));
    return ff::c_api::fill_snapshot_info(info, *out);
  });
}

int ff_provider_open_snapshot(ff_provider* provider, const char* snapshot, ff_volume** out) {
  return guarded([&]() -> ff::Status {
    FF_TRY(require(out != nullptr, "ff_provider_open_snapshot: out is NULL"));
    *out = nullptr;
    FF_ASSIGN_OR_RETURN(ff::SnapshotProvider * p, open_provider(provider));
    FF_ASSIGN_OR_RETURN(ff::Uuid id, snapshot_id(snapshot, "ff_provider_open_snapshot"));
    // The snapshot volume keeps its provider alive: both live in one block, the snapshot
    // destroyed first.
    struct Holder {
      std::shared_ptr<ProviderHolder> provider;
      std::unique_ptr<ff::Volume> snapshot;
    };
    auto holder = std::make_shared<Holder>();
    holder->provider = provider->holder;
    FF_ASSIGN_OR_RETURN(ff::SnapshotInfo info, p->snapshot_info(id));
    FF_ASSIGN_OR_RETURN(holder->snapshot, p->open_snapshot(id));
    ff::Volume* volume = holder->snapshot.get();
    *out = ff::c_api::new_volume_handle(std::shared_ptr<ff::Volume>(holder, volume));
    (*out)->origin_id = info.origin_id;
    return ff::Status();
  });
}

int ff_provider_delete_snapshot(ff_provider* provider, const char* snapshot) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::SnapshotProvider * p, open_provider(provider));
    FF_ASSIGN_OR_RETURN(ff::Uuid id, snapshot_id(snapshot, "ff_provider_delete_snapshot"));
    return p->delete_snapshot(id);
  });
}

int ff_provider_revert(ff_provider* provider, const char* snapshot) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::SnapshotProvider * p, open_provider(provider));
    FF_ASSIGN_OR_RETURN(ff::Uuid id, snapshot_id(snapshot, "ff_provider_revert"));
    return p->revert_to_snapshot(id);
  });
}

int ff_provider_consolidate(ff_provider* provider) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::SnapshotProvider * p, open_provider(provider));
    ff::RowProvider* row = p->as_row();
    if (row == nullptr)
      return ff::Status(ff::ErrorCode::kUnsupported,
                        "ff_provider_consolidate: consolidation is for redirect-on-write "
                        "providers; a copy-on-write provider keeps the live data in the origin");
    return row->consolidate();
  });
}

int ff_provider_set_limit(ff_provider* provider, const ff_diff_area_limit* limit) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::SnapshotProvider * p, open_provider(provider));
    FF_TRY(require(limit != nullptr, "ff_provider_set_limit: the limit is NULL"));
    FF_ASSIGN_OR_RETURN(ff::DiffAreaLimit engine, limit_from(*limit));
    return p->set_limit(engine);
  });
}

int ff_provider_set_overflow_policy(ff_provider* provider, int policy) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::SnapshotProvider * p, open_provider(provider));
    FF_ASSIGN_OR_RETURN(ff::OverflowPolicy engine, policy_from(policy));
    return p->set_overflow_policy(engine);
  });
}

int ff_provider_usage(ff_provider* provider, ff_diff_area_usage* out) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::SnapshotProvider * p, open_provider(provider));
    FF_TRY(require(out != nullptr, "ff_provider_usage: out is NULL"));
    const ff::DiffAreaUsage usage = p->usage();
    ff_diff_area_usage result{};
    result.used_bytes = usage.used_bytes;
    result.allocated_bytes = usage.allocated_bytes;
    result.max_bytes = usage.max_bytes;
    result.limit.kind = static_cast<int>(usage.limit.kind);
    result.limit.value = usage.limit.value;
    result.overflow_policy = static_cast<int>(usage.overflow_policy);
    result.metadata_bytes = usage.metadata_bytes;
    result.chunk_bytes = usage.chunk_bytes;
    *out = result;
    return ff::Status();
  });
}

int ff_provider_stats_get(ff_provider* provider, ff_provider_stats* out) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::SnapshotProvider * p, open_provider(provider));
    FF_TRY(require(out != nullptr, "ff_provider_stats_get: out is NULL"));
    const ff::ProviderStats stats = p->stats();
    *out = ff_provider_stats{stats.chunks_preserved,   stats.chunks_redirected,
                             stats.read_modify_writes, stats.diff_data_bytes_written,
                             stats.metadata_commits,   stats.metadata_blocks_written,
                             stats.checkpoints,        stats.chunks_consolidated,
                             stats.chunks_held,        stats.write_backs};
    return ff::Status();
  });
}

int ff_provider_new_change_id(ff_provider* provider, char* out, size_t out_bytes) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::SnapshotProvider * p, open_provider(provider));
    FF_TRY(require(out != nullptr, "ff_provider_new_change_id: out is NULL"));
    FF_ASSIGN_OR_RETURN(std::string id, p->new_change_id());
    return ff::c_api::copy_text(id, out, out_bytes, "ff_provider_new_change_id: the change id");
  });
}

int ff_provider_changed_extents(ff_provider* provider, const char* since, const char* until,
                                ff_changed_extents** out) {
  return guarded([&]() -> ff::Status {
    FF_TRY(require(out != nullptr, "ff_provider_changed_extents: out is NULL"));
    *out = nullptr;
    FF_ASSIGN_OR_RETURN(ff::SnapshotProvider * p, open_provider(provider));
    FF_TRY(require(since != nullptr, "ff_provider_changed_extents: since is NULL"));
    FF_ASSIGN_OR_RETURN(ff::ChangedExtents changed,
                        p->changed_extents(since, until != nullptr ? until : ""));
    *out = ff::c_api::new_changed_extents(changed);
    if (*out == nullptr)
      return ff::Status(ff::ErrorCode::kNoSpace, "out of memory");
    return ff::Status();
  });
}

void ff_changed_extents_free(ff_changed_extents* extents) {
  std::free(extents);
}

}  // extern "C"
