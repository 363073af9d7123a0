// Buffered writer to a file descriptor: large writes, explicit flushes, EPIPE reported as BrokenPipe.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace rowpipe {

// Thrown when the reader of our output went away (EPIPE): the tool checkpoints and ends quietly.
class BrokenPipe : public std::runtime_error {
 public:
  BrokenPipe() : std::runtime_error("output closed by its reader") {}
};

class Output {
 public:
  static constexpr size_t kDefaultBuffer = 1 << 20;

  // Does not own fd unless owns_fd; `name` appears in error messages ("stdout", a file path).
  Output(int fd, std::string name, bool owns_fd = false, size_t buffer_bytes = kDefaultBuffer);
  ~Output();
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  // Appends; writes through when the buffer fills. Never flushes per call.
  void write(std::string_view bytes) {
    if (buffer_.size() + bytes.size() > limit_)
      spill(bytes);
    else
      buffer_.append(bytes);
  }
  void put(char c) {
    if (buffer_.size() + 1 > limit_)
      spill(std::string_view(&c, 1));
    else
      buffer_.push_back(c);
  }

  // Direct access for writers that render in place (the JSON writer appends here).
  std::string& buffer() { return buffer_; }
  // Call after appending to buffer() directly.
  void maybe_spill() {
    if (buffer_.size() >= limit_) flush();
  }

  // Writes everything buffered. Throws BrokenPipe on EPIPE, Error(kIo) on other failures.
  void flush();
  // flush() then fsync(2) (for files whose content a checkpoint vouches for).
  void sync();
  // flush() and close the descriptor when owned; reports errors a destructor could not.
  void close();

  size_t buffered() const { return buffer_.size(); }
  int fd() const { return fd_; }
  const std::string& name() const { return name_; }

 private:
  void spill(std::string_view extra);
  void write_fd(std::string_view bytes);

  int fd_;
  std::string name_;
  bool owns_fd_;
  size_t limit_;
  std::string buffer_;
};

}  // namespace rowpipe
