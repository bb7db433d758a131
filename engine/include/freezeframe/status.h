// Errors as values: Status and Result<T>.
//
// Every fallible operation in freezeframe returns a [[nodiscard]] Status or Result<T>. A
// Status is either OK (costs one null pointer) or carries an ErrorCode that a caller can
// branch on and a message that names the object, the offset and the cause. No exception
// crosses the public API.
//
// Codes are chosen by what the caller does next (retry the call, retry the whole snapshot
// set, fix state first, give up); every other detail belongs in the message.
//
// Thread-safety: Status and Result are values; distinct objects may be used from different
// threads freely, one object needs external synchronisation like any std type.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace freezeframe {

// Each code says what the caller does next; the comment names the callers that branch on it.
// A code exists only if some caller reacts to it differently from every other code (which
// object, offset or limit is at fault goes in the message). Codes are not stored anywhere
// (not on disk, not in catalogs or journals): only their names appear in messages, so the
// numeric values may change between releases; they stay dense and explicit.
enum class ErrorCode : std::uint8_t {
  kOk = 0,
  // The request itself is wrong: bad option, value, size or name; an offset or length that is
  // misaligned to the sector size or out of range of the object (the message says which, and
  // names the volume, offset and length). Next: fix the call; retrying it unchanged fails
  // again. The CLI exits with status 2 (bad usage).
  kInvalidArgument = 1,
  // Write, discard or revert on a read-only volume or snapshot, or on a diff area whose
  // revert must finish first. Next: open it writable (or finish the revert) and call again.
  // `volume read` does not fall back to the CoW origin on it (the origin is half reverted).
  kReadOnly = 2,
  // The device failed the operation. Next: retry the call, or give up if it keeps failing.
  kIoError = 3,
  // A named object (volume, snapshot, file, writer, provider) does not exist. Next: nothing
  // to do, or list what exists. Snapshot deletion during cleanup treats it as success; the
  // CLI exits with status 4.
  kNotFound = 4,
  // An object with that name or id exists already. Next: pick another name, or delete the
  // existing object first.
  kAlreadyExists = 5,
  // Metadata failed validation (magic, checksum, bounds). Next: give up on that object;
  // refuse to open it, never repair blindly. A consistency check reports it as a verdict
  // (the image is corrupt), not as a failure to check.
  kCorrupt = 6,
  // The on-disk format is newer than this reader understands. Next: open it with a newer
  // freezeframe; the data is not damaged. Checks treat it like kCorrupt (cannot be read here).
  kUnsupportedVersion = 7,
  // Storage is exhausted (diff area full under the fail-writes policy, disk full). Next: free
  // space (delete snapshots, raise the diff-area maximum) and retry the write. The overflow
  // guard keeps shrinking a diff area past it.
  kNoSpace = 8,
  // A configured count limit was reached (snapshots per volume, volumes per set). Next:
  // delete a snapshot or take fewer volumes, then create again; no space is missing.
  kLimitExceeded = 9,
  // The snapshot was invalidated by the overflow policy and can no longer be read; it stays
  // listed until deleted. Next: delete it and take a new snapshot.
  kInvalidated = 10,
  // Another operation holds the resource (snapshot set in progress, store busy). Next: retry
  // the call later. The CLI exits with status 3.
  kBusy = 11,
  // A protocol deadline passed (a writer's freeze, the commit window). Next: retry the whole
  // snapshot set later.
  kTimeout = 12,
  // The snapshot set was aborted by a participant or the caller. Next: retry the whole set if
  // the failure is retryable (BackupSession::failure() says which writer and what kind).
  kAborted = 13,
  // The call is not valid in the object's current state (out-of-order protocol call, a
  // backup already open). Next: bring the object into the right state (finish or end what is
  // open), then call again.
  kBadState = 14,
  // The platform, backend or provider kind does not support the operation. Next: give up on
  // it here; the same call elsewhere (another provider or platform) may work.
  kUnsupported = 15,
};

// Stable lower-case name of a code, e.g. "invalid-argument".
std::string_view error_code_name(ErrorCode code) noexcept;

class [[nodiscard]] Status {
 public:
  // OK.
  Status() noexcept = default;
  Status(ErrorCode code, std::string message);

  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;
  ~Status() = default;

  static Status ok_status() noexcept { return Status(); }

  bool ok() const noexcept { return state_ == nullptr; }
  ErrorCode code() const noexcept { return state_ ? state_->code : ErrorCode::kOk; }
  // Empty for OK.
  const std::string& message() const noexcept;
  // "ok" or "<code-name>: <message>".
  std::string to_string() const;

  // Returns a copy whose message is "<context>: <message>"; OK stays OK.
  Status with_context(std::string_view context) const;

  // Marks an error as deliberately ignored (the only way to drop a Status on the floor).
  void ignore_error() const noexcept {}

 private:
  struct State {
    ErrorCode code{};
    std::string message{};
  };
  std::unique_ptr<State> state_;
};

// One constructor per code.
Status invalid_argument(std::string message);
Status read_only(std::string message);
Status io_error(std::string message);
Status not_found(std::string message);
Status already_exists(std::string message);
Status corrupt(std::string message);
Status unsupported_version(std::string message);
Status no_space(std::string message);
Status limit_exceeded(std::string message);
Status invalidated(std::string message);
Status busy(std::string message);
Status timeout(std::string message);
Status aborted(std::string message);
Status bad_state(std::string message);
Status unsupported(std::string message);

namespace detail {
// Result::value() on an error: prints the status and aborts, in every build type. A caller
// that skipped the check learns what the error was instead of meeting an exception.
[[noreturn]] void value_of_error(const Status& status) noexcept;
}  // namespace detail

// Result<T>: a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : storage_(std::in_place_index<0>, std::move(value)) {}        // NOLINT
  Result(Status status) : storage_(std::in_place_index<1>, std::move(status)) {  // NOLINT
    if (std::get<1>(storage_).ok()) {
      storage_.template emplace<1>(ErrorCode::kBadState, "Result constructed from an OK Status");
    }
  }

  bool ok() const noexcept { return storage_.index() == 0; }
  // OK when holding a value.
  Status status() const { return ok() ? Status() : std::get<1>(storage_); }

  // REQUIRES: ok(). On an error this is an assertion failure that prints the status and
  // aborts the process (release builds too); it never throws.
  T& value() & { return *checked(); }
  const T& value() const& { return *checked(); }
  T&& value() && { return std::move(*checked()); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  void ignore_error() const noexcept {}

 private:
  T* checked() {
    if (T* value = std::get_if<0>(&storage_)) [[likely]]
      return value;
    detail::value_of_error(*std::get_if<1>(&storage_));
  }
  const T* checked() const {
    if (const T* value = std::get_if<0>(&storage_)) [[likely]]
      return value;
    detail::value_of_error(*std::get_if<1>(&storage_));
  }

  std::variant<T, Status> storage_;
};

}  // namespace freezeframe

#define FF_CONCAT_INNER_(a, b) a##b
#define FF_CONCAT_(a, b) FF_CONCAT_INNER_(a, b)

// Returns the Status of `expr` from the enclosing function if it is not OK.
#define FF_TRY(expr)                               \
  do {                                             \
    ::freezeframe::Status ff_try_status_ = (expr); \
    if (!ff_try_status_.ok())                      \
      return ff_try_status_;                       \
  } while (false)

// Declares `lhs` from the value of a Result expression, or returns its Status.
#define FF_ASSIGN_OR_RETURN(lhs, expr) \
  FF_ASSIGN_OR_RETURN_IMPL_(FF_CONCAT_(ff_result_, __LINE__), lhs, expr)
// `lhs` is a declaration and `tmp` a name, so neither can be put in parentheses.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define FF_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok())                                  \
    return tmp.status();                          \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
