// Error categories shared by every tool, chosen by what the caller should do next, and their exit codes.
#pragma once

#include <stdexcept>
#include <string>

namespace rowpipe {

// One category per kind of reaction; each maps onto one <sysexits.h> code (see exit_code()).
enum class ErrorKind {
  kUsage,        // bad options: fix the command line
  kData,         // a line or event that cannot be used: fix or set aside the input
  kNoInput,      // an input file cannot be opened
  kUnavailable,  // a server cannot be reached: retry later
  kInternal,     // a bug
  kIo,           // reading input, writing output or a checkpoint failed
  kProtocol,     // corrupt or truncated binlog, protocol violation
  kPermission,   // authentication refused
  kConfig,       // map file, option file, server settings
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

// Throws Error(kind, message); keeps call sites short.
[[noreturn]] inline void fail(ErrorKind kind, const std::string& message) { throw Error(kind, message); }

// The <sysexits.h> code for a category: 64 usage, 65 data, 66 no input, 69 unavailable, 70 internal,
// 74 I/O, 76 protocol, 77 permission, 78 config.
int exit_code(ErrorKind kind) noexcept;

// Name of a category for messages ("data error").
const char* kind_name(ErrorKind kind) noexcept;

}  // namespace rowpipe
