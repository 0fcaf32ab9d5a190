// Batch output under attack (issue 10 items 1-6): a full disk, a file size limit, a torn last line,
// settings changed between runs, the same folder spelled twice, a second writer, a symlink loop in
// the folder, an image or a binary file as INPUT. Each input is built here; each case checks the
// documented error object and exit code, and that the results file holds whole lines only.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "tests/e2e/batch_fixture.h"

using namespace fvlm::test;
namespace fs = std::filesystem;

namespace {

void check_whole_ok_lines(const JsonLines& f) {
  CHECK(f.whole);
  for (const auto& j : f.lines) {
    REQUIRE(j.is_object());
    CHECK(j["key"].is_string());
  }
}

int count_ok(const JsonLines& f) {
  int n = 0;
  for (const auto& j : f.lines) n += j.is_object() && j.value("ok", false);
  return n;
}

}  // namespace

TEST_CASE("hostile batch: -o /dev/full is io_error (exit 74), saying how many results were saved") {
  const fs::path dir = make_image_folder("full_disk", 2);
  const auto r = run_cli_env("", "batch " + q(dir) + " " + model_arg() + " -o /dev/full");
  CHECK(r.run.exit_code == 74);
  REQUIRE(!r.run.lines.empty());
  const auto& last = r.run.lines.back();
  CHECK(last["ok"] == false);
  CHECK(last["error"]["code"] == "io_error");
  CHECK(last["error"]["message"].get<std::string>().find("No space left") != std::string::npos);
  CHECK(last["error"]["detail"]["saved"] == 0);
  CHECK(r.err.find("0 results of this run are saved") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("hostile batch: a file size limit mid-line leaves whole lines only, and resume finishes") {
  const fs::path dir = make_image_folder("fsize", 3);
  const fs::path out = dir / "out.jsonl";
  // 1 KiB limit: the first result line (~600 bytes) fits, the second is cut by the kernel (short
  // write, then EFBIG). SIGXFSZ is ignored so that the write fails instead of killing the process.
  const auto r =
      run_cli_env("trap '' XFSZ; ulimit -f 2;", "batch " + q(dir) + " " + model_arg() + " -o " + q(out));
  CHECK(r.run.exit_code == 74);
  REQUIRE(!r.run.lines.empty());
  CHECK(r.run.lines.back()["error"]["code"] == "io_error");
  const JsonLines f = read_jsonl(out);
  check_whole_ok_lines(f);
  CHECK(f.lines.size() == r.run.lines.back()["error"]["detail"]["saved"].get<size_t>());
  CHECK(f.lines.size() < 3);
  // Without the limit, --resume answers exactly the missing images.
  const auto again = run_cli_env("", "batch " + q(dir) + " " + model_arg() + " -o " + q(out) + " --resume");
  CHECK(again.run.exit_code == 0);
  const JsonLines g = read_jsonl(out);
  check_whole_ok_lines(g);
  CHECK(g.lines.size() == 3);
  CHECK(count_ok(g) == 3);
  CHECK(images_of(g.lines).size() == 3);
  fs::remove_all(dir);
}

TEST_CASE("hostile batch: a torn last line is cut on --resume, never glued to") {
  const fs::path dir = make_image_folder("torn", 2);
  const fs::path out = temp_path("torn.jsonl");
  fs::remove(out);
  REQUIRE(run_cli_env("", "batch " + q(dir) + " " + model_arg() + " -o " + q(out)).run.exit_code == 0);
  // A run killed in the middle of its last write: the file ends inside the second line.
  std::string text = read_text(out);
  const size_t torn_at = text.rfind('\n', text.size() - 2) + 1 + 40;
  text.resize(torn_at);
  std::ofstream(out, std::ios::binary | std::ios::trunc) << text;
  const auto r = run_cli_env("", "batch " + q(dir) + " " + model_arg() + " -o " + q(out) + " --resume");
  CHECK(r.run.exit_code == 0);
  CHECK(r.err.find("torn last line") != std::string::npos);
  CHECK(r.run.lines.size() == 1);  // only the image whose line was torn
  const JsonLines f = read_jsonl(out);
  check_whole_ok_lines(f);
  CHECK(f.lines.size() == 2);
  CHECK(images_of(f.lines).size() == 2);
  fs::remove_all(dir);
  fs::remove(out);
}

TEST_CASE("hostile batch: --resume with another task or generation option answers again") {
  const fs::path dir = make_image_folder("rekey", 2);
  const fs::path out = temp_path("rekey.jsonl");
  fs::remove(out);
  const std::string base = "batch " + q(dir) + " " + model_arg() + " -o " + q(out) + " --resume";
  REQUIRE(run_cli_env("", base + " --task ocr").run.lines.size() == 2);
  CHECK(run_cli_env("", base + " --task ocr").run.lines.size() == 0);       // same settings: all done
  CHECK(run_cli_env("", base + " --task describe").run.lines.size() == 2);  // the case
  CHECK(run_cli_env("", base + " --task ask --question 'Total?'").run.lines.size() == 2);
  CHECK(run_cli_env("", base + " --task ask --question 'Date?'").run.lines.size() == 2);
  CHECK(run_cli_env("", base + " --task ocr --system 'Be terse.'").run.lines.size() == 2);
  CHECK(run_cli_env("", base + " --task ocr --resolution 128").run.lines.size() == 2);
  CHECK(run_cli_env("", base + " --task ocr --temperature 0.7 --seed 3").run.lines.size() == 2);
  CHECK(run_cli_env("", base + " --task ocr --temperature 0.7 --seed 3").run.lines.size() == 0);
  const JsonLines f = read_jsonl(out);
  check_whole_ok_lines(f);
  CHECK(f.lines.size() == 14);
  std::set<std::string> keys;
  for (const auto& j : f.lines) keys.insert(j["key"].get<std::string>());
  CHECK(keys.size() == 14);
  for (const auto& k : keys) CHECK(std::regex_match(k, std::regex("[0-9a-f]{16}")));
  // The image itself is part of the key: a file rewritten in place is answered again.
  fs::copy_file(golden_image("gray.png"), dir / "img00.png", fs::copy_options::overwrite_existing);
  CHECK(run_cli_env("", base + " --task ocr").run.lines.size() == 1);
  fs::remove_all(dir);
  fs::remove(out);
}

TEST_CASE("hostile batch: 'dir', './dir/' and the absolute path are the same images for --resume") {
  const fs::path dir = make_image_folder("spelled", 2);
  const fs::path parent = dir.parent_path();
  const std::string name = dir.filename().string();
  const fs::path out = temp_path("spelled.jsonl");
  fs::remove(out);
  const std::string opts = " " + model_arg() + " -o " + q(out) + " --resume";
  REQUIRE(run_cli_env("cd " + q(parent) + " &&", "batch " + name + opts).run.lines.size() == 2);
  CHECK(run_cli_env("cd " + q(parent) + " &&", "batch ./" + name + "/" + opts).run.lines.size() == 0);
  CHECK(run_cli_env("", "batch " + q(dir) + opts).run.lines.size() == 0);
  fs::create_directory_symlink(dir, temp_path("spelled_link"));
  CHECK(run_cli_env("", "batch " + q(temp_path("spelled_link")) + opts).run.lines.size() == 0);
  fs::remove(temp_path("spelled_link"));
  fs::remove_all(dir);
  fs::remove(out);
}

TEST_CASE("hostile batch: a second writer of the same output is refused with io_error") {
  const fs::path dir = make_image_folder("locked", 1);
  const fs::path out = temp_path("locked.jsonl");
  std::ofstream(out) << "{\"ok\":true}\n";
  // Hold the lock as a running fastvlm batch would.
  const int fd = ::open(out.c_str(), O_RDWR | O_APPEND);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
  const auto r = run_cli_env("", "batch " + q(dir) + " " + model_arg() + " -o " + q(out));
  CHECK(r.run.exit_code == 74);
  REQUIRE(r.run.lines.size() == 1);
  CHECK(r.run.lines[0]["error"]["code"] == "io_error");
  CHECK(r.run.lines[0]["error"]["message"].get<std::string>().find("locked") != std::string::npos);
  CHECK(read_text(out) == "{\"ok\":true}\n");  // untouched
  ::close(fd);
  // Released: the same command now runs.
  CHECK(run_cli_env("", "batch " + q(dir) + " " + model_arg() + " -o " + q(out)).run.exit_code == 0);
  fs::remove_all(dir);
  fs::remove(out);
}

TEST_CASE(
    "hostile batch: a symlink loop or dangling link in the folder is one ok:false line and the batch goes "
    "on") {
  const fs::path dir = make_image_folder("loop", 2);
  fs::create_symlink("self.jpg", dir / "self.jpg");  // ELOOP
  fs::create_symlink("b.png", dir / "a.png");        // a -> b -> a
  fs::create_symlink("a.png", dir / "b.png");
  fs::create_symlink("missing.png", dir / "dangling.png");
  fs::create_directories(dir / "sub");
  fs::copy_file(golden_image("wide.png"), dir / "sub" / "deep.png");
  fs::create_directory_symlink("..", dir / "sub" / "up");  // a folder loop: never followed
  const auto r = run_cli_env("", "batch " + q(dir) + " -r " + model_arg());
  CHECK(r.run.exit_code == 1);
  REQUIRE(r.run.lines.size() == 7);
  int ok = 0;
  for (const auto& j : r.run.lines) {
    REQUIRE(j.is_object());
    const std::string image = j["image"];
    const bool bad = image.ends_with("self.jpg") || image.ends_with("/a.png") || image.ends_with("/b.png") ||
                     image.ends_with("dangling.png");
    CAPTURE(image);
    CHECK(j["ok"] == !bad);
    if (bad) CHECK(j["error"]["code"] == "not_found");
    if (image.ends_with("self.jpg"))
      CHECK(j["error"]["message"].get<std::string>().find("symbolic links") != std::string::npos);
    ok += j["ok"] == true;
  }
  CHECK(ok == 3);  // img00, img01, sub/deep
  fs::remove_all(dir);
}

TEST_CASE("hostile batch: an image as INPUT is a batch of one, found by content or by name") {
  const auto jpg = run_cli_env("", "batch '" + golden_image("square.jpg") + "' " + model_arg());
  CHECK(jpg.run.exit_code == 0);
  REQUIRE(jpg.run.lines.size() == 1);
  CHECK(jpg.run.lines[0]["ok"] == true);
  CHECK(jpg.run.lines[0]["image"] == golden_image("square.jpg"));
  // A PNG without an image extension: recognised by its signature.
  const fs::path renamed = temp_path("photo.dat");
  fs::copy_file(golden_image("wide.png"), renamed, fs::copy_options::overwrite_existing);
  const auto png = run_cli_env("", "batch " + q(renamed) + " " + model_arg());
  CHECK(png.run.exit_code == 0);
  REQUIRE(png.run.lines.size() == 1);
  CHECK(png.run.lines[0]["ok"] == true);
  // A corrupt .jpg is one bad image, not a list of garbage paths.
  const fs::path corrupt = temp_path("corrupt.jpg");
  std::ofstream(corrupt, std::ios::binary) << std::string("\xFF\xD8\xFF\xE0 truncated", 14);
  const auto bad = run_cli_env("", "batch " + q(corrupt) + " " + model_arg());
  REQUIRE(bad.run.lines.size() == 1);
  CHECK(bad.run.lines[0]["error"]["code"] == "bad_image");
  CHECK(bad.run.exit_code == 1);
  fs::remove(renamed);
  fs::remove(corrupt);
}

TEST_CASE("hostile batch: a list with NUL bytes or invalid UTF-8 is bad_args (exit 2)") {
  const fs::path list = temp_path("bad_list.txt");
  const std::pair<std::string, std::string> cases[] = {
      {"nul", std::string("a.png\n\0\0\x01gz", 11)},
      {"invalid utf-8", "caf\xC3(.png\n"},
      {"overlong", "x\xC0\xAF.png\n"},
      {"truncated sequence", "x.png\n\xE2\x82"},
  };
  for (const auto& [what, bytes] : cases) {
    CAPTURE(what);
    std::ofstream(list, std::ios::binary | std::ios::trunc) << bytes;
    for (const std::string& how : {"batch " + q(list), "batch - < " + q(list)}) {
      const auto r = run_cli_env("", how + " " + model_arg());
      CHECK(r.run.exit_code == 2);
      REQUIRE(r.run.lines.size() == 1);
      CHECK(r.run.lines[0]["ok"] == false);
      CHECK(r.run.lines[0]["error"]["code"] == "bad_args");
    }
  }
  // Valid UTF-8 (an accented comment) is a list as before.
  std::ofstream(list, std::ios::binary | std::ios::trunc) << "# caf\xC3\xA9 receipts\n"
                                                          << golden_image("tall.png") << "\n";
  const auto ok = run_cli_env("", "batch " + q(list) + " " + model_arg());
  CHECK(ok.run.exit_code == 0);
  CHECK(ok.run.lines.size() == 1);
  fs::remove(list);
}

TEST_CASE("hostile batch: a result line over 8 KB goes to the file in one write(2), newline included") {
  std::string ignored;
  REQUIRE_MESSAGE(run_command("strace -V >/dev/null 2>&1", ignored) == 0,
                  "strace(1) is needed for this test");
  const fs::path out = temp_path("long.jsonl"), trace = temp_path("long.trace");
  fs::remove(out);
  // 1200 generated ids make a ~14 KB line; one thread keeps strace's overhead small.
  const std::string cmd = traced_prefix() + "strace -f -y -s 0 -e trace=write -o " + q(trace) + " " +
                          quoted_cli() + " batch '" + golden_image("wide.png") + "' -m '" + tiny_model() +
                          "' --max-tokens 1200 --ignore-eos -t 1 -o " + q(out) + " >/dev/null 2>&1";
  REQUIRE(run_command(cmd, ignored) == 0);
  const std::string text = read_text(out);
  REQUIRE(text.size() > 8192);
  CHECK(text.back() == '\n');
  std::vector<std::string> writes;  // the write calls on the output file
  std::istringstream in(read_text(trace));
  for (std::string line; std::getline(in, line);)
    if (line.find("write(") != std::string::npos && line.find(out.string() + ">") != std::string::npos)
      writes.push_back(line);
  REQUIRE(writes.size() == 1);
  CHECK(writes[0].find(") = " + std::to_string(text.size())) != std::string::npos);
  fs::remove(out);
  fs::remove(trace);
}
