// vigilctl: constructs the admin CLI application and runs it; nothing else.
#include <cstdio>
#include <filesystem>

#include <Poco/Exception.h>

#include "app/vigilctl_app.h"

int main(int argc, char** argv) {
  try {
    vigil::app::VigilctlApp app(std::filesystem::current_path().string());
    app.init(argc, argv);
    return app.run();
  } catch (const Poco::Exception& e) {
    std::fprintf(stderr, "vigilctl: %s\n", e.displayText().c_str());
    return 64;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vigilctl: %s\n", e.what());
    return 64;
  }
}
