// mq-pipe sub: messages -> lines on stdout or on COMMAND's stdin, acknowledged only once handed on.
#include <poll.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "child.hpp"
#include "cli/error.hpp"
#include "cli/log.hpp"
#include "commands.hpp"
#include "io/output.hpp"
#include "io/signals.hpp"
#include "kafka_common.hpp"
#include "subscriber.hpp"

namespace rowpipe::mq {
namespace {

constexpr size_t kFetchBatch = 1000;
// Bytes received and not yet taken by COMMAND's pipe: receiving pauses above kPauseAt and resumes
// below kResumeAt (Kafka refetches what a pause dropped, so pausing often would cost).
constexpr size_t kPauseAt = 32 << 20;
constexpr size_t kResumeAt = 8 << 20;

// A message becomes one line: it must not hold a newline of its own.
void check_message(const Subscriber& sub, std::string_view body, const Mark& mark) {
  if (std::memchr(body.data(), '\n', body.size()) != nullptr)
    fail(ErrorKind::kData, sub.describe(mark) + ": the message holds a newline: it cannot be handed on as one line");
}

// Leaves the broker after an error without letting a second error hide the first.
void leave_quietly(Subscriber& sub) {
  try {
    sub.commit(true);
    sub.close();
  } catch (const Error& e) {
    log::debug(std::string("while leaving: ") + e.what());
  }
}

int to_stdout(const Config& c, Subscriber& sub) {
  Output out(STDOUT_FILENO, "stdout");
  std::vector<Mark> unflushed;
  uint64_t lines = 0;
  // AMQP: acknowledge before the prefetch window runs dry; Kafka: at least every 100k lines.
  const size_t flush_every = c.kafka ? 100'000 : std::max<size_t>(1, c.prefetch / 2);
  auto on_message = [&](std::string_view body, const Mark& mark) {
    check_message(sub, body, mark);
    out.write(body);
    out.put('\n');
    unflushed.push_back(mark);
    ++lines;
  };
  auto flush = [&] {
    if (unflushed.empty()) return;
    out.flush();
    for (const Mark& m : unflushed) sub.done(m);
    unflushed.clear();
    sub.commit(false);
  };
  try {
    for (;;) {
      if (signals::stop_requested()) {
        log::notice("stopping on signal: acknowledging what was written");
        break;
      }
      size_t n = sub.fetch(kFetchBatch, on_message);
      if (unflushed.size() >= flush_every) flush();
      if (n == 0 && !sub.more()) {
        flush();
        sub.commit(false);
        if (sub.at_end()) break;
        wait_readable(sub.fd(), -1, sub.wait_ms());
      }
    }
    flush();
  } catch (const BrokenPipe&) {
    leave_quietly(sub);  // what was flushed before the reader left is acknowledged
    throw;
  } catch (const Error&) {
    try {
      flush();
    } catch (...) {
      // stdout itself failed: nothing more is acknowledged
    }
    leave_quietly(sub);
    throw;
  }
  sub.commit(true);
  sub.close();
  if (!c.quiet) log::notice("wrote " + std::to_string(lines) + " lines from " + c.target());
  return 0;
}

class ToCommand {
 public:
  ToCommand(const Config& c, Subscriber& sub, Child& child) : c_(c), sub_(sub), child_(child) {}

  int run() {
    try {
      loop();
    } catch (const Error& e) {
      finish(false);
      leave_quietly(sub_);
      throw;
    }
    finish(true);
    sub_.commit(true);
    sub_.close();
    return report();
  }

 private:
  void loop() {
    auto on_message = [&](std::string_view body, const Mark& mark) {
      check_message(sub_, body, mark);
      pending_.append(body);
      pending_ += '\n';
      in_child_.push_back(mark);
      ++handed_;
    };
    for (;;) {
      if (!closing_ && signals::stop_requested()) {
        log::notice("stopping on signal: COMMAND gets the end of its input, then what it applied is acknowledged");
        closing_ = true;
      }
      if (closing_ && !stopped_) {
        sub_.stop();
        stopped_ = true;
      }
      size_t backlog = pending_.size() - written_;
      if (backlog > kPauseAt) paused_ = true;
      if (backlog < kResumeAt) paused_ = false;
      bool room = !paused_;
      if (!closing_) {
        sub_.pause(paused_);
        if (room) sub_.fetch(kFetchBatch, on_message);
        if (pending_.size() == written_ && sub_.at_end()) closing_ = true;
      } else {
        sub_.fetch(kFetchBatch, on_message);  // heartbeats and rebalances while COMMAND drains
      }
      feed();
      take_acks();
      sub_.commit(false);
      if (child_.stdout_closed() || child_.exited()) return;  // COMMAND ended (or will not ack again)
      if (!child_.stdin_open() && !closing_) return;          // COMMAND stopped reading
      wait(room);
    }
  }

  // Writes what is pending to COMMAND's stdin, as far as its pipe takes it.
  void feed() {
    while (written_ < pending_.size() && child_.stdin_open()) {
      size_t n = child_.write_some(std::string_view(pending_).substr(written_));
      if (n == 0) break;
      written_ += n;
    }
    if (written_ == pending_.size()) {
      pending_.clear();
      written_ = 0;
    } else if (written_ > (1 << 20)) {
      pending_.erase(0, written_);
      written_ = 0;
    }
    if (closing_ && pending_.empty() && child_.stdin_open()) child_.close_stdin();
  }

  void take_acks() {
    uint64_t count = child_.read_acks();
    if (count > handed_)
      fail(ErrorKind::kProtocol,
           "COMMAND acknowledged " + std::to_string(count) + " lines; it was given " + std::to_string(handed_));
    while (acked_ < count) {
      sub_.done(in_child_.front());
      in_child_.pop_front();
      ++acked_;
    }
  }

  void wait(bool room) {
    pollfd fds[3];
    nfds_t n = 0;
    bool listen = !closing_ && room;
    int timeout = closing_ ? 100 : sub_.wait_ms();
    if (listen && sub_.more()) timeout = 0;
    if (listen && sub_.fd() >= 0) fds[n++] = pollfd{sub_.fd(), POLLIN, 0};
    if (written_ < pending_.size() && child_.stdin_open()) fds[n++] = pollfd{child_.stdin_fd(), POLLOUT, 0};
    if (!child_.stdout_closed()) fds[n++] = pollfd{child_.stdout_fd(), POLLIN, 0};
    ::poll(fds, n, timeout);
  }

  // The end: COMMAND gets EOF, its last acknowledgements are read, it is reaped.
  void finish(bool parse_acks) {
    child_.close_stdin();
    while (!child_.stdout_closed()) {
      pollfd p{child_.stdout_fd(), POLLIN, 0};
      ::poll(&p, 1, 200);
      try {
        if (parse_acks)
          take_acks();
        else
          child_.read_acks();
      } catch (const Error& e) {
        if (parse_acks) throw;
      }
    }
    child_.wait();
  }

  int report() {
    uint64_t unacked = handed_ - acked_;
    int status = child_.status();
    std::string counts = std::to_string(acked_) + " of " + std::to_string(handed_) + " lines acknowledged";
    if (status != 0) {
      log::error("COMMAND " + child_.name() + " " + child_.describe() + "; " + counts +
                 (unacked > 0 ? "; the other " + std::to_string(unacked) + " are delivered again on restart" : ""));
      return status;
    }
    if (!closing_) log::warning("COMMAND " + child_.name() + " ended before its input did; " + counts);
    if (!c_.quiet)
      log::notice("handed " + std::to_string(handed_) + " lines from " + c_.target() + " to " + child_.name() + "; " +
                  counts);
    return 0;
  }

  const Config& c_;
  Subscriber& sub_;
  Child& child_;
  std::string pending_;  // lines not yet written to COMMAND, from written_ on
  size_t written_ = 0;
  std::deque<Mark> in_child_;  // marks of the lines COMMAND has and has not acknowledged, in order
  uint64_t handed_ = 0;
  uint64_t acked_ = 0;
  bool closing_ = false;
  bool stopped_ = false;
  bool paused_ = false;
};

}  // namespace

int run_sub(const Config& c) {
  if (c.command.empty()) {
    std::unique_ptr<Subscriber> sub = c.kafka ? make_kafka_subscriber(c) : make_amqp_subscriber(c);
    return to_stdout(c, *sub);
  }
  // COMMAND first: one that cannot run is a usage error before any broker is touched. Should the
  // broker fail us next, COMMAND gets the end of its input and exits.
  Child child(c.command);
  std::unique_ptr<Subscriber> sub = c.kafka ? make_kafka_subscriber(c) : make_amqp_subscriber(c);
  return ToCommand(c, *sub, child).run();
}

}  // namespace rowpipe::mq
