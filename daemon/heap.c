#include "heap.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* AddressSanitizer brings its own allocator: the heap is not glibc's there. */
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
#include <malloc.h>

#define HEAP_PIECE ((size_t)24 << 20)   /* below the largest mmap threshold glibc accepts */
#define HEAP_MMAP_MAX (32 << 20)
#define HEAP_HUGE ((uintptr_t)2 << 20)
#define HEAP_MAX_PIECES 64

static bool heap__prepared;

/* Grows the heap by `pieces` blocks taken and given back at once: glibc keeps them as the free
 * top of the heap (trimming is off meanwhile), now marked for huge pages. */
static void heap__reserve(size_t pieces)
{
  void *blocks[HEAP_MAX_PIECES];
  char *start = sbrk(0);
  size_t n = 0;
  while (n < pieces && (blocks[n] = malloc(HEAP_PIECE))) n++;
  char *end = sbrk(0);
  uintptr_t from = ((uintptr_t)start + HEAP_HUGE - 1) & ~(HEAP_HUGE - 1);
  /* The heap could not grow in place (malloc used mappings): nothing to mark. */
  if (start != (char *)-1 && end != (char *)-1 && (uintptr_t)end > from) {
#ifdef MADV_HUGEPAGE
    madvise((void *)from, (uintptr_t)end - from, MADV_HUGEPAGE); /* a hint: without it the pages are small */
#endif
  }
  while (n) free(blocks[--n]);
}

void heap_prepare_large(const char *path)
{
  struct stat sb;
  if (heap__prepared || !path || stat(path, &sb) || (uint64_t)sb.st_size < HEAP_LARGE_FILE) return;
  size_t pieces = ((size_t)sb.st_size * HEAP_RESERVE_PER_BYTE + HEAP_PIECE - 1) / HEAP_PIECE;
  if (pieces > HEAP_MAX_PIECES) pieces = HEAP_MAX_PIECES;
  if (!mallopt(M_TRIM_THRESHOLD, INT32_MAX) || !mallopt(M_MMAP_THRESHOLD, HEAP_MMAP_MAX)) return;
  heap__prepared = true;
  heap__reserve(pieces);
}

void heap_settle(void)
{
  if (!heap__prepared) return;
  heap__prepared = false;
  /* glibc's initial values; setting them keeps them fixed from now on. */
  mallopt(M_MMAP_THRESHOLD, 128 << 10);
  mallopt(M_TRIM_THRESHOLD, 128 << 10);
}

void heap_release_unused(void) { malloc_trim(0); }

#else

void heap_prepare_large(const char *path) { (void)path; }
void heap_settle(void) {}
void heap_release_unused(void) {}

#endif
