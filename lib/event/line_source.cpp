// Reading, validating and setting aside input lines.
#include "event/line_source.hpp"

#include "cli/error.hpp"
#include "cli/log.hpp"

namespace rowpipe {

LineSource::LineSource(LineSourceOptions options)
    : options_(std::move(options)), files_(options_.files, options_.max_line_bytes) {
  if (!options_.dead_letter.empty()) dead_letter_ = std::make_unique<DeadLetter>(options_.dead_letter);
}

std::string LineSource::where() const { return std::string(line_.input) + ":" + std::to_string(line_.number); }

bool LineSource::reject(const std::string& reason, bool oversized) {
  if (!dead_letter_ || dead_lettered_ >= options_.max_errors) {
    error_ = where() + ": " + reason;
    if (dead_letter_) error_ += " (more than --max-errors " + std::to_string(options_.max_errors) + " bad lines)";
    if (oversized) files_.skip_oversized(line_, {});
    return false;
  }
  log::write(log::Level::kError, where(), reason + "; set aside in " + dead_letter_->path());
  dead_letter_->append(line_.text);
  if (oversized) files_.skip_oversized(line_, [&](std::string_view piece) { dead_letter_->append(piece); });
  dead_letter_->end_line();
  ++dead_lettered_;
  return true;
}

LineSource::Status LineSource::next(int timeout_ms) {
  for (;;) {
    auto status = files_.next(line_, timeout_ms);
    switch (status) {
      case LineReader::Status::kEnd: return Status::kEnd;
      case LineReader::Status::kTimeout: return Status::kIdle;
      case LineReader::Status::kOversized:
        ++lines_read_;
        if (!reject("line longer than --max-line-bytes " + std::to_string(options_.max_line_bytes), true))
          return Status::kStop;
        continue;
      case LineReader::Status::kLine: break;
    }
    ++lines_read_;
    if (line_.text.empty()) {
      if (!reject("empty line", false)) return Status::kStop;
      continue;
    }
    try {
      event_ = &parser_.parse(line_.text);
      return Status::kEvent;
    } catch (const Error& e) {
      std::string reason = e.what();
      if (!line_.terminated) reason = "incomplete last line (input ended inside it): " + reason;
      if (!reject(reason, false)) return Status::kStop;
    }
  }
}

}  // namespace rowpipe
