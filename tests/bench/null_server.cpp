// The HTTP ceiling: Poco's HTTPServer configured as vigild's (threads, keep-alive) with a
// handler that reads the body and answers 200 with a small JSON body. No auth, no JSON, no disk.
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/ThreadPool.h>
#include <Poco/Util/ServerApplication.h>

#include <iostream>

namespace {
class Ok final : public Poco::Net::HTTPRequestHandler {
 public:
  void handleRequest(Poco::Net::HTTPServerRequest& in, Poco::Net::HTTPServerResponse& out) override {
    char buf[8192];
    while (in.stream().read(buf, sizeof buf) || in.stream().gcount() > 0) {
    }
    static const std::string kBody = "{\"ok\":true}";
    out.setContentType("application/json");
    out.setContentLength(static_cast<std::streamsize>(kBody.size()));
    out.send() << kBody;
  }
};
class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override { return new Ok; }
};
class App final : public Poco::Util::ServerApplication {
  int main(const std::vector<std::string>& args) override {
    const auto port = static_cast<Poco::UInt16>(args.empty() ? 18090 : std::stoi(args[0]));
    Poco::ThreadPool pool("null", 2, 66);
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(64);
    params->setMaxQueued(256);
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(0);
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", port), 256);
    Poco::Net::HTTPServer server(new Factory, pool, socket, params);
    server.start();
    std::cout << "null server on 127.0.0.1:" << port << std::endl;
    waitForTerminationRequest();
    server.stopAll(true);
    return EXIT_OK;
  }
};
}  // namespace

int main(int argc, char** argv) {
  App app;
  return app.run(argc, argv);
}
