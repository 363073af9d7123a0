// Rotating line files and their torn-tail recovery.
#include "dir_output.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rapidjson/document.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "cli/error.hpp"
#include "cli/failpoint.hpp"
#include "io/checkpoint.hpp"

namespace rowpipe::tail {
namespace {

constexpr size_t kScanBlock = size_t{1} << 20;

[[noreturn]] void io_error(const std::string& what) { fail(ErrorKind::kIo, what + ": " + std::strerror(errno)); }

void sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);  // some filesystems refuse: harmless
  ::close(fd);
}

constexpr const char* kRecordName = ".binlog-tail.position";

bool is_line_file(const std::string& name) {
  return name.size() > 11 && name.compare(0, 7, "binlog_") == 0 && name.compare(name.size() - 4, 4, ".log") == 0;
}

// Reads a file backwards: where the previous newline is, and the bytes of a line.
class BackwardReader {
 public:
  BackwardReader(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  // The offset of the last '\n' before `before`, or nullopt.
  std::optional<uint64_t> prev_newline(uint64_t before) {
    while (before > 0) {
      if (before <= block_at_ || before > block_at_ + block_.size()) load(before);
      size_t upto = static_cast<size_t>(before - block_at_);
      const char* p = static_cast<const char*>(memrchr(block_.data(), '\n', upto));
      if (p != nullptr) return block_at_ + static_cast<uint64_t>(p - block_.data());
      before = block_at_;
    }
    return std::nullopt;
  }
  std::string read(uint64_t at, size_t n) {
    std::string out(n, '\0');
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd_, out.data() + got, n - got, static_cast<off_t>(at + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) io_error("reading " + path_);
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    out.resize(got);
    return out;
  }

 private:
  // Loads the block that ends at `end`.
  void load(uint64_t end) {
    block_at_ = end > kScanBlock ? end - kScanBlock : 0;
    block_ = read(block_at_, static_cast<size_t>(end - block_at_));
  }

  int fd_;
  std::string path_;
  uint64_t block_at_ = 0;
  std::string block_;
};

// The last complete transaction of a file: the end of the last line whose `commit` is true, and
// what it says. Lines are read backwards, so a huge torn transaction costs reading it once, not
// memory.
struct LastCommit {
  uint64_t end = 0;  // just after the line's newline
  Checkpoint where;
};

std::optional<LastCommit> last_commit(int fd, uint64_t size, const std::string& path) {
  BackwardReader r(fd, path);
  // What follows the last newline is a torn line.
  std::optional<uint64_t> nl = r.prev_newline(size);
  while (nl) {
    uint64_t end = *nl + 1;
    std::optional<uint64_t> prev = r.prev_newline(*nl);
    uint64_t begin = prev ? *prev + 1 : 0;
    std::string line = r.read(begin, static_cast<size_t>(*nl - begin));
    if (!line.empty() && line.compare(0, 10, "{\"binlog\":") != 0)
      fail(ErrorKind::kData, path +
                                 ": a line without a position (--format seed?): the file cannot be recovered; "
                                 "resume with --resume, or give another --dir");
    if (line.find("\"commit\":true") != std::string::npos) {
      rapidjson::Document d;
      d.Parse(line.data(), line.size());
      auto next = d.IsObject() ? d.FindMember("next") : d.MemberEnd();
      if (d.IsObject() && next != d.MemberEnd() && next->value.IsString()) {
        if (auto pos = Position::parse({next->value.GetString(), next->value.GetStringLength()})) {
          LastCommit c;
          c.end = end;
          c.where.binlog = *pos;
          if (auto g = d.FindMember("gtid"); g != d.MemberEnd() && g->value.IsString())
            c.where.gtid.assign(g->value.GetString(), g->value.GetStringLength());
          if (auto sid = d.FindMember("server_id"); sid != d.MemberEnd() && sid->value.IsUint())
            c.where.server_id = sid->value.GetUint();
          return c;
        }
      }
    }
    nl = prev;
  }
  return std::nullopt;
}

}  // namespace

char parse_rotate(const std::string& text) {
  if (text == "y" || text == "year") return 'y';
  if (text == "m" || text == "month") return 'm';
  if (text == "d" || text == "day") return 'd';
  if (text == "h" || text == "hour") return 'h';
  if (text == "i" || text == "minute") return 'i';
  fail(ErrorKind::kUsage, "--rotate " + text + ": give y, m, d, h or i (year, month, day, hour, minute)");
}

DirOutput::DirOutput(std::string dir, char rotate, uint64_t rotate_size, bool position_record)
    : dir_(std::move(dir)), rotate_(rotate), rotate_size_(rotate_size), position_record_(position_record) {
  if (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  if (::mkdir(dir_.c_str(), 0755) != 0 && errno != EEXIST) io_error("creating --dir " + dir_);
  struct stat st {};
  if (::stat(dir_.c_str(), &st) != 0) io_error("--dir " + dir_);
  if (!S_ISDIR(st.st_mode)) fail(ErrorKind::kIo, "--dir " + dir_ + ": not a directory");
  // One writer per directory: a second one would interleave its lines and cut the first's tail.
  std::string lock = dir_ + "/.binlog-tail.lock";
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) io_error("opening " + lock);
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      fail(ErrorKind::kUnavailable, "--dir " + dir_ + " is in use by another binlog-tail (it holds " + lock + ")");
    io_error("locking " + lock);
  }
}

DirOutput::~DirOutput() {
  out_.reset();  // flushes (best effort: errors were reported by sync())
  if (fd_ >= 0) ::close(fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock
}

std::string DirOutput::stamp(std::time_t t) const {
  std::tm parts{};
  localtime_r(&t, &parts);
  const char* format = rotate_ == 'y'   ? "%Y"
                       : rotate_ == 'm' ? "%Y%m"
                       : rotate_ == 'd' ? "%Y%m%d"
                       : rotate_ == 'h' ? "%Y%m%d%H"
                                        : "%Y%m%d%H%M";
  char buf[32];
  size_t n = std::strftime(buf, sizeof buf, format, &parts);
  return std::string(buf, n);
}

std::string DirOutput::next_name(const std::string& s) {
  if (rotate_size_ == 0) return "binlog_" + s + ".log";
  char seq[16];
  std::snprintf(seq, sizeof seq, "%04u", seq_);
  return "binlog_" + s + "_" + seq + ".log";
}

namespace {

std::vector<std::string> line_files(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) io_error("reading --dir " + dir);
  while (dirent* e = ::readdir(d))
    if (is_line_file(e->d_name)) names.emplace_back(e->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

uint64_t file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) io_error("reading " + path);
  return static_cast<uint64_t>(st.st_size);
}

void cut_file(const std::string& path, uint64_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) io_error("opening " + path);
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0 || ::fsync(fd) != 0) {
    ::close(fd);
    io_error("cutting the torn tail of " + path);
  }
  ::close(fd);
}

}  // namespace

std::optional<Checkpoint> DirOutput::recover() {
  if (!position_record_) return recover_native();
  if (std::optional<Checkpoint> c = recover_from_record()) return c;
  // No record: a directory written before one was kept. Only a torn last line is cut; the caller
  // starts from --resume, which may repeat what followed that checkpoint.
  std::vector<std::string> names = line_files(dir_);
  if (names.empty()) return std::nullopt;
  std::string path = dir_ + "/" + names.back();
  uint64_t size = file_size(path);
  uint64_t keep = 0;
  {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) io_error("opening " + path);
    BackwardReader r(fd, path);
    std::optional<uint64_t> nl = r.prev_newline(size);
    ::close(fd);
    keep = nl ? *nl + 1 : 0;
  }
  if (keep < size) {
    cut_file(path, keep);
    cut_bytes_ += size - keep;
  }
  adopt(names.back(), keep);
  return std::nullopt;
}

// The record names the file and size the content ended at when it was written, after the lines
// were synced: what follows was written later and is streamed again, so it is cut.
std::optional<Checkpoint> DirOutput::recover_from_record() {
  std::string record_path = dir_ + "/" + kRecordName;
  std::optional<Checkpoint> cp = read_checkpoint_file(record_path);
  if (!cp) return std::nullopt;
  std::string text;
  {
    int fd = ::open(record_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) io_error("opening " + record_path);
    BackwardReader r(fd, record_path);
    text = r.read(0, static_cast<size_t>(file_size(record_path)));
    ::close(fd);
  }
  rapidjson::Document d;
  d.Parse(text.data(), text.size());
  auto file = d.IsObject() ? d.FindMember("file") : d.MemberEnd();
  auto size = d.IsObject() ? d.FindMember("size") : d.MemberEnd();
  if (file == d.MemberEnd() || !file->value.IsString() || size == d.MemberEnd() || !size->value.IsUint64())
    fail(ErrorKind::kData, record_path + ": not a position record (no \"file\" and \"size\")");
  std::string name(file->value.GetString(), file->value.GetStringLength());
  uint64_t end = size->value.GetUint64();
  std::vector<std::string> names = line_files(dir_);
  while (!names.empty() && names.back() > name) {
    std::string path = dir_ + "/" + names.back();
    cut_bytes_ += file_size(path);
    if (::unlink(path.c_str()) != 0) io_error("removing " + path);
    names.pop_back();
  }
  sync_dir(dir_);
  if (!names.empty() && names.back() == name) {
    std::string path = dir_ + "/" + name;
    uint64_t have = file_size(path);
    if (have < end)
      fail(ErrorKind::kData, path + " holds " + std::to_string(have) + " bytes, fewer than the " + std::to_string(end) +
                                 " its position record " + record_path + " vouches for: it was changed by hand");
    if (have > end) {
      cut_file(path, end);
      cut_bytes_ += have - end;
    }
  }
  if (!names.empty()) adopt(names.back(), file_size(dir_ + "/" + names.back()));
  position_ = cp;
  position_file_ = name_;
  position_size_ = size_;
  recorded_ = true;
  return cp;
}

// Appends to `name` while its stamp is the current one (and, with size rotation, its number).
void DirOutput::adopt(const std::string& name, uint64_t size) {
  // A record written before the next sync vouches for this content: make it durable first.
  if (position_record_) {
    std::string path = dir_ + "/" + name;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) io_error("syncing " + path);
    ::close(fd);
  }
  name_ = name;
  std::string stem = name_.substr(7, name_.size() - 11);
  if (rotate_size_ != 0) {
    size_t us = stem.rfind('_');
    if (us != std::string::npos) {
      seq_ = static_cast<unsigned>(std::strtoul(stem.c_str() + us + 1, nullptr, 10));
      stem.resize(us);
    }
  }
  stamp_ = stem;
  if (seq_ == 0) seq_ = 1;
  size_ = boundary_size_ = size;
}

void DirOutput::set_position(const Checkpoint& c) {
  if (!position_record_) return;
  if (recorded_ && position_ && position_->binlog == c.binlog && position_file_ == name_ && position_size_ == size_)
    return;
  position_ = c;
  position_file_ = name_;
  position_size_ = size_;
  recorded_ = false;
}

void DirOutput::write_record() {
  if (recorded_ || !position_) return;
  std::string doc = position_->to_json();
  doc.pop_back();  // the closing brace: the record is a checkpoint with two more members
  doc += ",\"file\":\"" + position_file_ + "\",\"size\":" + std::to_string(position_size_) + "}\n";
  write_file_atomic(dir_ + "/" + kRecordName, doc);
  recorded_ = true;
}

std::optional<Checkpoint> DirOutput::recover_native() {
  std::vector<std::string> names = line_files(dir_);
  while (!names.empty()) {
    std::string path = dir_ + "/" + names.back();
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) io_error("opening " + path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      io_error("reading " + path);
    }
    auto size = static_cast<uint64_t>(st.st_size);
    std::optional<LastCommit> c;
    try {
      c = last_commit(fd, size, path);
    } catch (...) {
      ::close(fd);
      throw;
    }
    if (c) {
      if (c->end < size) {
        if (::ftruncate(fd, static_cast<off_t>(c->end)) != 0 || ::fsync(fd) != 0) {
          ::close(fd);
          io_error("cutting the torn tail of " + path);
        }
        cut_bytes_ += size - c->end;
      }
      ::close(fd);
      adopt(names.back(), c->end);
      return c->where;
    }
    // Nothing complete in it (a torn first transaction, an empty file after a rotation): gone.
    ::close(fd);
    if (::unlink(path.c_str()) != 0) io_error("removing " + path);
    cut_bytes_ += size;
    names.pop_back();
  }
  sync_dir(dir_);
  return std::nullopt;
}

void DirOutput::open(const std::string& name) {
  std::string path = dir_ + "/" + name;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) io_error("opening " + path);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) io_error("opening " + path);
  size_ = boundary_size_ = static_cast<uint64_t>(st.st_size);
  name_ = name;
  out_ = std::make_unique<Output>(fd_, path, false);
  sync_dir(dir_);  // the new name is durable before lines in it are vouched for
}

void DirOutput::close_current() {
  if (fd_ < 0) return;
  out_->sync();
  out_.reset();
  if (::close(fd_) != 0) io_error("closing " + dir_ + "/" + name_);
  fd_ = -1;
}

void DirOutput::write(std::string_view lines) {
  if (lines.empty()) return;
  // The first lines of a run must not outrun the record: without one, a restart could not tell
  // them from older lines (the record then names the files as they were, and the start position).
  if (position_record_ && !wrote_ && !recorded_ && position_ && position_file_ == name_ && position_size_ == size_)
    write_record();
  wrote_ = true;
  if (fd_ < 0) {
    // A new period starts a new file; so does a full one. Otherwise the last file (recovered, or
    // a clock turned back) goes on: file names sort in the order of their lines.
    std::string now = stamp(clock_());
    if (name_.empty() || now > stamp_) {
      stamp_ = now;
      seq_ = 1;
    } else if (rotate_size_ != 0 && size_ >= rotate_size_) {
      ++seq_;
    }
    open(next_name(stamp_));
  }
  out_->write(lines);
  size_ += lines.size();
}

void DirOutput::boundary() {
  boundary_size_ = size_;
  if (fd_ < 0) return;
  bool by_time = stamp(clock_()) > stamp_;
  bool by_size = rotate_size_ != 0 && size_ >= rotate_size_;
  if (!by_time && !by_size) return;
  // Synced and closed here; the next write opens the next file (none when nothing follows).
  close_current();
  rowpipe::failpoint("mid-rotation");
}

void DirOutput::flush() {
  if (out_) out_->flush();
}

void DirOutput::sync() {
  if (out_) out_->sync();
  if (position_record_) write_record();  // after the lines it vouches for are on disk
}

bool DirOutput::drop_partial() {
  if (fd_ < 0) return true;
  out_->flush();
  if (::ftruncate(fd_, static_cast<off_t>(boundary_size_)) != 0) io_error("truncating " + dir_ + "/" + name_);
  size_ = boundary_size_;
  return true;
}

}  // namespace rowpipe::tail
