#include "array.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int dg_array_reserve(void *arrp, size_t n, size_t *cap, size_t elsize)
{
  if (n < *cap) return 0;
  size_t ncap = *cap ? *cap * 2 : 8;
  void *old;
  memcpy(&old, arrp, sizeof old); /* arrp is the address of any T *: copied, not aliased */
  void *arr = realloc(old, ncap * elsize);
  if (!arr) return -ENOMEM;
  memcpy(arrp, &arr, sizeof arr);
  *cap = ncap;
  return 0;
}
