#include "core/memory.h"

#include <malloc.h>

namespace vigil::core {

void releaseFreeMemory() { malloc_trim(0); }

}  // namespace vigil::core
