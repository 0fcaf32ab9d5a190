// What every tokenizer promises on any text, checked by both tokenizer fuzzers: every id is inside
// the tokenizer; the streaming decoder, fed the ids one by one, gives exactly what decode() gives;
// and well-formed UTF-8 without added tokens comes back from decode(encode(text)) as its NFC form
// (the tokenizer's normaliser; added tokens are matched before it runs, so text around them may
// compose differently and is not compared). A broken promise aborts, naming it.
#pragma once
#include <utf8proc.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "decoder/tokenizer.h"
#include "decoder/utf8.h"

namespace fvlm::fuzz {

[[noreturn]] inline void broken_promise(const char* fuzzer, const char* what) {
  std::fprintf(stderr, "%s: %s\n", fuzzer, what);
  std::abort();
}

inline void check_tokenizer_promises(const char* fuzzer, const Tokenizer& t, std::string_view text) {
  const std::vector<int32_t> ids = t.encode(text);
  bool added = false;
  for (int32_t id : ids) {
    if (id < 0 || id >= t.size()) broken_promise(fuzzer, "an id outside the tokenizer");
    added = added || t.is_added(id);
  }
  const std::string decoded = t.decode(ids);
  StreamDecoder stream(t);
  std::string streamed;
  for (int32_t id : ids) streamed += stream.push(id);
  streamed += stream.flush();
  if (streamed != decoded) broken_promise(fuzzer, "the streamed text differs from decode()");
  if (added || !utf8::is_valid(text)) return;
  utf8proc_uint8_t* nfc = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()), utf8proc_ssize_t(text.size()),
                   &nfc, utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) broken_promise(fuzzer, "utf8proc refused well-formed UTF-8");
  const bool same = decoded == std::string_view(reinterpret_cast<const char*>(nfc), size_t(n));
  std::free(nfc);
  if (!same) broken_promise(fuzzer, "decode(encode(text)) is not NFC(text)");
}

}  // namespace fvlm::fuzz
