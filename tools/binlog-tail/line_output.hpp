// Where live mode writes its lines: stdout, or rotating files (--dir). The loop tells the output
// where transactions end, so files rotate, sync and recover only at transaction boundaries.
#pragma once

#include <string>
#include <string_view>

#include "io/output.hpp"

namespace rowpipe::tail {

class LineOutput {
 public:
  virtual ~LineOutput() = default;
  // Appends complete lines: whole transactions, or the first lines of one too large to hold.
  virtual void write(std::string_view lines) = 0;
  // Everything written so far ends a transaction (a file may rotate here).
  virtual void boundary() {}
  // Hands what was written to the kernel. Throws BrokenPipe when stdout's reader left, Error(kIo).
  virtual void flush() = 0;
  // flush(), then makes it durable (files: fsync).
  virtual void sync() { flush(); }
  // Takes back what was written since the last boundary() (a connection lost inside a large
  // transaction): files truncate it; stdout cannot, and says so.
  virtual bool drop_partial() { return false; }
  // True when sync() makes the lines durable (the checkpoint is then synced too).
  virtual bool durable() const { return false; }
};

class StdoutOutput : public LineOutput {
 public:
  StdoutOutput() : out_(1, "stdout") {}
  void write(std::string_view lines) override { out_.write(lines); }
  void flush() override { out_.flush(); }

 private:
  Output out_;
};

}  // namespace rowpipe::tail
