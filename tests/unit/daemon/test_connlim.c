/* connlim: caps derived from the descriptor limit, and per-client counting by descriptor. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "connlim.h"

static void test_derive(void **state)
{
  struct connlim_caps c;
  int clamped;
  /* The unit's default of 1024: a quarter kept, a quarter of the rest per client. */
  assert_int_equal(connlim_derive(1024, 0, 0, 0, &c, &clamped), 0);
  assert_int_equal(c.reserve, 256);
  assert_int_equal(c.max_total, 768);
  assert_int_equal(c.max_per_client, 192);
  assert_false(clamped);
  /* Small limits keep at least 64. */
  assert_int_equal(connlim_derive(256, 0, 0, 0, &c, &clamped), 0);
  assert_int_equal(c.reserve, 64);
  assert_int_equal(c.max_total, 192);
  /* Configured caps above what the limit leaves are lowered to it. */
  assert_int_equal(connlim_derive(256, 1000, 500, 0, &c, &clamped), 0);
  assert_int_equal(c.max_total, 192);
  assert_int_equal(c.max_per_client, 192);
  assert_true(clamped);
  assert_int_equal(connlim_derive(4096, 100, 10, 0, &c, &clamped), 0);
  assert_int_equal(c.max_total, 100);
  assert_int_equal(c.max_per_client, 10);
  assert_int_equal(c.reserve, 3996);
  /* A limit that leaves no room is refused. */
  assert_int_equal(connlim_derive(64, 0, 0, 0, &c, &clamped), -EMFILE);
  assert_int_equal(connlim_derive(256, 0, 0, 250, &c, &clamped), -EMFILE);
}

static struct sockaddr_in addr4(const char *ip)
{
  struct sockaddr_in a = {.sin_family = AF_INET};
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

static void test_per_client_and_total(void **state)
{
  struct connlim *l;
  struct connlim_caps caps = {.max_total = 5, .max_per_client = 2};
  assert_int_equal(connlim_new(&l, 64, &caps), 0);
  struct sockaddr_in a = addr4("10.0.0.1"), b = addr4("10.0.0.2");
  socklen_t n = sizeof a;
  assert_int_equal(connlim_admit(l, 10, (struct sockaddr *)&a, n), 0);
  connlim_bind(l, 10, (void *)0x10);
  assert_int_equal(connlim_admit(l, 11, (struct sockaddr *)&a, n), 0);
  connlim_bind(l, 11, (void *)0x11);
  assert_int_equal(connlim_admit(l, 12, (struct sockaddr *)&a, n), -EBUSY);
  assert_int_equal(connlim_admit(l, 12, (struct sockaddr *)&b, n), 0);
  connlim_release(l, (void *)0x10);
  assert_int_equal(connlim_admit(l, 10, (struct sockaddr *)&a, n), 0);
  /* A descriptor admitted again was closed without a release: counted once. */
  assert_int_equal(connlim_admit(l, 12, (struct sockaddr *)&b, n), 0);
  assert_int_equal(connlim_open(l), 3);
  assert_int_equal(connlim_admit(l, 20, (struct sockaddr *)&b, n), 0);
  struct sockaddr_in c = addr4("10.0.0.3");
  assert_int_equal(connlim_admit(l, 21, (struct sockaddr *)&c, n), 0);
  assert_int_equal(connlim_admit(l, 22, (struct sockaddr *)&c, n), -ENFILE);
  connlim_free(l);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_derive),
    cmocka_unit_test(test_per_client_and_total),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
