// Signal handlers that only set a flag; loops poll stop_requested() with bounded waits.
#include "io/signals.hpp"

#include <csignal>
#include <initializer_list>

namespace rowpipe::signals {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;
volatile std::sig_atomic_t g_stop = 0;

extern "C" void on_stop_signal(int signo) {
  g_stop_signal = signo;
  g_stop = 1;
}

}  // namespace

void install() {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGPIPE, &ignore, nullptr);

  // No SA_RESTART: a blocking read returns EINTR so the loop can notice the request.
  struct sigaction stop {};
  stop.sa_handler = on_stop_signal;
  sigemptyset(&stop.sa_mask);
  for (int signo : {SIGINT, SIGTERM, SIGHUP}) sigaction(signo, &stop, nullptr);
}

bool stop_requested() noexcept { return g_stop != 0; }
int stop_signal() noexcept { return static_cast<int>(g_stop_signal); }

void request_stop(int signo) noexcept {
  g_stop_signal = signo;
  g_stop = 1;
}

}  // namespace rowpipe::signals
