#pragma once
// The heap's free memory, given back to the system.

namespace vigil::core {

// Returns free heap pages to the system (glibc's malloc_trim, over every thread's arena). A
// write's evaluation of a long history, the sweep over every participant or a 10,000-row lab file
// peak at tens or hundreds of MB; freed, that memory stays mapped for reuse, so vigild's resident
// memory would stay at its highest (400 MB after the benchmark's lab batches; issue 13). Costs a
// walk of the free lists: call it after such work, not per small request.
void releaseFreeMemory();

}  // namespace vigil::core
