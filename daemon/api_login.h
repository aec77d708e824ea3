/* api_login — people's logins (login.h) over the API: POST /api/v1/login answers a session
 * cookie (HttpOnly, SameSite=Strict), /api/v1/logout ends it, /api/v1/account/password changes
 * the caller's own password; the admin lists, creates, disables, enables accounts and resets
 * their passwords under /api/v1/accounts. Password checks wait for the thread pool
 * (http_defer). Loop thread. */
#ifndef DG_API_LOGIN_H
#define DG_API_LOGIN_H

#include "api_req.h"

struct api_routes login_api_routes(void);

#endif
