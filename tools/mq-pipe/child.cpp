// Starting COMMAND with pipes, feeding it, reading its acknowledgements, reaping it.
#include "child.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "cli/error.hpp"
#include "event/position.hpp"

extern char** environ;

namespace rowpipe::mq {
namespace {

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

uint64_t AckParser::feed(std::string_view bytes) {
  partial_.append(bytes);
  size_t start = 0;
  for (;;) {
    size_t nl = partial_.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view text(partial_.data() + start, nl - start);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    std::optional<uint64_t> n = parse_u64(text);
    if (!n)
      fail(ErrorKind::kProtocol,
           "COMMAND printed \"" + std::string(text.substr(0, 80)) +
               "\" on stdout, not an --ack count (run it with --ack, and nothing else on stdout)");
    if (*n < count_)
      fail(ErrorKind::kProtocol,
           "COMMAND's --ack count went back from " + std::to_string(count_) + " to " + std::to_string(*n));
    count_ = *n;
    start = nl + 1;
  }
  partial_.erase(0, start);
  if (partial_.size() > 64) fail(ErrorKind::kProtocol, "COMMAND printed a long line on stdout, not an --ack count");
  return count_;
}

Child::Child(const std::vector<std::string>& argv) : name_(argv.empty() ? std::string() : argv[0]) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0)
    fail(ErrorKind::kInternal, std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // We ignore SIGPIPE; an ignored signal would stay ignored across exec.
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGHUP}) sigaddset(&defaults, s);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int err = posix_spawnp(&pid_, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  ::close(out[1]);
  in_ = in[1];
  out_ = out[0];
  if (err != 0) {
    close_fd(in_);
    close_fd(out_);
    pid_ = -1;
    fail(ErrorKind::kUsage, "cannot run COMMAND " + name_ + ": " + std::strerror(err));
  }
  ::fcntl(in_, F_SETFL, ::fcntl(in_, F_GETFL) | O_NONBLOCK);
  ::fcntl(out_, F_SETFL, ::fcntl(out_, F_GETFL) | O_NONBLOCK);
}

Child::~Child() {
  close_fd(in_);
  close_fd(out_);
  if (pid_ <= 0 || status_) return;
  // Only on an error path: the child got EOF above and should end by itself. Do not leave a zombie,
  // nor wait for ever on a COMMAND that ignores its input: SIGTERM after 10 s, SIGKILL after 15.
  for (int tenths = 0;; ++tenths) {
    int wstatus = 0;
    pid_t r = ::waitpid(pid_, &wstatus, WNOHANG);
    if (r == pid_ || (r < 0 && errno != EINTR)) return;
    if (tenths == 100) ::kill(pid_, SIGTERM);
    if (tenths == 150) ::kill(pid_, SIGKILL);
    ::usleep(100'000);
  }
}

size_t Child::write_some(std::string_view bytes) {
  if (in_ < 0 || bytes.empty()) return 0;
  for (;;) {
    ssize_t n = ::write(in_, bytes.data(), bytes.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return 0;
    if (errno == EPIPE) {
      close_fd(in_);
      return 0;
    }
    fail(ErrorKind::kIo, "writing to COMMAND " + name_ + ": " + std::strerror(errno));
  }
}

void Child::close_stdin() { close_fd(in_); }

uint64_t Child::read_acks() {
  char buf[4096];
  while (out_ >= 0) {
    ssize_t n = ::read(out_, buf, sizeof buf);
    if (n > 0) {
      acks_.feed(std::string_view(buf, static_cast<size_t>(n)));
      continue;
    }
    if (n == 0) {
      close_fd(out_);
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) break;
    fail(ErrorKind::kIo, "reading from COMMAND " + name_ + ": " + std::strerror(errno));
  }
  return acks_.count();
}

void Child::record(int wstatus) {
  raw_status_ = wstatus;
  if (WIFEXITED(wstatus))
    status_ = WEXITSTATUS(wstatus);
  else if (WIFSIGNALED(wstatus))
    status_ = 128 + WTERMSIG(wstatus);
  else
    status_ = 70;
}

bool Child::exited() {
  if (status_) return true;
  int wstatus = 0;
  pid_t r = ::waitpid(pid_, &wstatus, WNOHANG);
  if (r == pid_) {
    record(wstatus);
    return true;
  }
  return false;
}

void Child::wait() {
  if (status_) return;
  int wstatus = 0;
  for (;;) {
    pid_t r = ::waitpid(pid_, &wstatus, 0);
    if (r == pid_) break;
    if (r < 0 && errno != EINTR) {
      status_ = 70;
      return;
    }
  }
  record(wstatus);
}

std::string Child::describe() const {
  if (!status_) return "is running";
  if (WIFSIGNALED(raw_status_)) return std::string("was killed by signal ") + std::to_string(WTERMSIG(raw_status_));
  return "exited with status " + std::to_string(*status_);
}

}  // namespace rowpipe::mq
