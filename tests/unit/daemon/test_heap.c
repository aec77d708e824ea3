/* heap: a large configuration file grows the heap by a reserve that start-up allocations use,
 * and settling hands the unused reserve back; small files change nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <malloc.h>
#include <stdbool.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "heap.h"

static char *file_of(size_t size)
{
  char *path = strdup("/tmp/dg-heap-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, (off_t)size), 0);
  close(fd);
  return path;
}

static size_t heap_free_bytes(void)
{
  return mallinfo2().fordblks;
}

/* Whether a heap mapping carries the huge-page hint ("hg" in its VmFlags). */
static bool heap_marked_huge(void)
{
  FILE *f = fopen("/proc/self/smaps", "r");
  char line[512];
  bool in_heap = false, marked = false;
  while (f && !marked && fgets(line, sizeof line, f)) {
    if (strchr(line, '-') && strchr(line, ' ') && strchr(line, '-') < strchr(line, ' ')) in_heap = strstr(line, "[heap]") != NULL;
    else if (in_heap && !strncmp(line, "VmFlags:", 8)) marked = strstr(line, " hg") != NULL;
  }
  if (f) fclose(f);
  return marked;
}

#if defined(__SANITIZE_ADDRESS__) || !defined(__GLIBC__)
#define HEAP_SKIP() skip() /* another allocator: heap_prepare_large does nothing */
#else
#define HEAP_SKIP() ((void)0)
#endif

static void test_small_file_changes_nothing(void **state)
{
  HEAP_SKIP();
  char *path = file_of(HEAP_LARGE_FILE - 1);
  void *brk_before = sbrk(0);
  heap_prepare_large(path);
  assert_ptr_equal(sbrk(0), brk_before);
  heap_prepare_large("/nonexistent/dg.yaml");
  assert_ptr_equal(sbrk(0), brk_before);
  heap_settle();
  unlink(path);
  free(path);
}

static void test_large_file_reserves_then_settles(void **state)
{
  HEAP_SKIP();
  char *path = file_of(HEAP_LARGE_FILE);
  size_t reserve = HEAP_LARGE_FILE * HEAP_RESERVE_PER_BYTE;
  heap_prepare_large(path);
  assert_true(heap_free_bytes() >= reserve - ((size_t)24 << 20)); /* kept as the heap's free top */
  if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0) assert_true(heap_marked_huge());
  /* Allocations of start-up come out of the reserve. */
  void *before = sbrk(0), *p = malloc(1 << 20);
  assert_non_null(p);
  assert_ptr_equal(sbrk(0), before);
  free(p);
  heap_settle();
  heap_settle();
  malloc_trim(0);
  assert_true(heap_free_bytes() < reserve / 4);
  unlink(path);
  free(path);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_small_file_changes_nothing),
    cmocka_unit_test(test_large_file_reserves_then_settles),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
