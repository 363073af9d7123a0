// --dir DIR: lines in files binlog_STAMP.log (STAMP the local time at the --rotate granularity, as
// the original client named its files), rotated at transaction boundaries by time and/or size, and
// recovered on restart: a torn line or transaction at the end of the last file is cut off, and
// streaming continues after the last complete transaction. Native lines carry their positions; seed
// lines do not, so in seed mode the directory also holds a position record (.binlog-tail.position):
// the stream position the files' content ends at, with the file and size it ends at.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include "io/checkpoint.hpp"
#include "io/output.hpp"
#include "line_output.hpp"

namespace rowpipe::tail {

class DirOutput : public LineOutput {
 public:
  // `rotate`: 'y', 'm', 'd' (the default), 'h' or 'i' (minute). `rotate_size`: start a new file once
  // one holds this many bytes (0: no size bound); files are then named binlog_STAMP_NNNN.log.
  // `position_record`: lines carry no positions (--format seed): keep a position record, written
  // durably at each sync(). Creates DIR when missing. Throws Error(kIo).
  DirOutput(std::string dir, char rotate, uint64_t rotate_size, bool position_record = false);
  ~DirOutput() override;

  // Before the first write: finds the last file, cuts off what follows its last complete
  // transaction (a line whose `commit` is true: a transaction's last line or a HEARTBEAT), and
  // returns that line's position (`next`, `gtid`, `server_id`), or nullopt when the directory holds
  // no complete transaction (files without one are removed). Throws Error(kIo), or Error(kData) for
  // a file whose lines carry no positions (--format seed: nothing to recover from).
  // With a position record: cuts what follows the record's file and size (files after it are
  // removed) and returns its position; without one (none synced yet), cuts a torn last line only,
  // returns nullopt, and continues the last file and its number.
  std::optional<Checkpoint> recover();
  // Position record mode: everything written so far ends at `c` (call at transaction boundaries
  // with nothing pending). The next sync() records it, with the file and size it ends at.
  void set_position(const Checkpoint& c);
  bool position_record() const { return position_record_; }
  // Bytes cut off by recover() (a torn tail), for the log.
  uint64_t recovered_bytes() const { return cut_bytes_; }

  void write(std::string_view lines) override;
  void boundary() override;
  void flush() override;
  void sync() override;
  bool drop_partial() override;
  bool durable() const override { return true; }

  const std::string& file() const { return name_; }

  // The clock that stamps files (std::time by default); tests set their own.
  void set_clock(std::time_t (*now)()) { clock_ = now; }

 private:
  std::string stamp(std::time_t t) const;
  void open(const std::string& name);
  void close_current();
  std::string next_name(const std::string& stamp);
  std::optional<Checkpoint> recover_native();
  std::optional<Checkpoint> recover_from_record();
  void adopt(const std::string& name, uint64_t size);
  void write_record();

  std::string dir_;
  char rotate_;
  uint64_t rotate_size_;
  std::unique_ptr<Output> out_;
  int fd_ = -1;
  int lock_fd_ = -1;
  std::string name_;   // current file's base name
  std::string stamp_;  // its stamp
  unsigned seq_ = 0;   // its sequence number (size rotation)
  uint64_t size_ = 0;  // bytes written to it (buffered included)
  uint64_t boundary_size_ = 0;
  uint64_t cut_bytes_ = 0;
  // Position record mode: the last position set, the file and size it ends at, and whether the
  // record on disk says exactly that.
  bool position_record_ = false;
  std::optional<Checkpoint> position_;
  std::string position_file_;
  uint64_t position_size_ = 0;
  bool recorded_ = false;
  bool wrote_ = false;  // this process wrote lines
  std::time_t (*clock_)() = [] { return std::time(nullptr); };
};

// A --rotate value: y, m, d, h, i (also year, month, day, hour, minute). Throws Error(kUsage).
char parse_rotate(const std::string& text);

}  // namespace rowpipe::tail
