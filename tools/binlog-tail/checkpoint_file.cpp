// Checkpoint files: durable replacement, or in-place rewrites of a padded record.
#include "checkpoint_file.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "cli/error.hpp"

namespace rowpipe::tail {
namespace {

constexpr size_t kRecordBytes = 256;  // a document and its padding (longer ones grow the record)
constexpr std::string_view kCheck = ",\"check\":\"";

uint32_t crc_of(std::string_view text) {
  return static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size())));
}

// `doc` with "check" (8 hex digits) as its last member.
std::string with_check(const std::string& doc) {
  std::string out = doc.substr(0, doc.size() - 1);
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", crc_of(out));
  out += kCheck;
  out.append(hex, 8);
  out += "\"}";
  return out;
}

}  // namespace

bool checkpoint_record_intact(std::string_view text) {
  size_t at = text.rfind(kCheck);
  if (at == std::string_view::npos) return true;
  size_t hex = at + kCheck.size();
  if (text.size() < hex + 10 || text.compare(hex + 8, 2, "\"}") != 0) return false;
  char want[9];
  std::snprintf(want, sizeof want, "%08x", crc_of(text.substr(0, at)));
  return text.compare(hex, 8, want) == 0;
}

std::optional<Checkpoint> read_checked_checkpoint(const std::string& path) {
  for (int attempt = 0;; ++attempt) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return std::nullopt;
      fail(ErrorKind::kIo, "reading checkpoint " + path + ": " + std::strerror(errno));
    }
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) != 0 && text.size() <= (size_t{1} << 20)) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int saved = errno;
        ::close(fd);
        fail(ErrorKind::kIo, "reading checkpoint " + path + ": " + std::strerror(saved));
      }
      text.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    if (checkpoint_record_intact(text)) return Checkpoint::parse(text, path);
    if (attempt == 100)
      fail(ErrorKind::kData, path + ": its \"check\" does not match its content (not a record binlog-tail wrote)");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // a write in progress: read it again
  }
}

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
  // The document and its check, padded with spaces to the record size, then a newline: one line
  // whatever its length, and each write covers the whole of the previous one.
  buf_ = with_check(doc);
  if (buf_.size() + 1 > record_)
    record_ = std::max(kRecordBytes, (buf_.size() + 1 + kRecordBytes - 1) / kRecordBytes * kRecordBytes);
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
