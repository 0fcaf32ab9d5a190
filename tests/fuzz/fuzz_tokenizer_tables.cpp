// libFuzzer target: building a tokenizer from hostile tables. A model from the Hub brings its own
// vocab.json / merges.txt / tokenizer.json or GGUF tokenizer.ggml.* arrays; all of them become
// TokenizerFiles, and Tokenizer::from_files must either refuse them with fvlm::Error or give a
// tokenizer that keeps its promises on any text (tokenizer_properties.h; the NFC round trip holds
// for any table it accepts: a merge's result is the concatenation of its two halves).
//
// The input is lines; the first byte of each says what it adds:
//   v<token>          vocabulary token at the next free id     i<id> <token>  vocabulary token at <id>
//   m<a> <b>          merge, in rank order                      a<token> / n<token>  special / plain added
//   token x                 ignore_merges (whole-word hits win)       t<text>        a text to encode
// The 256 single-byte tokens come first (ids 0..255), so that most tables get past them; an input
// with no t line encodes itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "decoder/byte_unicode.h"
#include "decoder/tokenizer.h"
#include "decoder/tokenizer_files.h"
#include "tests/fuzz/tokenizer_properties.h"

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
    for (std::string_view text : texts)
      fvlm::fuzz::check_tokenizer_promises("fuzz_tokenizer_tables", t, text);
  } catch (const fvlm::Error&) {
  }
  return 0;
}
