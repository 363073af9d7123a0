// rowpipe-checkpoint(5): where a stage resumes; read, rendered, and replaced atomically on disk.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "event/position.hpp"

namespace rowpipe {

struct Checkpoint {
  Position binlog;  // always a transaction boundary (a line's `next`)
  std::optional<uint32_t> server_id;
  std::string gtid;                    // empty when unknown
  std::optional<RowPosition> applied;  // last applied row inside the transaction starting at binlog

  // True when the row at `pos` is already reflected by this checkpoint: it belongs to a transaction
  // that ended at or before `binlog`, or it is at or before `applied`.
  bool covers(const RowPosition& pos) const;

  std::string to_json() const;
  // Throws Error(kConfig) naming what is wrong; `origin` names the source in messages.
  static Checkpoint parse(std::string_view json, std::string_view origin);
};

// Reads a checkpoint file; nullopt when it does not exist (a first run). Other failures throw.
std::optional<Checkpoint> read_checkpoint_file(const std::string& path);

// Writes the checkpoint atomically: a temporary file in the same directory, fsync, rename over
// `path`, fsync of the directory. After a crash the file holds the old or the new checkpoint.
void write_checkpoint_file(const std::string& path, const Checkpoint& checkpoint);

// Replaces `path` with `content` atomically and durably (used for checkpoints and small state files).
void write_file_atomic(const std::string& path, std::string_view content);

}  // namespace rowpipe
