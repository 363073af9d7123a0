// --checkpoint FILE: the position after the last transaction written (rowpipe-checkpoint(5)).
// With --dir: replaced atomically and durably (temporary file, fsync, rename, directory fsync).
// On stdout, after every transaction: rewritten in place with one pwrite(2), which a crash of the
// process cannot tear and which costs a microsecond where a rename costs a disk flush.
#pragma once

#include <string>

#include "io/checkpoint.hpp"

namespace rowpipe::tail {

class CheckpointFile {
 public:
  CheckpointFile(std::string path, bool durable) : path_(std::move(path)), durable_(durable) {}
  ~CheckpointFile();
  CheckpointFile(const CheckpointFile&) = delete;
  CheckpointFile& operator=(const CheckpointFile&) = delete;

  bool enabled() const { return !path_.empty(); }
  // Writes `c` unless the file already holds it. Throws Error(kIo).
  void write(const Checkpoint& c);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool durable_;
  std::string last_;   // the document last written
  int fd_ = -1;        // in-place mode: the file, once created by a rename
  size_t record_ = 0;  // its size: documents are padded to it with spaces (JSON white space)
  std::string buf_;
};

}  // namespace rowpipe::tail
