/* post_config — the `posts` section of the plant model: 岗位 posts with their units, persons,
 * deputies, risk events and emergency phone numbers.
 *
 * Called by config.c with "posts" on the error path, after persons and hazard_sources (a post
 * names both). Fills c->posts; post ids go into x->posts. A post's pointers go into the same
 * config; the posts belong to it and are released by post_config_free. */
#ifndef DG_POST_CONFIG_H
#define DG_POST_CONFIG_H

struct cfg_ctx;
struct dg_config;
struct dg_ynode;

int post_config_parse(struct cfg_ctx *x, const struct dg_ynode *n);
void post_config_free(struct dg_config *c);

#endif
