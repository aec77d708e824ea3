/* array — growable arrays of plain elements: room for one more, the capacity doubled as needed. */
#ifndef DG_ARRAY_H
#define DG_ARRAY_H

#include <stddef.h>

/* Room for element n of the array whose pointer is at arrp (elements of elsize bytes, capacity
 * *cap; 8 when it first grows): 0, or -ENOMEM with the array and *cap unchanged. */
int dg_array_reserve(void *arrp, size_t n, size_t *cap, size_t elsize);

#endif
