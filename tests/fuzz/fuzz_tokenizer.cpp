// libFuzzer target: the Qwen2 tokenizer on arbitrary bytes (under serve, prompts come from the
// network): every input must keep the tokenizer's promises (tokenizer_properties.h: ids inside the
// vocabulary, streamed text == decode(), decode(encode(text)) == NFC(text) for well-formed UTF-8
// without added tokens). Anything else (crash, ASan/UBSan report, exception, a broken promise:
// abort) is a bug. The tokenizer files are the golden checkpoint's, named by FVLM_FUZZ_TOKENIZER
// (tests/CMakeLists.txt).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "decoder/tokenizer.h"
#include "tests/fuzz/tokenizer_properties.h"

namespace {

const fvlm::Tokenizer& tokenizer() {
  static const fvlm::Tokenizer t = [] {
    const char* dir = std::getenv("FVLM_FUZZ_TOKENIZER");
    if (!dir) {
      std::fprintf(stderr, "fuzz_tokenizer: set FVLM_FUZZ_TOKENIZER to a model directory\n");
      std::abort();
    }
    return fvlm::Tokenizer::load(dir);
  }();
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fvlm::fuzz::check_tokenizer_promises("fuzz_tokenizer", tokenizer(),
                                       std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
