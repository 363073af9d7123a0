// Checkpoint documents and atomic file replacement.
#include "io/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <rapidjson/document.h>
#include <cerrno>
#include <cstring>

#include "cli/error.hpp"
#include "event/json_writer.hpp"

namespace rowpipe {
namespace {

std::string errno_text() { return std::strerror(errno); }

}  // namespace

bool Checkpoint::covers(const RowPosition& pos) const {
  if (pos.pos < binlog) return true;
  return applied && pos <= *applied;
}

std::string Checkpoint::to_json() const {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.key("binlog").string(binlog.str());
  if (server_id) w.key("server_id").integer(*server_id);
  if (!gtid.empty()) w.key("gtid").string(gtid);
  if (applied) w.key("applied").string(applied->str());
  w.end_object();
  return out;
}

Checkpoint Checkpoint::parse(std::string_view json, std::string_view origin) {
  auto bad = [&](const std::string& what) {
    fail(ErrorKind::kConfig, std::string(origin) + ": not a rowpipe checkpoint: " + what);
  };
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) bad("invalid JSON");
  Checkpoint c;
  auto it = doc.FindMember("binlog");
  if (it == doc.MemberEnd() || !it->value.IsString()) bad("missing \"binlog\"");
  auto pos = Position::parse({it->value.GetString(), it->value.GetStringLength()});
  if (!pos) bad("\"binlog\" must be FILE:POS");
  c.binlog = std::move(*pos);
  if (auto s = doc.FindMember("server_id"); s != doc.MemberEnd() && !s->value.IsNull()) {
    if (!s->value.IsUint()) bad("\"server_id\" must be an unsigned integer");
    c.server_id = s->value.GetUint();
  }
  if (auto g = doc.FindMember("gtid"); g != doc.MemberEnd() && !g->value.IsNull()) {
    if (!g->value.IsString()) bad("\"gtid\" must be a string");
    c.gtid.assign(g->value.GetString(), g->value.GetStringLength());
  }
  if (auto a = doc.FindMember("applied"); a != doc.MemberEnd() && !a->value.IsNull()) {
    if (!a->value.IsString()) bad("\"applied\" must be FILE:POS:ROW");
    auto rp = RowPosition::parse({a->value.GetString(), a->value.GetStringLength()});
    if (!rp) bad("\"applied\" must be FILE:POS:ROW");
    c.applied = std::move(*rp);
  }
  return c;
}

std::optional<Checkpoint> read_checkpoint_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    fail(ErrorKind::kIo, "reading checkpoint " + path + ": " + errno_text());
  }
  std::string content;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      ::close(fd);
      errno = saved;
      fail(ErrorKind::kIo, "reading checkpoint " + path + ": " + errno_text());
    }
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
    if (content.size() > (1 << 20)) {
      ::close(fd);
      fail(ErrorKind::kConfig, path + ": not a rowpipe checkpoint: too large");
    }
  }
  ::close(fd);
  return Checkpoint::parse(content, path);
}

void write_file_atomic(const std::string& path, std::string_view content) {
  std::string dir = ".";
  std::string base = path;
  if (size_t slash = path.rfind('/'); slash != std::string::npos) {
    dir = slash == 0 ? "/" : path.substr(0, slash);
    base = path.substr(slash + 1);
  }
  std::string tmp = (dir == "/" ? "" : dir) + "/." + base + ".tmp" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(ErrorKind::kIo, "writing " + path + ": " + errno_text());
  auto abandon = [&](const std::string& step) {
    std::string msg = "writing " + path + " (" + step + "): " + errno_text();
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(ErrorKind::kIo, msg);
  };
  while (!content.empty()) {
    ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) abandon("write");
    content.remove_prefix(static_cast<size_t>(n));
  }
  if (::fsync(fd) != 0) abandon("fsync");
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    fail(ErrorKind::kIo, "writing " + path + " (close): " + errno_text());
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string msg = "writing " + path + " (rename): " + errno_text();
    ::unlink(tmp.c_str());
    fail(ErrorKind::kIo, msg);
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // makes the rename durable; some filesystems refuse, which is harmless here
    ::close(dfd);
  }
}

void write_checkpoint_file(const std::string& path, const Checkpoint& checkpoint) {
  write_file_atomic(path, checkpoint.to_json() + "\n");
}

}  // namespace rowpipe
