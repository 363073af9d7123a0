// libFuzzer target: the JSON-lines reader and event parser on arbitrary bytes, then a round trip
// of whatever it accepts (render, parse again, render again: the same bytes).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cli/error.hpp"
#include "event/event.hpp"
#include "event/key_template.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  static rowpipe::EventParser parser;
  static const auto key = rowpipe::KeyTemplate::compile("{db}_{table}_{pk}");
  std::string first;
  try {
    const rowpipe::Event& e = parser.parse(line);
    rowpipe::append_event_line(first, e);
    if (const rowpipe::JsonValue* image = e.key_image(); image != nullptr && !e.pk.empty()) {
      try {
        key.render(e, *image);
      } catch (const rowpipe::Error&) {
      }
    }
  } catch (const rowpipe::Error&) {
    return 0;  // rejected cleanly
  }
  rowpipe::EventParser again;
  std::string second;
  rowpipe::append_event_line(second, again.parse(first));
  if (first != second) __builtin_trap();
  return 0;
}
