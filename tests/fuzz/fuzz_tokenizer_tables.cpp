// libFuzzer target: building a tokenizer from hostile tables. A model from the Hub brings its own
// vocab.json / merges.txt / tokenizer.json or GGUF tokenizer.ggml.* arrays; all of them become
// TokenizerFiles, and Tokenizer::from_files must either refuse them with fvlm::Error or give a
// tokenizer that keeps its promises on any text: every id inside it, the streaming decoder equal to
// decode(), and decode(encode(text)) == NFC(text) for well-formed UTF-8 without added tokens (any
// consistent merge table is lossless: a merge's result is the concatenation of its two halves).
//
// The input is lines; the first byte of each says what it adds:
//   v<token>          vocabulary token at the next free id     i<id> <token>  vocabulary token at <id>
//   m<a> <b>          merge, in rank order                      a<token> / n<token>  special / plain added
//   token x                 ignore_merges (whole-word hits win)       t<text>        a text to encode
// The 256 single-byte tokens come first (ids 0..255), so that most tables get past them; an input
// with no t line encodes itself.
#include <utf8proc.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "decoder/byte_unicode.h"
#include "decoder/tokenizer.h"
#include "decoder/tokenizer_files.h"
#include "decoder/utf8.h"

namespace {

void fail(const char* what) {
  std::fprintf(stderr, "fuzz_tokenizer_tables: %s\n", what);
  std::abort();
}

void check_text(const fvlm::Tokenizer& t, std::string_view text) {
  const std::vector<int32_t> ids = t.encode(text);
  bool added = false;
  for (int32_t id : ids) {
    if (id < 0 || id >= t.size()) fail("an id outside the tokenizer");
    added = added || t.is_added(id);
  }
  const std::string decoded = t.decode(ids);
  fvlm::StreamDecoder stream(t);
  std::string streamed;
  for (int32_t id : ids) streamed += stream.push(id);
  streamed += stream.flush();
  if (streamed != decoded) fail("the streamed text differs from decode()");
  if (added || !fvlm::utf8::is_valid(text)) return;
  utf8proc_uint8_t* nfc = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()), utf8proc_ssize_t(text.size()),
                   &nfc, utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) fail("utf8proc refused well-formed UTF-8");
  const bool same = decoded == std::string_view(reinterpret_cast<const char*>(nfc), size_t(n));
  std::free(nfc);
  if (!same) fail("decode(encode(text)) is not NFC(text)");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  fvlm::TokenizerFiles f;
  f.vocab_source = f.merges_source = "fuzz";
  for (int b = 0; b < 256; ++b) f.vocab.emplace_back(fvlm::bytes_to_byte_unicode(std::string(1, char(b))), b);
  int32_t next_id = 256;
  std::vector<std::string_view> texts;
  for (size_t pos = 0; pos < input.size();) {
    size_t end = input.find('\n', pos);
    if (end == std::string_view::npos) end = input.size();
    const std::string_view line = input.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    const std::string_view rest = line.substr(1);
    const size_t sp = rest.find(' ');
    switch (line[0]) {
      case 'v':
        f.vocab.emplace_back(std::string(rest), next_id++);
        break;
      case 'i':
        if (sp != std::string_view::npos)
          f.vocab.emplace_back(std::string(rest.substr(sp + 1)),
                               int32_t(std::strtol(std::string(rest.substr(0, sp)).c_str(), nullptr, 10)));
        break;
      case 'm':
        if (sp != std::string_view::npos)
          f.merges.emplace_back(std::string(rest.substr(0, sp)), std::string(rest.substr(sp + 1)));
        break;
      case 'a':
      case 'n':
        f.added.push_back({next_id++, std::string(rest), line[0] == 'a'});
        break;
      case 'x':
        f.ignore_merges = true;
        break;
      case 't':
        texts.push_back(rest);
        break;
      default:
        break;
    }
  }
  try {
    const fvlm::Tokenizer t = fvlm::Tokenizer::from_files(f);
    if (texts.empty()) texts.push_back(input);
    for (std::string_view text : texts) check_text(t, text);
  } catch (const fvlm::Error&) {
  }
  return 0;
}
