// CoW and RoW providers, their snapshots, diff-area limits and change tracking.
#include "providers.h"

#include <pybind11/chrono.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

#include "bindings.h"
#include "freezeframe/random.h"
#include "freezeframe/sim/sim_clock.h"
#include "freezeframe/snapshot_provider.h"

namespace freezeframe::python {

namespace {

// What a provider borrows besides its volumes: a clock and a source of snapshot UUIDs.
struct ProviderExtras {
  std::shared_ptr<sim::SimClock> clock{};
  std::shared_ptr<Random> random{};
};

ProviderExtras extras_from(const py::object& clock, const py::object& seed) {
  ProviderExtras extras;
  if (!clock.is_none())
    extras.clock = clock.cast<std::shared_ptr<sim::SimClock>>();
  if (!seed.is_none())
    extras.random = std::make_shared<Random>(seed.cast<std::uint64_t>());
  return extras;
}

std::shared_ptr<ProviderHandle> wrap(std::unique_ptr<SnapshotProvider> provider,
                                     std::shared_ptr<Volume> origin, std::shared_ptr<Volume> diff,
                                     ProviderExtras extras) {
  return std::make_shared<ProviderHandle>(owned_with(std::move(provider), std::move(origin),
                                                     std::move(diff), std::move(extras.clock),
                                                     std::move(extras.random)));
}

std::shared_ptr<ProviderHandle> create_provider(ProviderKind kind, const py::handle& origin_object,
                                                const py::handle& diff_object,
                                                std::uint32_t chunk_bytes, DiffAreaLimit limit,
                                                OverflowPolicy overflow_policy,
                                                std::uint32_t snapshots_max, bool compress,
                                                std::uint64_t write_back_bytes,
                                                std::uint32_t change_ids_max, std::string name,
                                                const py::object& clock, const py::object& seed) {
  std::shared_ptr<Volume> origin = volume_of(origin_object);
  std::shared_ptr<Volume> diff = volume_of(diff_object);
  ProviderExtras extras = extras_from(clock, seed);
  ProviderOptions options{.chunk_bytes = chunk_bytes,
                          .limit = limit,
                          .snapshots_max = snapshots_max,
                          .overflow_policy = overflow_policy,
                          .compress = compress,
                          .clock = extras.clock.get(),
                          .random = extras.random.get(),
                          .name = std::move(name),
                          .write_back_bytes = write_back_bytes,
                          .change_ids_max = change_ids_max};
  auto created =
      without_gil([&] { return SnapshotProvider::create(kind, *origin, *diff, options); });
  return wrap(value_or_raise(std::move(created)), std::move(origin), std::move(diff),
              std::move(extras));
}

std::shared_ptr<ProviderHandle> open_provider(std::optional<ProviderKind> expected,
                                              const py::handle& origin_object,
                                              const py::handle& diff_object, std::string name,
                                              std::uint64_t write_back_bytes,
                                              const py::object& clock, const py::object& seed) {
  std::shared_ptr<Volume> origin = volume_of(origin_object);
  std::shared_ptr<Volume> diff = volume_of(diff_object);
  ProviderExtras extras = extras_from(clock, seed);
  ProviderOpenOptions options{.clock = extras.clock.get(),
                              .random = extras.random.get(),
                              .name = std::move(name),
                              .write_back_bytes = write_back_bytes};
  auto opened = without_gil([&]() -> Result<std::unique_ptr<SnapshotProvider>> {
    if (expected == ProviderKind::kCopyOnWrite) {
      FF_ASSIGN_OR_RETURN(auto cow, CowProvider::open(*origin, *diff, options));
      return std::unique_ptr<SnapshotProvider>(std::move(cow));
    }
    if (expected == ProviderKind::kRedirectOnWrite) {
      FF_ASSIGN_OR_RETURN(auto row, RowProvider::open(*origin, *diff, options));
      return std::unique_ptr<SnapshotProvider>(std::move(row));
    }
    return SnapshotProvider::open(*origin, *diff, options);
  });
  return wrap(value_or_raise(std::move(opened)), std::move(origin), std::move(diff),
              std::move(extras));
}

void bind_values(py::module_& m) {
  py::enum_<ProviderKind>(m, "ProviderKind")
      .value("COPY_ON_WRITE", ProviderKind::kCopyOnWrite)
      .value("REDIRECT_ON_WRITE", ProviderKind::kRedirectOnWrite)
      .def_property_readonly("short_name",
                             [](ProviderKind kind) { return provider_kind_name(kind); });
  py::enum_<OverflowPolicy>(m, "OverflowPolicy")
      .value("DELETE_OLDEST", OverflowPolicy::kDeleteOldest)
      .value("FAIL_WRITES", OverflowPolicy::kFailWrites)
      .value("INVALIDATE_SNAPSHOT", OverflowPolicy::kInvalidateSnapshot);
  py::enum_<SnapshotState>(m, "SnapshotState")
      .value("ACTIVE", SnapshotState::kActive)
      .value("INVALIDATED", SnapshotState::kInvalidated);

  py::class_<DiffAreaLimit>(m, "DiffAreaLimit",
                            "The maximum size of a diff area: bytes, a percentage of the origin, "
                            "or unbounded.")
      .def_static("bytes", &DiffAreaLimit::bytes, py::arg("n"))
      .def_static("percent_of_origin", &DiffAreaLimit::percent_of_origin, py::arg("percent"))
      .def_static("unbounded", &DiffAreaLimit::unbounded)
      .def_property_readonly("kind",
                             [](const DiffAreaLimit& limit) {
                               switch (limit.kind) {
                                 case DiffAreaLimit::Kind::kBytes:
                                   return "bytes";
                                 case DiffAreaLimit::Kind::kPercentOfOrigin:
                                   return "percent-of-origin";
                                 case DiffAreaLimit::Kind::kUnbounded:
                                   break;
                               }
                               return "unbounded";
                             })
      .def_readonly("value", &DiffAreaLimit::value)
      .def("resolve", &DiffAreaLimit::resolve, py::arg("origin_bytes"))
      .def("__repr__", [](const DiffAreaLimit& limit) {
        return "<freezeframe.DiffAreaLimit " + limit.to_string() + ">";
      });

  py::class_<SnapshotInfo>(m, "SnapshotInfo", "What a provider records about one snapshot.")
      .def_property_readonly("id", [](const SnapshotInfo& s) { return s.id.to_string(); })
      .def_property_readonly("set_id", [](const SnapshotInfo& s) { return s.set_id.to_string(); })
      .def_property_readonly("created_ns", [](const SnapshotInfo& s) { return s.created.count(); })
      .def_property_readonly("created",
                             [](const SnapshotInfo& s) {
                               py::object datetime = py::module_::import("datetime");
                               return datetime.attr("datetime")
                                   .attr("fromtimestamp")(
                                       static_cast<double>(s.created.count()) / 1e9,
                                       datetime.attr("timezone").attr("utc"));
                             })
      .def_property_readonly("origin_id",
                             [](const SnapshotInfo& s) { return s.origin_id.to_string(); })
      .def_readonly("origin_name", &SnapshotInfo::origin_name)
      .def_readonly("provider", &SnapshotInfo::provider)
      .def_readonly("state", &SnapshotInfo::state)
      .def_readonly("diff_area_bytes", &SnapshotInfo::diff_area_bytes)
      .def_readonly("sequence", &SnapshotInfo::sequence)
      .def_readonly("attributes", &SnapshotInfo::attributes)
      .def_readonly("change_id", &SnapshotInfo::change_id)
      .def("to_dict",
           [](const py::object& self) {
             py::dict out;
             for (const char* key : {"id", "set_id", "created_ns", "origin_id", "origin_name",
                                     "diff_area_bytes", "sequence", "attributes", "change_id"})
               out[key] = self.attr(key);
             out["provider"] = py::str(self.attr("provider").attr("short_name"));
             out["state"] = self.cast<const SnapshotInfo&>().state == SnapshotState::kActive
                                ? "active"
                                : "invalidated";
             return out;
           })
      .def("__repr__", [](const SnapshotInfo& s) {
        return "<freezeframe.SnapshotInfo " + s.id.to_string() +
               " sequence=" + std::to_string(s.sequence) + " " +
               std::string(provider_kind_name(s.provider)) + ">";
      });
}

void bind_provider_class(py::module_& m) {
  auto provider_of = [](const ProviderHandle& h) { return h.provider(); };
  py::class_<ProviderHandle, VolumeHandle, std::shared_ptr<ProviderHandle>>(
      m, "Provider",
      R"(A snapshot provider: its live volume (read and write it like any Volume) and its
snapshots. It keeps its origin and diff volumes alive; snapshot volumes keep it alive.)")
      .def_property_readonly("kind",
                             [=](const ProviderHandle& h) { return provider_of(h)->kind(); })
      .def(
          "create_snapshot",
          [=](const ProviderHandle& h, const py::object& set_id, std::uint32_t attributes) {
            auto provider = provider_of(h);
            Uuid set = set_id.is_none() ? Uuid() : to_uuid(set_id, "set_id");
            return value_or_raise(
                without_gil([&] { return provider->create_snapshot(set, attributes); }));
          },
          py::arg("set_id") = py::none(), py::arg("attributes") = 0,
          "Takes a snapshot of the live volume now; returns its SnapshotInfo.")
      .def(
          "snapshots",
          [=](const ProviderHandle& h) {
            auto provider = provider_of(h);
            return without_gil([&] { return provider->snapshots(); });
          },
          "Every snapshot, oldest first (invalidated ones included).")
      .def(
          "snapshot_info",
          [=](const ProviderHandle& h, const py::object& id) {
            auto provider = provider_of(h);
            Uuid uuid = to_uuid(id, "snapshot id");
            return value_or_raise(without_gil([&] { return provider->snapshot_info(uuid); }));
          },
          py::arg("snapshot"))
      .def(
          "open_snapshot",
          [=](const ProviderHandle& h, const py::object& id) {
            auto provider = provider_of(h);
            Uuid uuid = to_uuid(id, "snapshot id");
            auto volume =
                value_or_raise(without_gil([&] { return provider->open_snapshot(uuid); }));
            return snapshot_volume(std::move(volume), provider);
          },
          py::arg("snapshot"),
          "The snapshot (an id or a SnapshotInfo) as a read-only SnapshotVolume.")
      .def(
          "delete_snapshot",
          [=](const ProviderHandle& h, const py::object& id) {
            auto provider = provider_of(h);
            Uuid uuid = to_uuid(id, "snapshot id");
            check(without_gil([&] { return provider->delete_snapshot(uuid); }));
          },
          py::arg("snapshot"))
      .def(
          "revert_to_snapshot",
          [=](const ProviderHandle& h, const py::object& id) {
            auto provider = provider_of(h);
            Uuid uuid = to_uuid(id, "snapshot id");
            check(without_gil([&] { return provider->revert_to_snapshot(uuid); }));
          },
          py::arg("snapshot"),
          "Makes the live volume read as the snapshot did; newer snapshots are deleted.")
      .def(
          "set_limit",
          [=](const ProviderHandle& h, const DiffAreaLimit& limit) {
            auto provider = provider_of(h);
            check(without_gil([&] { return provider->set_limit(limit); }));
          },
          py::arg("limit"))
      .def(
          "set_overflow_policy",
          [=](const ProviderHandle& h, OverflowPolicy policy) {
            auto provider = provider_of(h);
            check(without_gil([&] { return provider->set_overflow_policy(policy); }));
          },
          py::arg("policy"))
      .def(
          "usage",
          [=](const ProviderHandle& h) {
            DiffAreaUsage usage = provider_of(h)->usage();
            py::dict out;
            out["used_bytes"] = usage.used_bytes;
            out["allocated_bytes"] = usage.allocated_bytes;
            out["max_bytes"] = usage.max_bytes;
            out["limit"] = usage.limit;
            out["metadata_bytes"] = usage.metadata_bytes;
            out["chunk_bytes"] = usage.chunk_bytes;
            return out;
          },
          "The diff area's use: used_bytes, allocated_bytes, max_bytes, limit, ...")
      .def(
          "stats",
          [=](const ProviderHandle& h) {
            ProviderStats stats = provider_of(h)->stats();
            py::dict out;
            out["chunks_preserved"] = stats.chunks_preserved;
            out["chunks_redirected"] = stats.chunks_redirected;
            out["read_modify_writes"] = stats.read_modify_writes;
            out["diff_data_bytes_written"] = stats.diff_data_bytes_written;
            out["metadata_commits"] = stats.metadata_commits;
            out["metadata_blocks_written"] = stats.metadata_blocks_written;
            out["checkpoints"] = stats.checkpoints;
            out["chunks_consolidated"] = stats.chunks_consolidated;
            out["chunks_held"] = stats.chunks_held;
            out["write_backs"] = stats.write_backs;
            return out;
          },
          "Counters since the provider was opened (diff-area bytes written, commits, ...).")
      .def(
          "events",
          [=](const ProviderHandle& h) {
            py::list out;
            for (const ProviderEvent& event : provider_of(h)->events()) {
              py::dict entry;
              entry["kind"] = std::string(provider_event_kind_name(event.kind));
              entry["snapshot_id"] = event.snapshot_id.is_nil()
                                         ? py::object(py::none())
                                         : py::object(py::str(event.snapshot_id.to_string()));
              entry["message"] = event.message;
              entry["used_bytes"] = event.used_bytes;
              entry["max_bytes"] = event.max_bytes;
              out.append(entry);
            }
            return out;
          },
          "What the overflow policy did and warnings, as dicts (kind, snapshot_id, message).")
      .def(
          "new_change_id",
          [=](const ProviderHandle& h) {
            auto provider = provider_of(h);
            return value_or_raise(without_gil([&] { return provider->new_change_id(); }));
          },
          "Begins a new change-tracking generation; returns its change id.")
      .def(
          "changed_extents",
          [=](const ProviderHandle& h, const std::string& since, const std::string& until) {
            auto provider = provider_of(h);
            return changed_extents_dict(value_or_raise(
                without_gil([&] { return provider->changed_extents(since, until); })));
          },
          py::arg("since"), py::arg("until") = "",
          "Chunks written between change ids `since` and `until` (empty: now): a dict with "
          "reset, reset_reason, extents [(offset, length)], chunk_bytes.")
      .def(
          "changed_between",
          [=](const ProviderHandle& h, const py::object& a, const py::object& b) {
            auto provider = provider_of(h);
            Uuid first = to_uuid(a, "snapshot id");
            Uuid second = to_uuid(b, "snapshot id");
            return changed_extents_dict(value_or_raise(
                without_gil([&] { return provider->changed_extents(first, second); })));
          },
          py::arg("snapshot_a"), py::arg("snapshot_b"),
          "The chunks that differ between two snapshots (never a reset).")
      .def_property_readonly(
          "held_chunks",
          [=](const ProviderHandle& h) {
            auto provider = provider_of(h);
            return provider->as_cow() != nullptr ? provider->as_cow()->held_chunks() : 0;
          },
          "CoW: chunks waiting in the write-back buffer (0 for RoW).")
      .def(
          "consolidate",
          [=](const ProviderHandle& h) {
            auto provider = provider_of(h);
            RowProvider* row = provider->as_row();
            if (row == nullptr)
              check(Status(ErrorCode::kUnsupported,
                           "consolidate: provider '" + provider->name() + "' is copy-on-write"));
            check(without_gil([&] { return row->consolidate(); }));
          },
          "RoW: folds redirected chunks no snapshot needs back into the origin "
          "(freezeframe.Unsupported for CoW).")
      .def_property_readonly("consolidatable_chunks", [=](const ProviderHandle& h) {
        auto provider = provider_of(h);
        return provider->as_row() != nullptr ? provider->as_row()->consolidatable_chunks() : 0;
      });
}

}  // namespace

py::dict changed_extents_dict(const ChangedExtents& changed) {
  py::list extents;
  for (const Extent& extent : changed.extents)
    extents.append(py::make_tuple(extent.offset, extent.length));
  py::dict out;
  out["reset"] = changed.reset;
  out["reset_reason"] = changed.reset_reason;
  out["extents"] = extents;
  out["chunk_bytes"] = changed.chunk_bytes;
  return out;
}

void bind_providers(py::module_& m) {
  bind_values(m);
  bind_provider_class(m);
  py::class_<SnapshotVolumeHandle, VolumeHandle, std::shared_ptr<SnapshotVolumeHandle>>(
      m, "SnapshotVolume", "A snapshot opened read-only; it keeps its provider (or session) alive.")
      .def_property_readonly("snapshot_id", &SnapshotVolumeHandle::snapshot_id);

  auto add_factories = [&](const char* name, std::optional<ProviderKind> kind, const char* doc) {
    if (kind.has_value()) {
      ProviderKind fixed = *kind;
      m.def(
          (std::string("create_") + name).c_str(),
          [fixed](const py::handle& origin, const py::handle& diff, std::uint32_t chunk_bytes,
                  DiffAreaLimit limit, OverflowPolicy overflow_policy, std::uint32_t snapshots_max,
                  bool compress, std::uint64_t write_back_bytes, std::uint32_t change_ids_max,
                  std::string provider_name, const py::object& clock, const py::object& seed) {
            return create_provider(fixed, origin, diff, chunk_bytes, limit, overflow_policy,
                                   snapshots_max, compress, write_back_bytes, change_ids_max,
                                   std::move(provider_name), clock, seed);
          },
          py::arg("origin"), py::arg("diff"), py::arg("chunk_bytes") = 16 * 1024,
          py::arg("limit") = DiffAreaLimit::percent_of_origin(10),
          py::arg("overflow_policy") = OverflowPolicy::kDeleteOldest, py::arg("snapshots_max") = 64,
          py::arg("compress") = false,
          py::arg("write_back_bytes") = ProviderOptions::kWriteBackBytesDefault,
          py::arg("change_ids_max") = ProviderOptions::kChangeIdsDefault, py::arg("name") = "",
          py::arg("clock") = py::none(), py::arg("seed") = py::none(), doc);
    }
    m.def((std::string("open_") + name).c_str(),
          [kind](const py::handle& origin, const py::handle& diff, std::string provider_name,
                 std::uint64_t write_back_bytes, const py::object& clock, const py::object& seed) {
            return open_provider(kind, origin, diff, std::move(provider_name), write_back_bytes,
                                 clock, seed);
          },
          py::arg("origin"), py::arg("diff"), py::arg("name") = "",
          py::arg("write_back_bytes") = ProviderOptions::kWriteBackBytesDefault,
          py::arg("clock") = py::none(), py::arg("seed") = py::none(),
          "Opens the diff area on `diff` and recovers its state (after a crash too).");
  };
  add_factories("cow", ProviderKind::kCopyOnWrite,
                "Formats `diff` as a new copy-on-write diff area for `origin` and returns the "
                "provider (freezeframe.AlreadyExists if `diff` holds one already).");
  add_factories("row", ProviderKind::kRedirectOnWrite,
                "Formats `diff` as a new redirect-on-write diff area for `origin` and returns "
                "the provider.");
  add_factories("provider", std::nullopt, "");
}

}  // namespace freezeframe::python
