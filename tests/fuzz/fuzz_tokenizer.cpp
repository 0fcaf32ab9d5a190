// libFuzzer target: the Qwen2 tokenizer on arbitrary bytes (under serve, prompts come from the
// network). For every input: every id is inside the vocabulary; the streaming decoder, fed the ids
// one by one, gives exactly what decode gives; and well-formed UTF-8 without added tokens comes back
// from decode(encode(text)) as its NFC form (the tokenizer's normaliser; added tokens are matched
// before it runs, so text around them may compose differently and is not compared). Anything else
// (crash, ASan/UBSan report, exception, a broken property: abort) is a bug. The tokenizer files are
// the golden checkpoint's, named by FVLM_FUZZ_TOKENIZER (tests/CMakeLists.txt).
#include <utf8proc.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "decoder/tokenizer.h"
#include "decoder/utf8.h"

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

void fail(const char* what) {
  std::fprintf(stderr, "fuzz_tokenizer: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fvlm::Tokenizer& t = tokenizer();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::vector<int32_t> ids = t.encode(text);
  bool added = false;
  for (int32_t id : ids) {
    if (id < 0 || id >= t.size()) fail("an id outside the vocabulary");
    added = added || t.is_added(id);
  }
  const std::string decoded = t.decode(ids);
  fvlm::StreamDecoder stream(t);
  std::string streamed;
  for (int32_t id : ids) streamed += stream.push(id);
  streamed += stream.flush();
  if (streamed != decoded) fail("the streamed text differs from decode()");
  if (added || !fvlm::utf8::is_valid(text)) return 0;
  utf8proc_uint8_t* nfc = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(data, utf8proc_ssize_t(size), &nfc, utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) fail("utf8proc refused well-formed UTF-8");
  const bool same = decoded == std::string_view(reinterpret_cast<const char*>(nfc), size_t(n));
  std::free(nfc);
  if (!same) fail("decode(encode(text)) is not NFC(text)");
  return 0;
}
