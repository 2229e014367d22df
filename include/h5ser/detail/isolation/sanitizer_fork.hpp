// h5ser/detail/isolation/sanitizer_fork.hpp: AddressSanitizer's locks, held across the fork of an
// isolated parse by runtimes that do not hold them themselves.
//
// A fork copies every lock as it is at that moment: one held by another thread stays held in the
// child, which has no such thread to release it. glibc's malloc takes its locks around fork(), so
// the child can allocate; AddressSanitizer's runtime replaces malloc and takes its own locks around
// fork() only since LLVM 18 (llvm/llvm-project#75290; google/sanitizers#774). Before that, a child
// forked while another thread was inside ASan's allocator waits for good in its first malloc of
// that size (seen with gdb in Clang 14: SizeClassAllocator64::GetFromAllocator), which the time
// limit then reports as a hang of the file. Only isolation-inl.hpp includes this file.
//
// The locks are taken and released by fork handlers (pthread_atfork), as LLVM 18's runtime does,
// and for the same reason: other libraries' handlers may allocate (libblosc's child handler does),
// so the locks must be held only between every other prepare handler and every other child or
// parent handler. Handlers registered first run their prepare last and their child and parent
// handlers first: these are registered when the program starts, before any HDF5 filter plugin is
// loaded, and act only on the forks of isolated parses.
#pragma once

#if defined(__clang__) && defined(__has_feature)
#if __has_feature(address_sanitizer) && __clang_major__ < 18
#include <pthread.h>
// The runtime's own functions, which LLVM 18's fork handler calls in this order. Weak: a runtime
// that lacks them (or does not export them to a shared library) leaves them null, and the fork is
// as without this file. GCC's libasan does not export them, so GCC builds are left as they are.
namespace __lsan {
[[gnu::weak]] void LockThreadRegistry();
[[gnu::weak]] void UnlockThreadRegistry();
[[gnu::weak]] void LockAllocator();
[[gnu::weak]] void UnlockAllocator();
}  // namespace __lsan
namespace __sanitizer {
[[gnu::weak]] void StackDepotLockAll();
[[gnu::weak]] void StackDepotUnlockAll();
}  // namespace __sanitizer
#define H5SER_DETAIL_LOCK_ASAN_FOR_FORK 1
#endif
#endif

namespace h5ser::detail {

#ifdef H5SER_DETAIL_LOCK_ASAN_FOR_FORK
namespace sanitizer_fork {

/// Is this thread forking an isolated parse (set around its fork() only)?
inline thread_local bool isolated_fork = false;

inline void take_locks() noexcept {
    if (!isolated_fork) return;
    __lsan::LockThreadRegistry();
    __lsan::LockAllocator();
    __sanitizer::StackDepotLockAll();
}

inline void release_locks() noexcept {
    if (!isolated_fork) return;
    __sanitizer::StackDepotUnlockAll();
    __lsan::UnlockAllocator();
    __lsan::UnlockThreadRegistry();
}

/// Registers the handlers when the program starts (a static initializer of each translation unit
/// that forks isolated parses), if the runtime has all six functions.
inline const bool handlers_registered = [] {
    return __lsan::LockThreadRegistry && __lsan::UnlockThreadRegistry && __lsan::LockAllocator && __lsan::UnlockAllocator &&
           __sanitizer::StackDepotLockAll && __sanitizer::StackDepotUnlockAll &&
           ::pthread_atfork(&take_locks, &release_locks, &release_locks) == 0;
}();

}  // namespace sanitizer_fork
#endif

/// Marks the calling thread's next fork() as an isolated parse's, whose fork handlers take
/// AddressSanitizer's thread registry, allocator and stack depot locks (nothing without that
/// runtime). Call just before fork(); unmark just after, in both processes.
inline void mark_isolated_fork(bool forking) noexcept {
#ifdef H5SER_DETAIL_LOCK_ASAN_FOR_FORK
    if (sanitizer_fork::handlers_registered) sanitizer_fork::isolated_fork = forking;
#else
    (void)forking;
#endif
}

}  // namespace h5ser::detail

#undef H5SER_DETAIL_LOCK_ASAN_FOR_FORK
