// Line reader: one growing buffer (bounded by the line limit), memchr scanning, poll for timeouts.
#include "io/line_reader.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "cli/error.hpp"

namespace rowpipe {
namespace {
constexpr size_t kReadChunk = 1 << 20;
}

LineReader::LineReader(int fd, std::string name, size_t max_line_bytes, bool owns_fd)
    : fd_(fd), name_(std::move(name)), max_line_(std::max<size_t>(max_line_bytes, 1)), owns_fd_(owns_fd) {
  buf_.resize(std::min(max_line_ + 2, kReadChunk) + kReadChunk);
}

LineReader::~LineReader() {
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
}

bool LineReader::fill(int timeout_ms) {
  timed_out_ = false;
  if (eof_) return false;
  if (begin_ > 0 && (end_ == begin_ || buf_.size() - end_ < kReadChunk / 2)) {
    // Move the partial line to the front so the buffer never grows past one line plus a chunk.
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buf_.size() - end_ < kReadChunk / 2) buf_.resize(buf_.size() + kReadChunk);
  if (timeout_ms >= 0) {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, timeout_ms);
    if (r == 0 || (r < 0 && errno == EINTR)) {
      timed_out_ = true;
      return false;
    }
  }
  for (;;) {
    ssize_t n = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
    if (n > 0) {
      end_ += static_cast<size_t>(n);
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (errno == EINTR) {
      timed_out_ = true;  // let the caller look at stop_requested()
      return false;
    }
    if (errno == EAGAIN) {
      timed_out_ = true;
      return false;
    }
    fail(ErrorKind::kIo, "reading " + name_ + ": " + std::strerror(errno));
  }
}

LineReader::Status LineReader::next(Line& line, int timeout_ms) {
  line.input = name_;
  if (in_oversized_) {
    skip_oversized(line, {});
  }
  for (;;) {
    const char* base = buf_.data() + begin_;
    size_t avail = end_ - begin_;
    const char* nl = avail > scan_ ? static_cast<const char*>(std::memchr(base + scan_, '\n', avail - scan_)) : nullptr;
    if (nl != nullptr) {
      size_t len = static_cast<size_t>(nl - base);
      size_t wire = len + 1;
      if (len > 0 && base[len - 1] == '\r') --len;
      if (len > max_line_) return oversized(line);
      line.text = std::string_view(base, len);
      line.number = ++line_number_;
      line.terminated = true;
      line.bytes = wire;
      begin_ += wire;
      consumed_ += wire;
      scan_ = 0;
      return Status::kLine;
    }
    scan_ = avail;
    if (avail > max_line_ + 1) return oversized(line);  // no newline within the bound
    if (!fill(timeout_ms)) {
      if (timed_out_) return Status::kTimeout;
      avail = end_ - begin_;
      if (avail == 0) return Status::kEnd;
      base = buf_.data() + begin_;
      size_t len = avail;
      if (base[len - 1] == '\r') --len;
      if (len > max_line_) return oversized(line);
      line.text = std::string_view(base, len);
      line.number = ++line_number_;
      line.terminated = false;
      line.bytes = avail;
      begin_ = end_;
      consumed_ += avail;
      scan_ = 0;
      return Status::kLine;
    }
  }
}

LineReader::Status LineReader::oversized(Line& line) {
  // Hand out the prefix; the rest stays buffered for skip_oversized() or the next call to consume.
  line.text = std::string_view(buf_.data() + begin_, max_line_);
  line.number = ++line_number_;
  line.terminated = true;
  line.bytes = max_line_;
  begin_ += max_line_;
  consumed_ += max_line_;
  scan_ = 0;
  in_oversized_ = true;
  return Status::kOversized;
}

void LineReader::skip_oversized(Line& line, const std::function<void(std::string_view)>& sink) {
  // The prefix was already handed out in line.text; stream what follows it up to the newline.
  if (!in_oversized_) return;
  for (;;) {
    const char* base = buf_.data() + begin_;
    size_t avail = end_ - begin_;
    const char* nl = static_cast<const char*>(std::memchr(base, '\n', avail));
    if (nl != nullptr) {
      size_t len = static_cast<size_t>(nl - base);
      if (sink) sink(std::string_view(base, len));
      begin_ += len + 1;
      consumed_ += len + 1;
      line.bytes += len + 1;
      in_oversized_ = false;
      return;
    }
    if (sink && avail > 0) sink(std::string_view(base, avail));
    line.bytes += avail;
    consumed_ += avail;
    begin_ = end_ = 0;
    if (!fill(-1)) {
      in_oversized_ = false;
      return;
    }
  }
}

InputFiles::InputFiles(std::vector<std::string> names, size_t max_line_bytes)
    : names_(std::move(names)), max_line_(max_line_bytes) {
  if (names_.empty()) names_.push_back("-");
}

bool InputFiles::open_next() {
  if (next_ >= names_.size()) return false;
  const std::string& name = names_[next_++];
  if (name == "-") {
    reader_ = std::make_unique<LineReader>(STDIN_FILENO, "stdin", max_line_);
    return true;
  }
  int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(ErrorKind::kNoInput, name + ": " + std::strerror(errno));
  reader_ = std::make_unique<LineReader>(fd, name, max_line_, true);
  return true;
}

LineReader::Status InputFiles::next(Line& line, int timeout_ms) {
  for (;;) {
    if (!reader_ && !open_next()) return LineReader::Status::kEnd;
    LineReader::Status status = reader_->next(line, timeout_ms);
    if (status != LineReader::Status::kEnd) return status;
    if (next_ >= names_.size()) return LineReader::Status::kEnd;
    reader_.reset();
  }
}

}  // namespace rowpipe
