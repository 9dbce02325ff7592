// The properties loader (vigild's and vigilctl's settings): any file either loads or is refused
// with a SettingsError message; nothing else may escape.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "app/settings.h"

using namespace vigil;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/vigil-fuzz-props-XXXXXX";
    if (!::mkdtemp(tmpl)) std::abort();
    return std::string(tmpl);
  }();
  const std::string path = dir + "/vigil.properties";
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << "ctcae.dir = " VIGIL_SOURCE_DIR "/ctcae\nalerts.dir = " VIGIL_SOURCE_DIR "/alerts\n";
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    (void)app::loadSettings(path, {}, dir, app::PathChecks{.store_dir = false, .log_dir = false});
  } catch (const app::SettingsError& e) {
    if (std::string(e.what()).empty()) std::abort();
  }
  return 0;
}
