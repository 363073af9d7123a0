// --checkpoint FILE: the position after the last transaction written (rowpipe-checkpoint(5)).
// With --dir: replaced atomically and durably (temporary file, fsync, rename, directory fsync).
// On stdout, after every transaction: rewritten in place with one pwrite(2) of a fixed-size record,
// which a crash of the process cannot tear and which costs half a microsecond where a rename cost
// 250-650 us on ext4 (measured: its rename-over-a-file starts writeback). A reader racing the write
// may see old and new bytes mixed, so the record carries "check": the CRC-32 of the bytes before
// it; read_checked_checkpoint() verifies it and reads again.
#pragma once

#include <optional>
#include <string>
#include <string_view>

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

// Reads a checkpoint file as read_checkpoint_file() does, verifying a "check" member when there is
// one (re-reading a record caught mid-write; a record that stays wrong is Error(kData)).
std::optional<Checkpoint> read_checked_checkpoint(const std::string& path);

// Whether `text` (a record as written in place) is whole: true when it has no "check" member.
bool checkpoint_record_intact(std::string_view text);

}  // namespace rowpipe::tail
