// Development stand-in for binlog-tail's file mode: decodes binlog files to rowpipe-events(5) lines.
// Usage: binlog-decode [--allow-statements] [--seed] [--stats] FILE...
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "binlog/decoder.hpp"
#include "binlog/line_emitter.hpp"
#include "cli/error.hpp"

namespace {

using namespace rowpipe;

class Emitter : public binlog::LineEmitter {
 public:
  using LineEmitter::LineEmitter;
  void on_warning(const Position& where, std::string_view message) override {
    std::fprintf(stderr, "binlog-decode: warning: %s:%llu: %.*s\n", where.file.c_str(),
                 static_cast<unsigned long long>(where.offset), static_cast<int>(message.size()), message.data());
  }
};

void drain(std::string& buf) {
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::write(1, buf.data() + done, buf.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(ErrorKind::kIo, std::string("writing stdout: ") + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  buf.clear();
}

}  // namespace

int main(int argc, char** argv) {
  binlog::DecoderOptions options;
  bool seed = false, stats = false;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--allow-statements")
      options.allow_statements = true;
    else if (a == "--seed")
      seed = true;
    else if (a == "--stats")
      stats = true;
    else if (a == "--help") {
      std::puts("usage: binlog-decode [--allow-statements] [--seed] [--stats] FILE...");
      return 0;
    } else
      files.push_back(a);
  }
  if (files.empty()) {
    std::fputs("binlog-decode: usage: binlog-decode [--allow-statements] [--seed] FILE...\n", stderr);
    return 64;
  }
  Emitter emitter(seed ? binlog::LineFormat::kSeed : binlog::LineFormat::kNative);
  binlog::Decoder decoder(emitter, options);
  std::vector<uint8_t> chunk(1 << 20);
  try {
    for (const std::string& path : files) {
      int fd = ::open(path.c_str(), O_RDONLY);
      if (fd < 0) fail(ErrorKind::kNoInput, path + ": " + std::strerror(errno));
      size_t slash = path.rfind('/');
      decoder.set_file(slash == std::string::npos ? path : path.substr(slash + 1));
      binlog::FileFramer framer;
      try {
        while (true) {
          ssize_t n = ::read(fd, chunk.data(), chunk.size());
          if (n < 0) {
            if (errno == EINTR) continue;
            fail(ErrorKind::kIo, path + ": " + std::strerror(errno));
          }
          if (n == 0) break;
          framer.push(chunk.data(), static_cast<size_t>(n));
          std::span<const uint8_t> event;
          uint64_t offset;
          while (framer.next(event, offset)) {
            decoder.decode_event(event, offset);
            if (emitter.buffer().size() > (1 << 20)) drain(emitter.buffer());
          }
        }
        framer.finish();
      } catch (...) {
        ::close(fd);
        throw;
      }
      ::close(fd);
    }
    decoder.finish();
    emitter.flush_pending();
    drain(emitter.buffer());
  } catch (const Error& e) {
    try {
      drain(emitter.buffer());
    } catch (...) {
    }
    std::fprintf(stderr, "binlog-decode: error: %s\n", e.what());
    return exit_code(e.kind());
  }
  if (stats) {
    const auto& s = decoder.stats();
    std::fprintf(stderr, "events=%llu rows=%llu transactions=%llu invalid_text=%llu statements_skipped=%llu\n",
                 (unsigned long long)s.events, (unsigned long long)s.rows, (unsigned long long)s.transactions,
                 (unsigned long long)s.invalid_text_values, (unsigned long long)s.statements_skipped);
  }
  return 0;
}
