/*  dealernet-hq -- headquarters' command line: the admin socket's client.

    Each command is one request and one reply over a CurveZMQ REQ socket,
    authenticated by the HQ admin key that `dealernet-server init` wrote.
    The server does the work and answers with JSON; this program only turns
    arguments into a request and the JSON into a table, CSV or JSON
    (dn_render), so a new server command needs little more here than a line
    in the command table.  A server that does not answer within --timeout
    gets one line and exit 69: nothing is retried, since a mutating request
    may have been applied.
*/
#include "dn_curve.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_protocol.h"
#include "dn_render.h"
#include "dn_valid.h"
#include "dn_wire.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define DN_HQ_VERSION           "0.1.0"
#define DN_HQ_TIMEOUT_S         10 /* default --timeout */
#define DN_HQ_MAX_TIMEOUT_S     3600
#define DN_HQ_DEFAULT_SYNC_PORT "7700"
#define DN_HQ_MONITOR           "inproc://dealernet-hq-monitor"
#define EX_USAGE                64
#define EX_UNAVAILABLE          69
#define EX_TEMPFAIL             75
#define EX_NOPERM               77

/*  Option codes of the global options, beyond any character a command uses.  */
enum {
    S_OPT_SERVER = 1000,
    S_OPT_SERVER_KEY,
    S_OPT_KEY,
    S_OPT_TIMEOUT,
    S_OPT_JSON,
    S_OPT_CSV,
};

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
    const char *help;
} s_command_t;

/*  The global options, from the command line or the environment.  */
static struct {
    const char *server;     /* admin endpoint */
    const char *server_key; /* the server's public key, Z85 */
    const char *key_file;   /* the HQ admin key pair */
    int timeout_s;
    int quiet;
} s_opt = {NULL, NULL, NULL, DN_HQ_TIMEOUT_S, 0};

static const s_command_t *s_current; /* for usage errors and --help */

/* -- small helpers ------------------------------------------------------- */

static int s_usage_error(const char *fmt, const char *arg)
{
    char text[512];
    snprintf(text, sizeof text, fmt, arg);
    dn_log_error("%s (see: dealernet-hq %s%s--help)", text,
                 s_current ? s_current->name : "", s_current ? " " : "");
    return EX_USAGE;
}

/*  Handles a global option (shared by main and every command).  Returns 1
    if c was one, 0 if not, -1 after a usage error in *code.  */
static int s_global_option(int c, const char *arg, int *code)
{
    int64_t secs;
    switch (c) {
    case S_OPT_SERVER:
        s_opt.server = arg;
        return 1;
    case S_OPT_SERVER_KEY:
        s_opt.server_key = arg;
        return 1;
    case S_OPT_KEY:
        s_opt.key_file = arg;
        return 1;
    case S_OPT_TIMEOUT:
        if (dn_parse_int(arg, 1, DN_HQ_MAX_TIMEOUT_S, &secs)) {
            *code =
                s_usage_error("--timeout '%s' must be whole seconds from 1 to 3600", arg);
            return -1;
        }
        s_opt.timeout_s = (int)secs;
        return 1;
    case 'q':
        s_opt.quiet = 1;
        dn_log_init("dealernet-hq", DN_LOG_ERROR, 0);
        return 1;
    }
    return 0;
}

/*  The global options, also accepted after the command.  */
static const struct option s_global_longs[] = {
    {"server", required_argument, NULL, S_OPT_SERVER},
    {"server-key", required_argument, NULL, S_OPT_SERVER_KEY},
    {"key", required_argument, NULL, S_OPT_KEY},
    {"timeout", required_argument, NULL, S_OPT_TIMEOUT},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

#define DN_HQ_MAX_OPTIONS 32

/*  Parses a command's options with getopt_long; the global options, unknown
    options and --help are handled here.  Returns the option, -1 at the
    end, or -2 when the command must stop with *code.  */
static int s_getopt(int argc, char **argv, const struct option *own, int *code)
{
    struct option longs[DN_HQ_MAX_OPTIONS];
    size_t n = 0;
    int c;

    for (size_t i = 0; own[i].name; i++)
        longs[n++] = own[i];
    for (size_t i = 0; s_global_longs[i].name; i++)
        longs[n++] = s_global_longs[i];
    assert(n < DN_HQ_MAX_OPTIONS);
    memset(&longs[n], 0, sizeof longs[n]);
    for (;;) {
        opterr = 0; /* one line on stderr: ours, not getopt's as well */
        c = getopt_long(argc, argv, "hq", longs, NULL);
        if (c == 'h') {
            printf("usage: dealernet-hq %s %s\n\n%s", s_current->name, s_current->usage,
                   s_current->help);
            *code = 0;
            return -2;
        }
        if (c == '?' || c == ':') {
            *code = s_usage_error("unknown option or missing value: '%s'",
                                  optind > 0 && optind <= argc ? argv[optind - 1] : "?");
            return -2;
        }
        switch (s_global_option(c, optarg, code)) {
        case 1:
            continue;
        case -1:
            return -2;
        }
        return c;
    }
}

/*  How a result is shown, from --json / --csv.  */
static int s_format_option(int c, dn_render_format_t *format, int *code)
{
    dn_render_format_t want = c == S_OPT_JSON ? DN_RENDER_JSON : DN_RENDER_CSV;
    if (*format != DN_RENDER_TABLE && *format != want) {
        *code = s_usage_error("%s", "--json and --csv exclude each other");
        return -1;
    }
    *format = want;
    return 0;
}

/* -- the request --------------------------------------------------------- */

/*  A usage error about a global option: points at the global help.  */
static int s_global_error(const char *fmt, const char *arg)
{
    const s_command_t *current = s_current;
    int code;
    s_current = NULL;
    code = s_usage_error(fmt, arg);
    s_current = current;
    return code;
}

/*  Fills in the global options from the environment and checks them.
    Returns 0 or an exit status (after one line on stderr).  */
static int s_check_connection(void)
{
    if (!s_opt.server)
        s_opt.server = getenv("DEALERNET_SERVER");
    if (!s_opt.server_key)
        s_opt.server_key = getenv("DEALERNET_SERVER_KEY");
    if (!s_opt.key_file)
        s_opt.key_file = getenv("DEALERNET_HQ_KEY");
    if (!s_opt.server || !*s_opt.server)
        return s_global_error("%s", "no server: give --server ENDPOINT (like "
                                    "tcp://hq.example.com:7701) or set DEALERNET_SERVER");
    if (!s_opt.server_key || !*s_opt.server_key)
        return s_global_error("%s",
                              "no server key: give --server-key Z85 (printed by "
                              "'dealernet-server init') or set DEALERNET_SERVER_KEY");
    if (!s_opt.key_file || !*s_opt.key_file)
        return s_global_error("%s",
                              "no admin key: give --key FILE (the hq.key that "
                              "'dealernet-server init' wrote) or set DEALERNET_HQ_KEY");
    if (!dn_curve_valid_z85(s_opt.server_key))
        return s_global_error("--server-key '%.60s' is not a 40-character Z85 key",
                              s_opt.server_key);
    return 0;
}

/*  Reads one monitor event.  Returns the event number, or 0.  */
static int s_monitor_event(void *monitor, uint32_t *value)
{
    zmq_msg_t msg;
    uint16_t event = 0;
    int more = 0;
    size_t more_size = sizeof more;

    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, monitor, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        return 0;
    }
    if (zmq_msg_size(&msg) >= 6) {
        memcpy(&event, zmq_msg_data(&msg), 2);
        memcpy(value, (const uint8_t *)zmq_msg_data(&msg) + 2, 4);
    }
    zmq_getsockopt(monitor, ZMQ_RCVMORE, &more, &more_size);
    zmq_msg_close(&msg);
    while (more) { /* the endpoint frame */
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, monitor, 0) < 0)
            more = 0;
        else
            zmq_getsockopt(monitor, ZMQ_RCVMORE, &more, &more_size);
        zmq_msg_close(&msg);
    }
    return event;
}

static int64_t s_clock_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/*  Sends body to the server and waits for one reply, which is set in
    *reply (zmq message, caller closes).  Returns 0 or an exit status
    (after one line on stderr).  */
static int s_exchange(void *ctx, const dn_curve_pair_t *pair, const uint8_t *body,
                      size_t len, zmq_msg_t *reply)
{
    void *sock = zmq_socket(ctx, ZMQ_REQ), *monitor = NULL;
    int linger = 0, timeout_ms = s_opt.timeout_s * 1000, rc = 0;
    int64_t max_bytes = DN_MAX_ADMIN_REPLY_BYTES, deadline;

    if (!sock) {
        dn_log_error("cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
        return 70;
    }
    if (zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms) ||
        zmq_setsockopt(sock, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms) ||
        zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max_bytes, sizeof max_bytes) ||
        zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, s_opt.server_key, DN_Z85_KEY_SIZE) ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pair->public_z85, DN_Z85_KEY_SIZE) ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, pair->secret_z85, DN_Z85_KEY_SIZE)) {
        dn_log_error("cannot set up a CURVE client socket: %s (is libzmq built with "
                     "CURVE?)",
                     zmq_strerror(errno));
        zmq_close(sock);
        return 70;
    }
    /* Watch the handshake, so a key the server refuses gets its own message
       instead of a timeout.  */
    if (zmq_socket_monitor(sock, DN_HQ_MONITOR, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) == 0) {
        monitor = zmq_socket(ctx, ZMQ_PAIR);
        if (monitor && zmq_connect(monitor, DN_HQ_MONITOR) != 0) {
            zmq_close(monitor);
            monitor = NULL;
        }
        if (monitor)
            zmq_setsockopt(monitor, ZMQ_LINGER, &linger, sizeof linger);
    }
    if (zmq_connect(sock, s_opt.server) != 0) {
        rc = s_global_error("--server '%.200s' is not a ZeroMQ endpoint (like "
                            "tcp://hq.example.com:7701)",
                            s_opt.server);
        goto done;
    }
    if (zmq_send(sock, body, len, 0) < 0) {
        dn_log_error("cannot send to %s: %s", s_opt.server, zmq_strerror(errno));
        rc = EX_UNAVAILABLE;
        goto done;
    }
    deadline = s_clock_ms() + timeout_ms;
    for (;;) {
        zmq_pollitem_t items[2] = {{sock, 0, ZMQ_POLLIN, 0}, {monitor, 0, ZMQ_POLLIN, 0}};
        int64_t left = deadline - s_clock_ms();
        int n;
        if (left <= 0) {
            dn_log_error("no reply from %s within %d s: is dealernet-server running, and "
                         "is --server-key right?",
                         s_opt.server, s_opt.timeout_s);
            rc = EX_UNAVAILABLE;
            break;
        }
        n = zmq_poll(items, monitor ? 2 : 1, (long)left);
        if (n < 0 && errno == EINTR) {
            dn_log_error(
                "interrupted before %s replied; the request may have been applied",
                s_opt.server);
            rc = EX_TEMPFAIL;
            break;
        }
        if (n < 0) {
            dn_log_error("cannot wait for %s: %s", s_opt.server, zmq_strerror(errno));
            rc = EX_UNAVAILABLE;
            break;
        }
        if (monitor && (items[1].revents & ZMQ_POLLIN)) {
            uint32_t value = 0;
            if (s_monitor_event(monitor, &value) == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
                dn_log_error(
                    "%s refused the admin key in %s (ZAP status %u): it is not an "
                    "HQ admin key of this server",
                    s_opt.server, s_opt.key_file, (unsigned)value);
                rc = EX_NOPERM;
                break;
            }
        }
        if (items[0].revents & ZMQ_POLLIN) {
            if (zmq_msg_recv(reply, sock, 0) >= 0)
                break;
            dn_log_error("cannot receive from %s: %s", s_opt.server, zmq_strerror(errno));
            rc = EX_UNAVAILABLE;
            break;
        }
    }
done:
    if (monitor) {
        zmq_socket_monitor(sock, NULL, 0);
        zmq_close(monitor);
    }
    zmq_close(sock);
    return rc;
}

/*  Sends command with n (name, value) pairs from args (a NULL value leaves
    the argument out) and sets *result to the reply's JSON (caller decrefs).
    Returns 0 or an exit status (after one line on stderr).  */
static int s_request(const char *command, const char *const *args, size_t n,
                     json_t **result)
{
    Dealernet__AdminRequest req = DEALERNET__ADMIN_REQUEST__INIT;
    Dealernet__AdminArg arg_msgs[DN_MAX_ADMIN_ARGS], *arg_ptrs[DN_MAX_ADMIN_ARGS];
    Dealernet__AdminReply *reply = NULL;
    dn_curve_pair_t pair;
    char why[DN_WHY_SIZE];
    uint8_t *body = NULL;
    size_t len = 0;
    zmq_msg_t msg;
    void *ctx;
    int rc;

    *result = NULL;
    if ((rc = s_check_connection()) != 0)
        return rc;
    req.has_protocol = 1;
    req.protocol = DN_PROTOCOL_VERSION;
    req.command = (char *)command;
    for (size_t i = 0; i < n && i < DN_MAX_ADMIN_ARGS; i++) {
        if (!args[2 * i + 1])
            continue;
        dealernet__admin_arg__init(&arg_msgs[req.n_args]);
        arg_msgs[req.n_args].name = (char *)args[2 * i];
        arg_msgs[req.n_args].value = (char *)args[2 * i + 1];
        arg_ptrs[req.n_args] = &arg_msgs[req.n_args];
        req.n_args++;
    }
    req.args = arg_ptrs;
    rc = dn_wire_admin_request_pack(&req, &body, &len, why, sizeof why);
    if (rc) {
        dn_log_error("cannot build the request: %s",
                     rc == DN_ENOMEM ? dn_strerror(rc) : why);
        return dn_exit_code(rc);
    }

    rc = dn_curve_load(s_opt.key_file, &pair);
    if (rc) {
        if (rc == DN_ENOENT)
            dn_log_error("admin key file %s does not exist: use the hq.key that "
                         "'dealernet-server init' wrote (--key or DEALERNET_HQ_KEY)",
                         s_opt.key_file);
        else if (rc == DN_EPARSE)
            dn_log_error(
                "%s is not a CURVE key file (public-key = ..., secret-key = ...)",
                s_opt.key_file);
        else
            dn_log_error("cannot read %s: %s", s_opt.key_file, dn_strerror(rc));
        free(body);
        return dn_exit_code(rc);
    }

    ctx = zmq_ctx_new();
    if (!ctx) {
        OPENSSL_cleanse(&pair, sizeof pair);
        free(body);
        dn_log_error("cannot start ZeroMQ: %s", zmq_strerror(errno));
        return 70;
    }
    zmq_msg_init(&msg);
    rc = s_exchange(ctx, &pair, body, len, &msg);
    OPENSSL_cleanse(&pair, sizeof pair);
    free(body);
    if (rc == 0) {
        int urc = dn_wire_admin_reply_unpack(zmq_msg_data(&msg), zmq_msg_size(&msg),
                                             &reply, why, sizeof why);
        if (urc) {
            dn_log_error("malformed reply from %s: %s", s_opt.server,
                         urc == DN_ENOMEM ? dn_strerror(urc) : why);
            rc = dn_exit_code(urc);
        } else if (reply->status != 0) {
            dn_log_error("%s", reply->error);
            rc = (int)reply->status;
        } else {
            json_error_t error;
            *result = json_loads(reply->result ? reply->result : "null", JSON_DECODE_ANY,
                                 &error);
            if (!*result) {
                dn_log_error("malformed result from %s: %s", s_opt.server, error.text);
                rc = dn_exit_code(DN_EPROTO);
            }
        }
        if (reply && reply->result) /* may hold an enrollment token */
            OPENSSL_cleanse(reply->result, strlen(reply->result));
        dn_wire_admin_reply_free(&reply);
    }
    if (zmq_msg_size(&msg))
        OPENSSL_cleanse(zmq_msg_data(&msg), zmq_msg_size(&msg));
    zmq_msg_close(&msg);
    zmq_ctx_term(ctx);
    return rc;
}

/*  Prints a result in format.  Returns 0 or an exit status.  */
static int s_print(const json_t *result, dn_render_format_t format)
{
    int rc = dn_render(stdout, result, format);
    if (rc) {
        dn_log_error("cannot write the result: %s", dn_strerror(rc));
        return dn_exit_code(rc);
    }
    return 0;
}

static const char *s_str(const json_t *obj, const char *key)
{
    const char *text = json_string_value(json_object_get(obj, key));
    return text ? text : "-";
}

/*  Parses the options of a listing: --json, --csv.  Returns 0, or -1 and
    the exit status in *code.  */
static int s_listing_opts(int argc, char **argv, dn_render_format_t *format, int *code)
{
    static const struct option longs[] = {{"json", no_argument, NULL, S_OPT_JSON},
                                          {"csv", no_argument, NULL, S_OPT_CSV},
                                          {NULL, 0, NULL, 0}};
    int c;
    *format = DN_RENDER_TABLE;
    while ((c = s_getopt(argc, argv, longs, code)) != -1) {
        if (c == -2 || s_format_option(c, format, code))
            return -1;
    }
    if (optind < argc) {
        *code = s_usage_error("unexpected argument '%s'", argv[optind]);
        return -1;
    }
    return 0;
}

static int s_listing(int argc, char **argv, const char *command)
{
    dn_render_format_t format;
    json_t *result;
    int code = 0;
    if (s_listing_opts(argc, argv, &format, &code))
        return code;
    if ((code = s_request(command, NULL, 0, &result)) != 0)
        return code;
    code = s_print(result, format);
    json_decref(result);
    return code;
}

/*  Checks that CODE is the one positional argument.  Returns it, or NULL
    with *code set.  */
static const char *s_one_code(int argc, char **argv, const char *what, int *code)
{
    if (optind >= argc) {
        *code = s_usage_error("%s", what);
        return NULL;
    }
    if (optind + 1 < argc) {
        *code = s_usage_error("unexpected argument '%s'", argv[optind + 1]);
        return NULL;
    }
    if (!dn_valid_code(argv[optind])) {
        *code = s_usage_error("'%.40s' is not a code (a letter, then letters, digits, "
                              "'_', '.', '-'; at most 32)",
                              argv[optind]);
        return NULL;
    }
    return argv[optind];
}

/* -- partners ------------------------------------------------------------ */

static int s_cmd_partner_add(int argc, char **argv)
{
    static const struct option longs[] = {{"name", required_argument, NULL, 'n'},
                                          {"kind", required_argument, NULL, 'k'},
                                          {"parent", required_argument, NULL, 'p'},
                                          {"json", no_argument, NULL, S_OPT_JSON},
                                          {NULL, 0, NULL, 0}};
    const char *name = NULL, *kind = NULL, *parent = NULL, *code;
    dn_render_format_t format = DN_RENDER_TABLE;
    json_t *result;
    int c, rc = 0;

    while ((c = s_getopt(argc, argv, longs, &rc)) != -1) {
        if (c == -2)
            return rc;
        if (c == 'n')
            name = optarg;
        else if (c == 'k')
            kind = optarg;
        else if (c == 'p')
            parent = optarg;
        else if (c == S_OPT_JSON)
            format = DN_RENDER_JSON;
    }
    if (!(code = s_one_code(argc, argv, "partner add needs the partner's CODE", &rc)))
        return rc;
    if (!name || !kind)
        return s_usage_error("%s", "partner add needs --name NAME and --kind "
                                   "hq|region|distributor|dealer|reseller");
    {
        const char *args[] = {"code", code, "name", name, "kind", kind, "parent", parent};
        if ((rc = s_request("partner.add", args, 4, &result)) != 0)
            return rc;
    }
    if (format == DN_RENDER_JSON)
        rc = s_print(result, format);
    else if (!s_opt.quiet)
        printf("partner %s added (%s, %s%s)\n", code, s_str(result, "kind"),
               parent ? "parent " : "no parent", parent ? parent : "");
    json_decref(result);
    return rc;
}

static int s_cmd_partner_list(int argc, char **argv)
{
    return s_listing(argc, argv, "partner.list");
}

/* -- sites --------------------------------------------------------------- */

/*  Writes into out the endpoint an agent connects to for sync: the
    server's sync endpoint as bound, with a wildcard host replaced by the
    host of --server; without one, --server's host on the default port.  */
static void s_sync_endpoint(const char *bound, char *out, size_t size)
{
    const char *admin = s_opt.server, *sep = strstr(admin, "://");
    const char *host = sep ? sep + 3 : admin, *colon = strrchr(host, ':');
    int host_len = colon ? (int)(colon - host) : (int)strlen(host);

    if (bound && strncmp(bound, "tcp://", 6) == 0) {
        const char *bhost = bound + 6, *bcolon = strrchr(bhost, ':');
        int blen = bcolon ? (int)(bcolon - bhost) : (int)strlen(bhost);
        int wildcard = blen == 0 || (blen == 1 && bhost[0] == '*') ||
                       (blen == 7 && strncmp(bhost, "0.0.0.0", 7) == 0) ||
                       (blen == 4 && strncmp(bhost, "[::]", 4) == 0);
        if (wildcard && bcolon)
            snprintf(out, size, "tcp://%.*s%s", host_len, host, bcolon);
        else
            snprintf(out, size, "%s", bound);
    } else if (bound) {
        snprintf(out, size, "%s", bound); /* ipc://, inproc://: as is */
    } else {
        snprintf(out, size, "tcp://%.*s:%s", host_len, host, DN_HQ_DEFAULT_SYNC_PORT);
    }
}

static int s_cmd_site_add(int argc, char **argv)
{
    static const struct option longs[] = {{"partner", required_argument, NULL, 'p'},
                                          {"json", no_argument, NULL, S_OPT_JSON},
                                          {NULL, 0, NULL, 0}};
    const char *partner = NULL, *code;
    dn_render_format_t format = DN_RENDER_TABLE;
    char sync[512];
    json_t *result;
    int c, rc = 0;

    while ((c = s_getopt(argc, argv, longs, &rc)) != -1) {
        if (c == -2)
            return rc;
        if (c == 'p')
            partner = optarg;
        else if (c == S_OPT_JSON)
            format = DN_RENDER_JSON;
    }
    if (!(code = s_one_code(argc, argv, "site add needs the site's CODE", &rc)))
        return rc;
    if (!partner)
        return s_usage_error("%s", "site add needs --partner CODE (the partner who owns "
                                   "the site)");
    {
        const char *args[] = {"code", code, "partner", partner};
        if ((rc = s_request("site.add", args, 2, &result)) != 0)
            return rc;
    }
    if (format == DN_RENDER_JSON) {
        rc = s_print(result, format);
    } else if (s_opt.quiet) {
        printf("%s\n", s_str(result, "token"));
    } else {
        s_sync_endpoint(json_string_value(json_object_get(result, "sync_endpoint")), sync,
                        sizeof sync);
        printf("site %s added for partner %s.\n\n", code, partner);
        printf("    enrollment token:  %s\n", s_str(result, "token"));
        printf("    expires:           %s (single use)\n\n", s_str(result, "expires"));
        printf("On the shop's PC, after 'dealernet-agent init --site %s --partner %s', "
               "run:\n\n",
               code, partner);
        /* Z85 has no single quote: quoted, the key survives any shell */
        printf("    dealernet-agent enroll --server %s --server-key '%s' --token %s\n\n",
               sync, s_opt.server_key, s_str(result, "token"));
        printf("The token is shown only now: the server keeps only its hash.\n");
    }
    if (fflush(stdout) != 0) {
        dn_log_error("cannot write the token: %s", strerror(errno));
        rc = dn_exit_code(DN_EIO);
    }
    json_decref(result);
    return rc;
}

static int s_cmd_site_list(int argc, char **argv)
{
    return s_listing(argc, argv, "site.list");
}

static int s_cmd_site_revoke(int argc, char **argv)
{
    static const struct option longs[] = {{"json", no_argument, NULL, S_OPT_JSON},
                                          {NULL, 0, NULL, 0}};
    dn_render_format_t format = DN_RENDER_TABLE;
    const char *code;
    json_t *result;
    int c, rc = 0;

    while ((c = s_getopt(argc, argv, longs, &rc)) != -1) {
        if (c == -2)
            return rc;
        if (c == S_OPT_JSON)
            format = DN_RENDER_JSON;
    }
    if (!(code = s_one_code(argc, argv, "site revoke needs the site's CODE", &rc)))
        return rc;
    {
        const char *args[] = {"code", code};
        if ((rc = s_request("site.revoke", args, 1, &result)) != 0)
            return rc;
    }
    if (format == DN_RENDER_JSON)
        rc = s_print(result, format);
    else if (!s_opt.quiet)
        printf("site %s revoked at %s: its key can no longer sync\n", code,
               s_str(result, "revoked"));
    json_decref(result);
    return rc;
}

/* -- members ------------------------------------------------------------- */

static int s_cmd_member_conflicts(int argc, char **argv)
{
    return s_listing(argc, argv, "member.conflicts");
}

/* -- dispatch ------------------------------------------------------------ */

static const s_command_t s_commands[] = {
    {"partner add", s_cmd_partner_add,
     "CODE --name NAME --kind KIND [--parent CODE] [--json]",
     "Adds a partner to the commercial tree.  KIND is one of hq, region,\n"
     "distributor, dealer, reseller.  --parent names its upline, which must exist\n"
     "already.\n"},
    {"partner list", s_cmd_partner_list, "[--json|--csv]",
     "Lists the partners: code, name, kind, current parent, when added.\n"},
    {"site add", s_cmd_site_add, "CODE --partner CODE [--json]",
     "Adds a site (one agent installation) owned by a partner and prints its\n"
     "single-use enrollment token, valid 72 hours, with the command to run at the\n"
     "shop.  The server keeps only the token's hash: it is shown this once.  With\n"
     "-q only the token is printed.\n"},
    {"site list", s_cmd_site_list, "[--json|--csv]",
     "Lists the sites: partner, enrolled, revoked, last seen, highest applied seq,\n"
     "the seq the server waits for after a gap, the agent's clock skew (ms) and\n"
     "the pending count it last reported.\n"},
    {"site revoke", s_cmd_site_revoke, "CODE [--json]",
     "Revokes a site: its key can no longer sync or enroll.  What it already\n"
     "synced stays.\n"},
    {"member conflicts", s_cmd_member_conflicts, "[--json|--csv]",
     "Lists the later sign-ups of a phone already signed up at another site: the\n"
     "first sign-up kept the member and the referrer.\n"},
};

#define DN_COMMANDS (sizeof s_commands / sizeof s_commands[0])

static void s_help(FILE *out)
{
    fprintf(out,
            "usage: dealernet-hq [OPTIONS] COMMAND [OPTIONS]\n\n"
            "Headquarters' client of dealernet-server: partners, sites, members.\n\n"
            "  --server ENDPOINT  the server's admin endpoint, like\n"
            "                     tcp://hq.example.com:7701 ($DEALERNET_SERVER)\n"
            "  --server-key Z85   the server's public key, printed by 'dealernet-server\n"
            "                     init' ($DEALERNET_SERVER_KEY)\n"
            "  --key FILE         the HQ admin key pair, hq.key from 'dealernet-server\n"
            "                     init' ($DEALERNET_HQ_KEY)\n"
            "  --timeout SEC      how long to wait for the server (default %d)\n"
            "  -q                 quiet: errors only\n\n"
            "commands:\n",
            DN_HQ_TIMEOUT_S);
    for (size_t i = 0; i < DN_COMMANDS; i++)
        fprintf(out, "  %-17s %s\n", s_commands[i].name, s_commands[i].usage);
    fprintf(out, "\nListings print a table, or --json, or --csv.  'dealernet-hq COMMAND "
                 "--help' tells more.\n");
}

static void s_version(void)
{
    printf("dealernet-hq %s (protocol %d)\n", DN_HQ_VERSION, DN_PROTOCOL_VERSION);
}

int main(int argc, char **argv)
{
    struct option longs[DN_HQ_MAX_OPTIONS] = {{"version", no_argument, NULL, 'V'}};
    int c, code = 0;

    for (size_t i = 0; s_global_longs[i].name; i++)
        longs[i + 1] = s_global_longs[i];
    dn_log_init("dealernet-hq", DN_LOG_INFO, 0);
    opterr = 0; /* one line on stderr: ours, not getopt's as well */
    while ((c = getopt_long(argc, argv, "+qhV", longs, NULL)) != -1) {
        if (c == 'h') {
            s_help(stdout);
            return 0;
        }
        if (c == 'V') {
            s_version();
            return 0;
        }
        switch (s_global_option(c, optarg, &code)) {
        case 1:
            continue;
        case -1:
            return code;
        }
        dn_log_error("unknown option or missing value: '%s' (see: dealernet-hq --help)",
                     argv[optind - 1]);
        return EX_USAGE;
    }
    if (optind >= argc) {
        dn_log_error("no command given (see: dealernet-hq --help)");
        return EX_USAGE;
    }

    /* A command is two words ("site add").  */
    for (size_t i = 0; i < DN_COMMANDS; i++) {
        const char *name = s_commands[i].name, *space = strchr(name, ' ');
        size_t len = (size_t)(space - name);
        if (strncmp(argv[optind], name, len) || argv[optind][len] || optind + 1 >= argc ||
            strcmp(argv[optind + 1], space + 1))
            continue;
        s_current = &s_commands[i];
        argv += optind + 1;
        argc -= optind + 1;
        optind = 0; /* restart getopt for the command's own options */
        return s_current->run(argc, argv);
    }
    for (size_t i = 0; i < DN_COMMANDS; i++) {
        const char *name = s_commands[i].name;
        size_t len = (size_t)(strchr(name, ' ') - name);
        if (strncmp(argv[optind], name, len) == 0 && argv[optind][len] == '\0') {
            if (optind + 1 < argc)
                dn_log_error("unknown command '%s %s' (see: dealernet-hq --help)",
                             argv[optind], argv[optind + 1]);
            else
                dn_log_error("'%s' needs a subcommand (see: dealernet-hq --help)",
                             argv[optind]);
            return EX_USAGE;
        }
    }
    dn_log_error("unknown command '%s' (see: dealernet-hq --help)", argv[optind]);
    return EX_USAGE;
}
