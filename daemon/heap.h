/* heap — the C allocator while a large plant starts.
 *
 * Reading a 100 000-point configuration and building its model allocates a few hundred
 * megabytes in small pieces; on a virtual machine the first touch of each 4 KiB page (a page
 * fault) was a quarter of the start. heap_prepare_large grows the heap once by a reserve
 * marked for transparent huge pages (where the system allows them on request) and keeps
 * allocations below 32 MiB in the heap, so that memory comes 2 MiB per fault;
 * heap_settle puts the allocator's usual thresholds back and returns what is unused.
 * Untouched reserve costs address space only. glibc only; elsewhere (and under
 * AddressSanitizer, whose allocator is its own) both do nothing. Main
 * thread, before other threads allocate much (at start-up). */
#ifndef DG_HEAP_H
#define DG_HEAP_H

#include <stddef.h>

/* For a configuration file at `path`: a reserve of HEAP_RESERVE_PER_BYTE times its size when
 * it is at least HEAP_LARGE_FILE bytes; nothing for a smaller or unreadable file. */
#define HEAP_LARGE_FILE ((size_t)4 << 20)
#define HEAP_RESERVE_PER_BYTE 8
void heap_prepare_large(const char *path);

/* Idempotent. Call once start-up has allocated what it keeps (then malloc_trim). */
void heap_settle(void);

/* Any thread: hands the pages of freed memory back to the system (every thread's arena), for a
 * thread that has just let go of a cache and has nothing to do. Costs a walk of the heap. */
void heap_release_unused(void);

#endif
