// COMMAND of `mq-pipe sub URL -- COMMAND`: a child process fed on its stdin, reporting on its stdout
// how many lines it applied (the --ack format of rowpipe-events(5)).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rowpipe::mq {

// Reads `--ack` output: lines of one decimal count each, never decreasing.
class AckParser {
 public:
  // Feeds bytes; returns the latest count seen so far. Throws Error(kProtocol) on anything but
  // counts, or a count that goes back.
  uint64_t feed(std::string_view bytes);
  uint64_t count() const { return count_; }

 private:
  std::string partial_;
  uint64_t count_ = 0;
};

class Child {
 public:
  // Starts `argv` (PATH is searched) with pipes on its stdin and stdout; stderr is shared. Throws
  // Error(kUsage) when it cannot be started.
  explicit Child(const std::vector<std::string>& argv);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Writes as much of `bytes` as the pipe takes without blocking; returns how much. Returns 0 and
  // marks stdin closed when the child stopped reading (EPIPE).
  size_t write_some(std::string_view bytes);
  // End of input: the child drains, acknowledges and exits.
  void close_stdin();
  bool stdin_open() const { return in_ >= 0; }

  // Reads what the child printed (non-blocking); returns the latest ack count. Sets stdout_closed().
  uint64_t read_acks();
  bool stdout_closed() const { return out_ < 0; }

  int stdin_fd() const { return in_; }
  int stdout_fd() const { return out_; }

  // Non-blocking check; true once the child has exited (then status() is set).
  bool exited();
  // Waits for the child to exit.
  void wait();
  // Shell-style status: the exit code, or 128+N when killed by signal N.
  int status() const { return status_.value_or(0); }
  // "exited with status 3" / "was killed by signal 9".
  std::string describe() const;
  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }

 private:
  void record(int wstatus);

  std::string name_;
  pid_t pid_ = -1;
  int in_ = -1;   // our end of the child's stdin
  int out_ = -1;  // our end of the child's stdout
  AckParser acks_;
  std::optional<int> status_;
  int raw_status_ = 0;
};

}  // namespace rowpipe::mq
