// What the VSS backend needs of COM: the VSS headers in the right order, a counted reference
// that releases itself, BSTRs taken into UTF-8, and GUIDs as freezeframe Uuids. Private to
// platform/windows.
#pragma once

#include "../windows_io.h"
// After <windows.h> (windows_io.h): the VSS headers need its types.
#include <oleauto.h>
#include <vsbackup.h>
#include <vss.h>
#include <vswriter.h>

#include <cstdint>
#include <string>
#include <utility>

#include "freezeframe/clock.h"
#include "freezeframe/uuid.h"
#include "freezeframe/writer.h"

namespace freezeframe::windows {

// One counted reference to a COM object: Release()d on destruction.
template <typename T>
class ComRef {
 public:
  ComRef() noexcept = default;
  // Takes over a reference the caller owns (as an out-parameter hands one over).
  explicit ComRef(T* owned) noexcept : object_(owned) {}
  ComRef(ComRef&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  ComRef& operator=(ComRef&& other) noexcept {
    if (this != &other) {
      reset();
      object_ = std::exchange(other.object_, nullptr);
    }
    return *this;
  }
  ComRef(const ComRef&) = delete;
  ComRef& operator=(const ComRef&) = delete;
  ~ComRef() { reset(); }

  T* get() const noexcept { return object_; }
  T* operator->() const noexcept { return object_; }
  explicit operator bool() const noexcept { return object_ != nullptr; }
  // For an out-parameter: releases what is held, then lets the call store a new reference.
  T** put() noexcept {
    reset();
    return &object_;
  }
  void reset() noexcept {
    if (object_ != nullptr)
      std::exchange(object_, nullptr)->Release();
  }

 private:
  T* object_ = nullptr;
};

// A BSTR's text in UTF-8; frees the BSTR (SysFreeString) and leaves it null.
std::string take_bstr(BSTR& text);

// A GUID as a Uuid, so that Uuid::to_string() prints what Windows prints (Data1..Data3 are
// stored big-endian in the Uuid's bytes), and back.
Uuid uuid_from_guid(const GUID& guid);
GUID guid_from_uuid(const Uuid& uuid);

// A VSS_TIMESTAMP (100 ns since 1601-01-01 UTC) as nanoseconds since the Unix epoch.
Nanoseconds unix_time_from_vss(std::int64_t timestamp);

// A writer's metadata document in freezeframe's terms: identity, usage and source, restore
// method, excluded files, and each component with its files, database files and logs. A
// component's volumes are the drive roots (C:\ form) or volume GUID paths its files name;
// paths VSS leaves unexpanded (%SystemRoot%) name none. The application level is not in the
// document: it stays kFrontEnd. Errors as vss::hresult_status, naming the call.
Result<WriterMetadata> writer_metadata_from(IVssExamineWriterMetadata& document);

}  // namespace freezeframe::windows
