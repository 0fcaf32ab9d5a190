// libFuzzer target: the server's POST /v1/chat/completions body (cli/serve/openai_request.h), as a
// client on the network may send it: parse_chat_request on arbitrary bytes must either give a
// request that keeps its promises (messages ending with the user's, at most 4 stop strings, an image
// whose pixel buffer matches its size) or throw fvlm::Error. Anything else (crash, ASan/UBSan
// report, other exception, a broken promise: abort) is a bug. Images inside come as data URIs and
// go through the real decoder (OpenCV); file paths are refused (no --allow-files folder).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cli/serve/openai_request.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fvlm::cli::serve;
  static const ChatLimits limits;
  try {
    const ChatRequest r =
        parse_chat_request(std::string_view(reinterpret_cast<const char*>(data), size), limits);
    const auto& messages = r.request.messages;
    if (messages.empty() || messages.back().role != fvlm::ChatRole::kUser ||
        r.stop.size() > size_t(kMaxStopStrings))
      std::abort();
    if (const auto& img = r.request.image) {
      if (img->width <= 0 || img->height <= 0 ||
          img->rgb.size() != size_t(img->width) * size_t(img->height) * 3)
        std::abort();
    }
  } catch (const fvlm::Error&) {
  }
  return 0;
}
