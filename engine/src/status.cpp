#include "freezeframe/status.h"

#include <cstdio>
#include <cstdlib>

#include "freezeframe/assert.h"

namespace freezeframe {

std::string_view error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kOk:
      return "ok";
    case ErrorCode::kInvalidArgument:
      return "invalid-argument";
    case ErrorCode::kReadOnly:
      return "read-only";
    case ErrorCode::kIoError:
      return "io-error";
    case ErrorCode::kNotFound:
      return "not-found";
    case ErrorCode::kAlreadyExists:
      return "already-exists";
    case ErrorCode::kCorrupt:
      return "corrupt";
    case ErrorCode::kUnsupportedVersion:
      return "unsupported-version";
    case ErrorCode::kNoSpace:
      return "no-space";
    case ErrorCode::kLimitExceeded:
      return "limit-exceeded";
    case ErrorCode::kInvalidated:
      return "invalidated";
    case ErrorCode::kBusy:
      return "busy";
    case ErrorCode::kTimeout:
      return "timeout";
    case ErrorCode::kAborted:
      return "aborted";
    case ErrorCode::kBadState:
      return "bad-state";
    case ErrorCode::kUnsupported:
      return "unsupported";
  }
  return "unknown";
}

Status::Status(ErrorCode code, std::string message) {
  if (code != ErrorCode::kOk) {
    state_ = std::make_unique<State>(State{code, std::move(message)});
  }
}

Status::Status(const Status& other)
    : state_(other.state_ ? std::make_unique<State>(*other.state_) : nullptr) {}

Status& Status::operator=(const Status& other) {
  if (this != &other) {
    state_ = other.state_ ? std::make_unique<State>(*other.state_) : nullptr;
  }
  return *this;
}

const std::string& Status::message() const noexcept {
  static const std::string kEmpty;
  return state_ ? state_->message : kEmpty;
}

std::string Status::to_string() const {
  if (ok())
    return "ok";
  std::string out(error_code_name(state_->code));
  out += ": ";
  out += state_->message;
  return out;
}

Status Status::with_context(std::string_view context) const {
  if (ok())
    return Status();
  std::string message(context);
  message += ": ";
  message += state_->message;
  return Status(state_->code, std::move(message));
}

Status invalid_argument(std::string message) {
  return Status(ErrorCode::kInvalidArgument, std::move(message));
}
Status io_error(std::string message) {
  return Status(ErrorCode::kIoError, std::move(message));
}
Status corrupt(std::string message) {
  return Status(ErrorCode::kCorrupt, std::move(message));
}
Status not_found(std::string message) {
  return Status(ErrorCode::kNotFound, std::move(message));
}
Status bad_state(std::string message) {
  return Status(ErrorCode::kBadState, std::move(message));
}
Status read_only(std::string message) {
  return Status(ErrorCode::kReadOnly, std::move(message));
}
Status already_exists(std::string message) {
  return Status(ErrorCode::kAlreadyExists, std::move(message));
}
Status unsupported_version(std::string message) {
  return Status(ErrorCode::kUnsupportedVersion, std::move(message));
}
Status no_space(std::string message) {
  return Status(ErrorCode::kNoSpace, std::move(message));
}
Status limit_exceeded(std::string message) {
  return Status(ErrorCode::kLimitExceeded, std::move(message));
}
Status invalidated(std::string message) {
  return Status(ErrorCode::kInvalidated, std::move(message));
}
Status busy(std::string message) {
  return Status(ErrorCode::kBusy, std::move(message));
}
Status timeout(std::string message) {
  return Status(ErrorCode::kTimeout, std::move(message));
}
Status aborted(std::string message) {
  return Status(ErrorCode::kAborted, std::move(message));
}
Status unsupported(std::string message) {
  return Status(ErrorCode::kUnsupported, std::move(message));
}

namespace detail {
void assertion_failed(const char* condition, const char* file, int line,
                      const char* message) noexcept {
  std::fprintf(stderr, "freezeframe: invariant violated at %s:%d: %s%s%s\n", file, line, condition,
               message ? ": " : "", message ? message : "");
  std::fflush(stderr);
  std::abort();
}
void value_of_error(const Status& status) noexcept {
  std::fprintf(stderr, "freezeframe: Result::value() called on an error: %s\n",
               status.to_string().c_str());
  std::fflush(stderr);
  std::abort();
}
}  // namespace detail

}  // namespace freezeframe
