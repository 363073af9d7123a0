// Dead-letter file and ack writer.
#include "io/dead_letter.hpp"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "cli/error.hpp"
#include "event/json_writer.hpp"

namespace rowpipe {

DeadLetter::DeadLetter(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) fail(ErrorKind::kIo, "cannot open dead-letter file " + path + ": " + std::strerror(errno));
  out_ = std::make_unique<Output>(fd, path, true, 64 * 1024);
}

void DeadLetter::write_line(std::string_view line) {
  out_->write(line);
  out_->put('\n');
}

void AckWriter::ack(uint64_t count) {
  if (count <= last_) return;
  last_ = count;
  json::append_int(out_.buffer(), count);
  out_.buffer() += '\n';
  out_.flush();
}

}  // namespace rowpipe
