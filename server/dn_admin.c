/*  dn_admin -- the admin socket's commands (see dn_admin.h).

    A table names each command, the arguments it accepts and those it
    needs, so the checks every command shares (unknown command, unknown or
    missing argument) are made once, before any handler runs, and a handler
    only sees requests that are complete.  Handlers call dn_registry for
    every read and write: no SQL here.
*/
#include "dn_admin.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_registry.h"
#include "dn_time.h"
#include "dn_wire.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DN_ADMIN_WHY_SIZE 256
#define DN_ADMIN_MAX_ARGS 6

/*  What a handler sees.  */
typedef struct {
    sqlite3 *db;
    const char *admin;                  /* the ZAP User-Id */
    const Dealernet__AdminRequest *req; /* checked: complete */
    int64_t now_ms;
    char why[DN_ADMIN_WHY_SIZE]; /* the reason, on error */
} s_ctx_t;

typedef int (*s_handler_fn)(s_ctx_t *ctx, json_t **result);

typedef struct {
    const char *name;
    const char *args[DN_ADMIN_MAX_ARGS]; /* accepted names; "?" prefix: optional */
    s_handler_fn run;
} s_command_t;

static const char *s_arg(const s_ctx_t *ctx, const char *name)
{
    return dn_wire_admin_arg(ctx->req, name);
}

/* -- partners -------------------------------------------------------------- */

/*  Returns the partner called code as partner.list shows it, or NULL.  */
static json_t *s_partner_json(sqlite3 *db, const char *code, int64_t now_ms)
{
    json_t *list = NULL, *item, *found = NULL;
    size_t i;
    if (dn_registry_partner_list(db, now_ms, &list))
        return NULL;
    json_array_foreach(list, i, item)
    {
        if (strcmp(json_string_value(json_object_get(item, "code")), code) == 0) {
            found = json_incref(item);
            break;
        }
    }
    json_decref(list);
    return found;
}

static int s_partner_add(s_ctx_t *ctx, json_t **result)
{
    const char *code = s_arg(ctx, "code"), *parent = s_arg(ctx, "parent");
    int rc =
        dn_registry_partner_add(ctx->db, code, s_arg(ctx, "name"), s_arg(ctx, "kind"),
                                parent, ctx->now_ms, ctx->why, sizeof ctx->why);
    if (rc)
        return rc;
    dn_log_info("admin %s: partner %s added (%s, parent %s)", ctx->admin, code,
                s_arg(ctx, "kind"), parent ? parent : "none");
    *result = s_partner_json(ctx->db, code, ctx->now_ms);
    return *result ? 0 : DN_EDB;
}

static int s_partner_list(s_ctx_t *ctx, json_t **result)
{
    return dn_registry_partner_list(ctx->db, ctx->now_ms, result);
}

/* -- sites ----------------------------------------------------------------- */

static int s_site_add(s_ctx_t *ctx, json_t **result)
{
    const char *code = s_arg(ctx, "code"), *partner = s_arg(ctx, "partner");
    char token[DN_TOKEN_TEXT_LEN + 1], expires[DN_TIME_TEXT_SIZE], sync[256];
    int64_t expires_ms;
    int rc = dn_registry_site_add(ctx->db, code, partner, ctx->now_ms, token, &expires_ms,
                                  ctx->why, sizeof ctx->why);
    if (rc)
        return rc;
    dn_time_format(expires_ms, expires);
    dn_log_info("admin %s: site %s added for partner %s (token expires %s)", ctx->admin,
                code, partner, expires);
    *result = json_pack("{s:s, s:s, s:s, s:s}", "site", code, "partner", partner, "token",
                        token, "expires", expires);
    OPENSSL_cleanse(token, sizeof token);
    if (*result && dn_db_meta_get(ctx->db, DN_META_SYNC_ENDPOINT, sync, sizeof sync) == 0)
        json_object_set_new(*result, "sync_endpoint", json_string(sync));
    return *result ? 0 : DN_ENOMEM;
}

static int s_site_list(s_ctx_t *ctx, json_t **result)
{
    return dn_registry_site_list(ctx->db, result);
}

static int s_site_revoke(s_ctx_t *ctx, json_t **result)
{
    const char *code = s_arg(ctx, "code");
    int rc =
        dn_registry_site_revoke(ctx->db, code, ctx->now_ms, ctx->why, sizeof ctx->why);
    if (rc)
        return rc;
    char when[DN_TIME_TEXT_SIZE];
    dn_time_format(ctx->now_ms, when);
    dn_log_info("admin %s: site %s revoked", ctx->admin, code);
    *result = json_pack("{s:s, s:s}", "site", code, "revoked", when);
    return *result ? 0 : DN_ENOMEM;
}

/* -- members --------------------------------------------------------------- */

static int s_member_conflicts(s_ctx_t *ctx, json_t **result)
{
    return dn_registry_member_conflicts(ctx->db, result);
}

/* -- dispatch -------------------------------------------------------------- */

static const s_command_t s_commands[] = {
    {"partner.add", {"code", "name", "kind", "?parent"}, s_partner_add},
    {"partner.list", {NULL}, s_partner_list},
    {"site.add", {"code", "partner"}, s_site_add},
    {"site.list", {NULL}, s_site_list},
    {"site.revoke", {"code"}, s_site_revoke},
    {"member.conflicts", {NULL}, s_member_conflicts},
};

#define DN_ADMIN_COMMANDS (sizeof s_commands / sizeof s_commands[0])

static const char *s_arg_name(const char *spec)
{
    return spec[0] == '?' ? spec + 1 : spec;
}

/*  Checks req's arguments against cmd.  Returns 0, or DN_EINVAL with the
    reason in why.  */
static int s_check_args(const s_command_t *cmd, const Dealernet__AdminRequest *req,
                        char *why, size_t why_size)
{
    for (size_t i = 0; i < req->n_args; i++) {
        int known = 0;
        for (size_t j = 0; j < DN_ADMIN_MAX_ARGS && cmd->args[j] && !known; j++)
            known = strcmp(req->args[i]->name, s_arg_name(cmd->args[j])) == 0;
        if (!known) {
            snprintf(why, why_size, "unknown argument '%s' for %s", req->args[i]->name,
                     cmd->name);
            return DN_EINVAL;
        }
    }
    for (size_t j = 0; j < DN_ADMIN_MAX_ARGS && cmd->args[j]; j++) {
        if (cmd->args[j][0] != '?' && !dn_wire_admin_arg(req, cmd->args[j])) {
            snprintf(why, why_size, "%s needs argument '%s'", cmd->name, cmd->args[j]);
            return DN_EINVAL;
        }
    }
    return 0;
}

/*  Packs a reply: status 0 and result (may be NULL), or status and error.  */
static int s_reply(unsigned status, const char *error, const char *result,
                   uint8_t **reply, size_t *reply_len)
{
    Dealernet__AdminReply msg = DEALERNET__ADMIN_REPLY__INIT;
    char why[DN_WHY_SIZE];
    int rc;

    msg.has_status = 1;
    msg.status = status;
    msg.error = status ? (char *)error : NULL;
    msg.result = status ? NULL : (char *)result;
    rc = dn_wire_admin_reply_pack(&msg, reply, reply_len, why, sizeof why);
    if (rc == DN_ETOOBIG) {
        dn_log_warn("admin reply too large: %s", why);
        return s_reply(70, "the result is too large to send; narrow the request", NULL,
                       reply, reply_len);
    }
    if (rc) {
        dn_log_error("cannot pack an admin reply: %s",
                     rc == DN_EPROTO ? why : dn_strerror(rc));
        return DN_ENOMEM;
    }
    return 0;
}

int dn_admin_handle(sqlite3 *db, const char *admin, const uint8_t *request, size_t len,
                    uint8_t **reply, size_t *reply_len)
{
    Dealernet__AdminRequest *req = NULL;
    const s_command_t *cmd = NULL;
    s_ctx_t ctx = {.db = db, .admin = admin ? admin : "?"};
    char error[DN_ADMIN_WHY_SIZE + 64];
    json_t *result = NULL;
    char *text;
    int rc;

    *reply = NULL;
    *reply_len = 0;
    rc = dn_wire_admin_request_unpack(request, len, &req, ctx.why, sizeof ctx.why);
    if (rc) {
        snprintf(error, sizeof error, "malformed admin request: %s",
                 rc == DN_ENOMEM ? dn_strerror(rc) : ctx.why);
        dn_log_warn("admin %s: %s", ctx.admin, error);
        return s_reply(65, error, NULL, reply, reply_len);
    }
    if (req->protocol != DN_PROTOCOL_VERSION) {
        snprintf(
            error, sizeof error,
            "admin protocol %u is not supported: this server speaks protocol %d; use "
            "a dealernet-hq of the same version",
            req->protocol, DN_PROTOCOL_VERSION);
        dn_wire_admin_request_free(&req);
        return s_reply(65, error, NULL, reply, reply_len);
    }
    for (size_t i = 0; i < DN_ADMIN_COMMANDS && !cmd; i++)
        if (strcmp(req->command, s_commands[i].name) == 0)
            cmd = &s_commands[i];
    if (!cmd) {
        snprintf(error, sizeof error, "unknown command %s", req->command);
        dn_wire_admin_request_free(&req);
        return s_reply(64, error, NULL, reply, reply_len);
    }
    if (s_check_args(cmd, req, error, sizeof error)) {
        dn_wire_admin_request_free(&req);
        return s_reply(64, error, NULL, reply, reply_len);
    }

    ctx.req = req;
    ctx.now_ms = dn_time_now_ms();
    rc = cmd->run(&ctx, &result);
    if (rc) {
        snprintf(error, sizeof error, "%s", ctx.why[0] ? ctx.why : dn_strerror(rc));
        dn_log_info("admin %s: %s refused: %s", ctx.admin, cmd->name, error);
        dn_wire_admin_request_free(&req);
        return s_reply((unsigned)dn_exit_code(rc), error, NULL, reply, reply_len);
    }
    dn_wire_admin_request_free(&req);
    text = json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(result);
    if (!text)
        return s_reply(70, "out of memory building the result", NULL, reply, reply_len);
    rc = s_reply(0, NULL, text, reply, reply_len);
    OPENSSL_cleanse(text, strlen(text)); /* may hold an enrollment token */
    free(text);
    return rc;
}
