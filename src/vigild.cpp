// vigild: constructs the daemon application and runs it; nothing else.
#include <cstdio>
#include <filesystem>

#include <Poco/Exception.h>

#include "app/vigild_app.h"

int main(int argc, char** argv) {
  const std::string base_dir = std::filesystem::current_path().string();
  if (const std::string problem = vigil::app::precheckSettings(argc, argv, base_dir); !problem.empty()) {
    std::fprintf(stderr, "vigild: configuration error: %s\n", problem.c_str());
    return 78;  // EX_CONFIG
  }
  // --daemon changes directory to /, so a relative --pidfile is made absolute first.
  std::vector<std::string> args(argv, argv + argc);
  std::vector<char*> argp;
  for (auto& a : args) {
    if (a.rfind("--pidfile=", 0) == 0) {
      const std::filesystem::path p(a.substr(10));
      if (p.is_relative()) a = "--pidfile=" + (std::filesystem::path(base_dir) / p).string();
    }
    argp.push_back(a.data());
  }
  try {
    vigil::app::VigildApp app(base_dir);
    return app.run(static_cast<int>(argp.size()), argp.data());
  } catch (const Poco::Exception& e) {
    std::fprintf(stderr, "vigild: %s\n", e.displayText().c_str());
    return 64;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vigild: %s\n", e.what());
    return 70;  // EX_SOFTWARE
  }
}
