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
#pragma once

#if defined(__clang__) && defined(__has_feature)
#if __has_feature(address_sanitizer) && __clang_major__ < 18
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
/// Did the link find all six functions (the runtime is linked into this program, and has them)?
inline bool asan_fork_locks_linked() noexcept {
    return __lsan::LockThreadRegistry && __lsan::UnlockThreadRegistry && __lsan::LockAllocator && __lsan::UnlockAllocator &&
           __sanitizer::StackDepotLockAll && __sanitizer::StackDepotUnlockAll;
}
#endif

/// Takes AddressSanitizer's thread registry, allocator and stack depot locks (nothing else does,
/// and nothing without that runtime). Call just before fork(), and allocate nothing until
/// unlock_sanitizer_after_fork, which both processes call just after it.
inline void lock_sanitizer_for_fork() noexcept {
#ifdef H5SER_DETAIL_LOCK_ASAN_FOR_FORK
    if (asan_fork_locks_linked()) {
        __lsan::LockThreadRegistry();
        __lsan::LockAllocator();
        __sanitizer::StackDepotLockAll();
    }
#endif
}

inline void unlock_sanitizer_after_fork() noexcept {
#ifdef H5SER_DETAIL_LOCK_ASAN_FOR_FORK
    if (asan_fork_locks_linked()) {
        __sanitizer::StackDepotUnlockAll();
        __lsan::UnlockAllocator();
        __lsan::UnlockThreadRegistry();
    }
#endif
}

}  // namespace h5ser::detail

#undef H5SER_DETAIL_LOCK_ASAN_FOR_FORK
