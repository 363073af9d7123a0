// The file loop: open, frame, decode, filter, write; --from/--to bounds, signals, progress.
#include "file_mode.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "binlog/constants.hpp"
#include "binlog/decoder.hpp"
#include "cli/error.hpp"
#include "cli/log.hpp"
#include "io/output.hpp"
#include "io/signals.hpp"
#include "line_sink.hpp"
#include "time_zone.hpp"

namespace rowpipe::tail {
namespace {

// Output is written when this much is buffered at a transaction end, or at kMaxBuffered inside a
// transaction that is larger than that.
constexpr size_t kFlushBytes = size_t{1} << 20;
constexpr size_t kMaxBuffered = size_t{2} << 20;
constexpr size_t kReadBytes = size_t{1} << 20;

std::string base_name(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

class File {
 public:
  explicit File(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) fail(ErrorKind::kNoInput, "cannot open " + path + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0) fail(ErrorKind::kNoInput, "cannot open " + path + ": " + std::strerror(errno));
    if (S_ISDIR(st.st_mode)) {
      ::close(fd_);
      fail(ErrorKind::kNoInput, "cannot open " + path + ": is a directory");
    }
    size_ = S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  }
  ~File() { ::close(fd_); }
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  // Bytes read (0 at the end), or -1 when a signal interrupted the read (a FIFO waiting for
  // data): the caller looks at the stop request, then reads again.
  ssize_t read(uint8_t* buf, size_t n) {
    ssize_t got = ::read(fd_, buf, n);
    if (got < 0 && errno != EINTR) fail(ErrorKind::kIo, "reading " + path_ + ": " + std::strerror(errno));
    return got;
  }
  uint64_t size() const { return size_; }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

enum class Stop { kNone, kTo, kSignal };

class FileRun {
 public:
  FileRun(const Config& c, binlog::SchemaProvider* schema)
      : c_(c),
        sink_(c.format, Filter(c.include, c.exclude, c.events),
              make_time_formatter(c.timezone, c.format == binlog::LineFormat::kSeed)),
        decoder_(sink_, decoder_options(c, schema)),
        out_(STDOUT_FILENO, "stdout") {}

  int run() {
    size_t first = 0;
    if (c_.from) {
      first = c_.files.size();
      for (size_t i = 0; i < c_.files.size(); ++i)
        if (base_name(c_.files[i]) == c_.from->file) {
          first = i;
          break;
        }
      if (first == c_.files.size())
        fail(ErrorKind::kUsage, "--from " + c_.from->str() + ": none of the files is named " + c_.from->file);
    }
    try {
      for (size_t i = first; i < c_.files.size() && stop_ == Stop::kNone; ++i) {
        file_index_ = i;
        decode_file(c_.files[i], i == first && c_.from ? c_.from->offset : 0);
      }
      if (stop_ != Stop::kSignal) decoder_.finish();
      sink_.flush_pending();
      write_out();
      out_.flush();
    } catch (const Error&) {
      // Everything decoded before the damage is written; then the error is reported.
      try {
        sink_.flush_pending();
        out_.write(sink_.complete());
        out_.flush();
      } catch (...) {
      }
      throw;
    }
    log::finish_progress();
    if (stop_ == Stop::kSignal)
      log::notice("stopped by signal " + std::to_string(signals::stop_signal()) + " at " + stop_at_.str() +
                  " (a transaction boundary); resume with --from " + stop_at_.str());
    else if (stop_ == Stop::kTo)
      log::info("stopped at " + stop_at_.str() + " (--to " + c_.to->str() + ")");
    sink_.report_suppressed_warnings();
    const auto& s = decoder_.stats();
    log::info("decoded " + std::to_string(files_) + " file(s): " + std::to_string(s.events) + " events, " +
              std::to_string(s.rows) + " rows, " + std::to_string(s.transactions) + " transactions; wrote " +
              std::to_string(sink_.lines()) + " lines");
    return 0;
  }

 private:
  static binlog::DecoderOptions decoder_options(const Config& c, binlog::SchemaProvider* schema) {
    binlog::DecoderOptions o;
    o.allow_statements = c.allow_statements;
    o.follow_rotate = false;  // a relay log's rotates name the source's files
    o.max_xa_bytes = c.max_xa_bytes;
    o.schema = schema;
    return o;
  }

  void write_out() {
    sink_.heartbeat_if_due();
    if (sink_.complete_size() == 0) return;
    out_.write(sink_.complete());
    sink_.clear_complete();
    out_.flush();
  }

  // Before `skip_to` (--from), only the events that set up decoding (format descriptions) are
  // decoded; the rest are framed and passed over.
  void decode_file(const std::string& path, uint64_t skip_to) {
    File file(path);
    ++files_;
    const std::string name = base_name(path);
    decoder_.set_file(name);
    binlog::FileFramer framer(name);
    std::span<const uint8_t> ev;
    uint64_t off = 0;
    while (true) {
      ssize_t n = file.read(framer.room(kReadBytes), kReadBytes);
      if (n < 0) {
        if (signals::stop_requested() && !decoder_.in_transaction() && framer.offset() >= skip_to) {
          stop(Stop::kSignal, name, std::max<uint64_t>(framer.offset(), 4));
          return;
        }
        continue;
      }
      if (n == 0) break;
      framer.commit(static_cast<size_t>(n));
      while (framer.next(ev, off)) {
        if (off < skip_to) {
          if (off + ev.size() > skip_to)
            fail(ErrorKind::kUsage, "--from " + c_.from->str() + ": no event starts there (the event at " +
                                        std::to_string(off) + " ends at " + std::to_string(off + ev.size()) + ")");
          uint8_t type = ev[4];
          if (type == binlog::kFormatDescriptionEvent || type == binlog::kStartEventV3 ||
              type == binlog::kMariaStartEncryptionEvent)
            decoder_.decode_event(ev, off);
          continue;
        }
        if (!decoder_.in_transaction()) {
          if (signals::stop_requested()) {
            stop(Stop::kSignal, name, off);
            return;
          }
          if (c_.to && compare(Position{name, off}, *c_.to) >= 0) {
            stop(Stop::kTo, name, off);
            return;
          }
        }
        decoder_.decode_event(ev, off);
        size_t buffered = sink_.complete_size();
        if (buffered >= kFlushBytes && (buffered >= kMaxBuffered || !decoder_.in_transaction())) write_out();
        if (meter_.due()) progress(name, framer.offset(), file.size());
      }
    }
    framer.finish();
    if (skip_to > framer.offset())
      fail(ErrorKind::kUsage, "--from " + c_.from->str() + ": beyond the end of " + path + " (" +
                                  std::to_string(framer.offset()) + " bytes)");
  }

  void stop(Stop why, const std::string& file, uint64_t offset) {
    stop_ = why;
    stop_at_ = Position{file, offset};
  }

  void progress(const std::string& name, uint64_t done, uint64_t size) {
    std::string text = name + ": ";
    if (size > 0) text += std::to_string(done * 100 / size) + "% of ";
    text += std::to_string(size >> 20) + " MB";
    if (c_.files.size() > 1)
      text += " (file " + std::to_string(file_index_ + 1) + " of " + std::to_string(c_.files.size()) + ")";
    text += ", " + std::to_string(decoder_.stats().rows) + " rows";
    log::progress(text);
  }

  const Config& c_;
  TailSink sink_;
  binlog::Decoder decoder_;
  Output out_;
  log::ProgressMeter meter_;
  Stop stop_ = Stop::kNone;
  Position stop_at_;
  size_t file_index_ = 0;
  uint64_t files_ = 0;
};

}  // namespace

int run_files(const Config& config, binlog::SchemaProvider* schema) {
  // Every input can be opened before any line is written.
  for (const auto& path : config.files) File check(path);
  FileRun run(config, schema);
  return run.run();
}

}  // namespace rowpipe::tail
