// Checkpoint files: durable replacement, or in-place rewrites of a padded record.
#include "checkpoint_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "cli/error.hpp"

namespace rowpipe::tail {
namespace {

constexpr size_t kRecordBytes = 256;  // a document and its padding (longer ones grow the record)

}  // namespace

CheckpointFile::~CheckpointFile() {
  if (fd_ >= 0) ::close(fd_);
}

void CheckpointFile::write(const Checkpoint& c) {
  if (path_.empty()) return;
  std::string doc = c.to_json();
  if (doc == last_) return;
  if (durable_) {
    write_checkpoint_file(path_, c);
    last_ = std::move(doc);
    return;
  }
  // The document, padded with spaces to the record size, then a newline: one line whatever its
  // length, and each write covers the whole of the previous one.
  if (doc.size() + 1 > record_)
    record_ = std::max(kRecordBytes, (doc.size() + 1 + kRecordBytes - 1) / kRecordBytes * kRecordBytes);
  buf_ = doc;
  buf_.resize(record_ - 1, ' ');
  buf_ += '\n';
  auto failed = [&](const char* step) {
    fail(ErrorKind::kIo, "writing checkpoint " + path_ + " (" + step + "): " + std::strerror(errno));
  };
  if (fd_ < 0) {
    // The first write replaces whatever was there (a longer document, another format) whole.
    write_file_atomic(path_, buf_);
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0) failed("open");
  } else {
    // One pwrite of at most a few hundred bytes: the kernel copies it whole or not at all when the
    // process is killed (fatal signals are checked between pages).
    // The record never shrinks, so each write covers the previous one.
    ssize_t n;
    do {
      n = ::pwrite(fd_, buf_.data(), buf_.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(buf_.size())) failed("write");
  }
  last_ = std::move(doc);
}

}  // namespace rowpipe::tail
