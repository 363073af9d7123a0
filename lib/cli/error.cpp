// Exit codes and names of the error categories.
#include "cli/error.hpp"

#include <sysexits.h>

namespace rowpipe {

int exit_code(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::kUsage: return EX_USAGE;
    case ErrorKind::kData: return EX_DATAERR;
    case ErrorKind::kNoInput: return EX_NOINPUT;
    case ErrorKind::kUnavailable: return EX_UNAVAILABLE;
    case ErrorKind::kInternal: return EX_SOFTWARE;
    case ErrorKind::kIo: return EX_IOERR;
    case ErrorKind::kProtocol: return EX_PROTOCOL;
    case ErrorKind::kPermission: return EX_NOPERM;
    case ErrorKind::kConfig: return EX_CONFIG;
  }
  return EX_SOFTWARE;
}

const char* kind_name(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::kUsage: return "usage error";
    case ErrorKind::kData: return "data error";
    case ErrorKind::kNoInput: return "cannot open input";
    case ErrorKind::kUnavailable: return "unavailable";
    case ErrorKind::kInternal: return "internal error";
    case ErrorKind::kIo: return "I/O error";
    case ErrorKind::kProtocol: return "protocol error";
    case ErrorKind::kPermission: return "permission denied";
    case ErrorKind::kConfig: return "configuration error";
  }
  return "error";
}

}  // namespace rowpipe
