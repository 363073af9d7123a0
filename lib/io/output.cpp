// Buffered output to a descriptor.
#include "io/output.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli/error.hpp"

namespace rowpipe {

Output::Output(int fd, std::string name, bool owns_fd, size_t buffer_bytes)
    : fd_(fd), name_(std::move(name)), owns_fd_(owns_fd), limit_(buffer_bytes) {
  buffer_.reserve(limit_);
}

Output::~Output() {
  // Best effort only: close() is where errors are reported.
  if (fd_ >= 0) {
    try {
      flush();
    } catch (...) {
    }
    if (owns_fd_) ::close(fd_);
  }
}

void Output::write_fd(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) throw BrokenPipe();
      fail(ErrorKind::kIo, "writing " + name_ + ": " + std::strerror(errno));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

void Output::spill(std::string_view extra) {
  flush();
  if (extra.size() >= limit_)
    write_fd(extra);
  else
    buffer_.append(extra);
}

void Output::flush() {
  if (buffer_.empty()) return;
  // Cleared even when the write fails, so the destructor does not retry it.
  struct Clear {
    std::string& bytes;
    ~Clear() { bytes.clear(); }
  } clear{buffer_};
  write_fd(buffer_);
}

void Output::sync() {
  flush();
  if (::fsync(fd_) != 0 && errno != EINVAL && errno != EROFS)
    fail(ErrorKind::kIo, "fsync " + name_ + ": " + std::strerror(errno));
}

void Output::close() {
  if (fd_ < 0) return;
  flush();
  if (owns_fd_ && ::close(fd_) != 0) {
    fd_ = -1;
    fail(ErrorKind::kIo, "closing " + name_ + ": " + std::strerror(errno));
  }
  fd_ = -1;
}

}  // namespace rowpipe
