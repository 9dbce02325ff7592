#pragma once
// Versioned schema migrations, applied in order, each in its own transaction. A migration once
// released is never edited: changes come as a new, higher version.

#include <string>
#include <vector>

namespace vigil::store {

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

const std::vector<Migration>& migrations();

}  // namespace vigil::store
